"""The `Mutation` root: `requestCancellation` and `reportNotReceived`."""

from __future__ import annotations

from collections.abc import Awaitable

import strawberry

from service.api import errors, types
from service.api.context import Context
from service.api.inputs import ReportNotReceivedInput, RequestCancellationInput
from service.models import CustomerRequest, Refusal


@strawberry.type(description="The answer to requestCancellation.")
class RequestCancellationPayload:
    request: types.CustomerRequest | None = strawberry.field(
        description="The cancellation request; null when refused."
    )
    user_errors: list[types.UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type(description="The answer to reportNotReceived.")
class ReportNotReceivedPayload:
    request: types.CustomerRequest | None = strawberry.field(
        description="The not-received report; null when refused."
    )
    user_errors: list[types.UserError] = strawberry.field(description="Why it was refused.")


async def _answer(
    pending: Awaitable[CustomerRequest | Refusal], operation: str, context: Context
) -> tuple[types.CustomerRequest | None, list[types.UserError]]:
    result = await errors.outcome(pending, operation=operation, context=context)
    if isinstance(result, types.UserError):
        return None, [result]
    request = types.customer_request(result, messages=context.messages, locale=context.locale)
    return request, []


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Ask to cancel an order: cancelled at once when the shop's policy allows, "
        "otherwise held for staff or refused with the reason."
    )
    async def request_cancellation(
        self, info: strawberry.Info[Context], input: RequestCancellationInput
    ) -> RequestCancellationPayload:
        context = info.context
        pending = context.submissions.request_cancellation(
            data=input.to_model(), trail=context.trail()
        )
        request, user_errors = await _answer(pending, "requestCancellation", context)
        return RequestCancellationPayload(request=request, user_errors=user_errors)

    @strawberry.mutation(
        description="Report that a shipped parcel never arrived; staff receive a structured case."
    )
    async def report_not_received(
        self, info: strawberry.Info[Context], input: ReportNotReceivedInput
    ) -> ReportNotReceivedPayload:
        context = info.context
        pending = context.submissions.report_not_received(
            data=input.to_model(), trail=context.trail()
        )
        request, user_errors = await _answer(pending, "reportNotReceived", context)
        return ReportNotReceivedPayload(request=request, user_errors=user_errors)
