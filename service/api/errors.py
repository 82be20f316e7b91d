"""The one place where refusals and outages become `userErrors`."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import TypeVar

from service.admin.errors import UpstreamUnavailable
from service.api.context import Context
from service.api.types import UserError
from service.messages import InputProblem
from service.models import Refusal, UserErrorCode
from service.ratelimit import LimitsUnavailable, RateLimited
from service.storage import StorageUnavailable

T = TypeVar("T")


async def outcome(
    pending: Awaitable[T | Refusal], *, operation: str, context: Context
) -> T | UserError:
    """Await a use case; refusals and outages come back as one localised `UserError`.

    Also the one place that counts and times storefront operations by outcome, and tells the
    access log how each ended (its one line per request is written there).
    """
    started = time.perf_counter()
    label, kind = "ok", None
    try:
        result = await pending
    except RateLimited:
        label = "RATE_LIMITED"
        raise  # the endpoint answers HTTP 429 (CONTRACT §1), not a userError
    except (UpstreamUnavailable, StorageUnavailable, LimitsUnavailable) as exc:
        label, kind = UserErrorCode.UPSTREAM_UNAVAILABLE.value, _kind(exc)
        return user_error(Refusal(code=UserErrorCode.UPSTREAM_UNAVAILABLE), context=context)
    else:
        if isinstance(result, Refusal):
            label = result.code.value
            return user_error(result, context=context)
        return result
    finally:
        context.metrics.requests.labels(operation, label).inc()
        context.metrics.request_seconds.labels(operation).observe(time.perf_counter() - started)
        context.record.note(operation, label, kind=kind)


def _kind(exc: UpstreamUnavailable | StorageUnavailable | LimitsUnavailable) -> str:
    if isinstance(exc, UpstreamUnavailable):
        return f"shopify:{exc.kind}"
    return "redis" if isinstance(exc, LimitsUnavailable) else "postgres"


def user_error(refusal: Refusal, *, context: Context) -> UserError:
    """A refusal in the customer's language."""
    return UserError(
        code=refusal.code,
        reason=refusal.reason,
        field=list(refusal.field) if refusal.field else None,
        message=_message(refusal, context=context),
    )


def _message(refusal: Refusal, *, context: Context) -> str:
    messages, locale = context.messages, context.locale
    match refusal.code:
        case UserErrorCode.ORDER_NOT_FOUND:
            return messages.order_not_found(locale)
        case UserErrorCode.IDEMPOTENCY_KEY_REUSED:
            return messages.idempotency_key_reused(locale)
        case UserErrorCode.UPSTREAM_UNAVAILABLE:
            return messages.upstream_unavailable(locale)
        case UserErrorCode.VERIFICATION_REQUIRED:
            return messages.verification_required(locale, sent_to=refusal.sent_to)
        case UserErrorCode.VERIFICATION_FAILED:
            return messages.verification_failed(locale)
        case UserErrorCode.INVALID_INPUT:
            return messages.invalid_input(
                locale,
                field=refusal.field[-1] if refusal.field else "input",
                problem=InputProblem(refusal.problem or InputProblem.INVALID),
                max_length=refusal.limit,
            )
        case UserErrorCode.NOT_ELIGIBLE:
            assert refusal.reason is not None, "NOT_ELIGIBLE always carries a reason"
            eligibility = refusal.eligibility
            return messages.not_eligible(
                locale,
                refusal.reason,
                zone=context.zone,
                available_from=eligibility.available_from if eligibility else None,
                until=eligibility.until if eligibility else None,
                facts=refusal.facts,
            )
    raise AssertionError(f"unhandled user error code {refusal.code}")
