"""The `Query` root: `orderStatus`."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.api import errors, types
from service.api.context import Context


@strawberry.type
class Query:
    @strawberry.field(
        description="Look up one order by its number and the email or phone it was placed with."
    )
    async def order_status(
        self,
        info: strawberry.Info[Context],
        order_number: Annotated[
            str, strawberry.argument(description="As the customer types it: #1001, 1001.")
        ],
        contact: Annotated[
            str, strawberry.argument(description="The order's e-mail address or phone number.")
        ],
        verification_code: Annotated[
            str | None,
            strawberry.argument(
                description="The one-time code e-mailed to the order's address, when an "
                "answer asked for it (VERIFICATION_REQUIRED)."
            ),
        ] = None,
    ) -> types.OrderStatusPayload:
        context = info.context
        pending = context.lookup.order_status(
            order_number=order_number,
            contact=contact,
            trail=context.trail(),
            verification_code=verification_code,
        )
        result = await errors.outcome(pending, operation="orderStatus", context=context)
        if isinstance(result, types.UserError):
            return types.OrderStatusPayload(order=None, user_errors=[result])
        return types.OrderStatusPayload(
            order=types.order_status(result, messages=context.messages, locale=context.locale),
            user_errors=[],
        )
