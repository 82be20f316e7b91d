"""The one place where refusals and outages become `userErrors`."""

from __future__ import annotations

import logging

from service.admin.errors import UpstreamUnavailable
from service.api.types import UserError
from service.context import Context
from service.models import EligibilityReason, Refusal, UserErrorCode

logger = logging.getLogger("ordergate.api")


def user_error(refusal: Refusal, *, context: Context) -> UserError:
    """A refusal in the customer's language."""
    return UserError(
        code=refusal.code,
        reason=refusal.reason,
        field=list(refusal.field) if refusal.field else None,
        message=_message(refusal, context=context),
    )


def upstream_unavailable(error: UpstreamUnavailable, *, context: Context) -> UserError:
    """An outage behind us: the customer may try again later; the cause goes to the log only."""
    logger.warning(
        "upstream unavailable",
        extra={"request_id": context.caller.request_id, "kind": str(error.kind)},
    )
    return user_error(Refusal(code=UserErrorCode.UPSTREAM_UNAVAILABLE), context=context)


def _message(refusal: Refusal, *, context: Context) -> str:
    messages, locale = context.messages, context.locale
    match refusal.code:
        case UserErrorCode.ORDER_NOT_FOUND:
            return messages.order_not_found(locale)
        case UserErrorCode.IDEMPOTENCY_KEY_REUSED:
            return messages.idempotency_key_reused(locale)
        case UserErrorCode.UPSTREAM_UNAVAILABLE:
            return messages.upstream_unavailable(locale)
        case UserErrorCode.NOT_ELIGIBLE:
            return _not_eligible(refusal, context=context)
        case UserErrorCode.INVALID_INPUT:
            return messages.order_not_found(locale)
    raise AssertionError(f"unhandled user error code {refusal.code}")


def _not_eligible(refusal: Refusal, *, context: Context) -> str:
    eligibility = refusal.eligibility
    return context.messages.not_eligible(
        context.locale,
        refusal.reason or EligibilityReason.ALREADY_REQUESTED,
        zone=context.desk.zone,
        available_from=eligibility.available_from if eligibility else None,
        until=eligibility.until if eligibility else None,
    )
