"""The public GraphQL inputs of the two mutations."""

from __future__ import annotations

import strawberry

from service import models
from service.api.types import CustomerCancelReason  # noqa: F401  (registers the enum)
from service.customer_input import CANCELLATION_COMMENT_LIMIT, NOT_RECEIVED_COMMENT_LIMIT

_CODE = (
    "The one-time code e-mailed to the order's address, when an answer asked for it "
    "(VERIFICATION_REQUIRED); send the same input again with it."
)


@strawberry.input(description="A customer's request to cancel an order.")
class RequestCancellationInput:
    order_number: str = strawberry.field(description="As the customer types it: #1001, 1001.")
    contact: str = strawberry.field(description="The order's e-mail address or phone number.")
    reason: models.CustomerCancelReason = strawberry.field(description="Why the customer cancels.")
    comment: str | None = strawberry.field(
        default=None,
        description=f"Anything the customer adds; at most {CANCELLATION_COMMENT_LIMIT} characters.",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Client-chosen; a retry with the same key replays the first answer.",
    )
    verification_code: str | None = strawberry.field(default=None, description=_CODE)

    def to_model(self) -> models.CancellationInput:
        """The use case's form of this input."""
        return models.CancellationInput(
            order_number=self.order_number,
            contact=self.contact,
            reason=self.reason,
            comment=self.comment,
            idempotency_key=self.idempotency_key,
            verification_code=self.verification_code,
        )


@strawberry.input(description="A customer's report that a parcel never arrived.")
class ReportNotReceivedInput:
    order_number: str = strawberry.field(description="As the customer types it: #1001, 1001.")
    contact: str = strawberry.field(description="The order's e-mail address or phone number.")
    comment: str | None = strawberry.field(
        default=None,
        description=f"Anything the customer adds; at most {NOT_RECEIVED_COMMENT_LIMIT} characters.",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Client-chosen; a retry with the same key replays the first answer.",
    )
    verification_code: str | None = strawberry.field(default=None, description=_CODE)

    def to_model(self) -> models.NotReceivedInput:
        """The use case's form of this input."""
        return models.NotReceivedInput(
            order_number=self.order_number,
            contact=self.contact,
            comment=self.comment,
            idempotency_key=self.idempotency_key,
            verification_code=self.verification_code,
        )
