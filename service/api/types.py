"""The public GraphQL types (CONTRACT §1), built from the domain models at the edge."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from service import models
from service.eligibility import order_facts
from service.messages import Messages
from service.models import OrderView

FinancialStatus = strawberry.enum(
    models.FinancialStatus, description="Mirrors Shopify's OrderDisplayFinancialStatus."
)
FulfillmentStatus = strawberry.enum(
    models.FulfillmentStatus, description="Mirrors Shopify's OrderDisplayFulfillmentStatus."
)
ReturnStatus = strawberry.enum(
    models.ReturnStatus, description="Mirrors Shopify's OrderReturnStatus."
)
ShipmentStatus = strawberry.enum(
    models.ShipmentStatus,
    description="What the carrier last reported (Shopify's FulfillmentDisplayStatus).",
)
EligibilityReason = strawberry.enum(
    models.EligibilityReason, description="Why an action is not possible now."
)
RequestKind = strawberry.enum(models.RequestKind, description="What the customer asked for.")
Resolution = strawberry.enum(models.Resolution, description="How staff settled a request.")
RequestStatus = strawberry.enum(
    models.RequestStatus, description="Where a customer request stands."
)
UserErrorCode = strawberry.enum(
    models.UserErrorCode, description="What the customer can act on when a request is refused."
)
CustomerCancelReason = strawberry.enum(
    models.CustomerCancelReason, description="The reason a customer gives for cancelling."
)


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(
        description="The amount, exact to the currency's minor unit."
    )
    currency_code: str = strawberry.field(description="ISO 4217 currency code, e.g. EUR.")


@strawberry.type(description="One ordered product line.")
class LineItem:
    title: str = strawberry.field(description="The product's title.")
    variant_title: str | None = strawberry.field(description="The variant, e.g. 'M / Blue'.")
    quantity: int = strawberry.field(description="How many were ordered.")


@strawberry.type(description="A parcel handed to a carrier.")
class Shipment:
    carrier: str | None = strawberry.field(description="The carrier's name, e.g. PostNord.")
    tracking_number: str | None = strawberry.field(description="The carrier's tracking number.")
    tracking_url: str | None = strawberry.field(description="Where the customer can track it.")
    status: models.ShipmentStatus = strawberry.field(description="What the carrier last reported.")
    shipped_at: datetime = strawberry.field(description="When the parcel was handed over.")
    estimated_delivery_at: datetime | None = strawberry.field(
        description="The carrier's delivery estimate, when it gave one."
    )
    delivered_at: datetime | None = strawberry.field(
        description="When the carrier reported delivery."
    )


@strawberry.type(description="May the customer take this action now?")
class Eligibility:
    eligible: bool = strawberry.field(description="True when the action is possible now.")
    reason: models.EligibilityReason | None = strawberry.field(
        description="Why not; null when eligible."
    )
    until: datetime | None = strawberry.field(
        description="When an eligible action stops being possible."
    )
    from_: datetime | None = strawberry.field(
        name="from", description="When an action that is not yet possible becomes possible."
    )
    message: str | None = strawberry.field(
        description="Why not, in the customer's language; null when eligible."
    )


@strawberry.type(description="A cancellation request or a not-received report.")
class CustomerRequest:
    id: strawberry.ID = strawberry.field(description="ordergate's id for the request.")
    kind: models.RequestKind = strawberry.field(description="What the customer asked for.")
    status: models.RequestStatus = strawberry.field(description="Where the request stands.")
    submitted_at: datetime = strawberry.field(description="When the customer asked.")
    message: str = strawberry.field(description="What happens next, in the customer's language.")
    resolution: models.Resolution | None = strawberry.field(
        description="How staff settled it, once they have; null before."
    )


@strawberry.type(description="An order as its customer may see it.")
class OrderStatus:
    number: str = strawberry.field(description="The shop's order name, e.g. '#1001'.")
    placed_at: datetime = strawberry.field(description="When the order was placed.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    financial_status: models.FinancialStatus = strawberry.field(description="Payment state.")
    fulfillment_status: models.FulfillmentStatus = strawberry.field(description="Fulfilment state.")
    return_status: models.ReturnStatus = strawberry.field(description="Return state.")
    total: Money = strawberry.field(description="The order total as the customer paid it.")
    line_items: list[LineItem] = strawberry.field(description="What was ordered.")
    shipments: list[Shipment] = strawberry.field(description="Parcels handed to carriers.")
    cancellation: Eligibility = strawberry.field(
        description="May the customer request cancellation now?"
    )
    not_received: Eligibility = strawberry.field(
        description="May the customer report the order as not received now?"
    )
    requests: list[CustomerRequest] = strawberry.field(
        description="Earlier cancellation requests and not-received reports."
    )


@strawberry.type(description="A refusal the customer can act on.")
class UserError:
    code: models.UserErrorCode = strawberry.field(description="What kind of refusal this is.")
    reason: models.EligibilityReason | None = strawberry.field(
        description="Why the action is not possible; set when code is NOT_ELIGIBLE."
    )
    field: list[str] | None = strawberry.field(description="The input field at fault, if any.")
    message: str = strawberry.field(description="What to tell the customer, in their language.")


@strawberry.type(description="The answer to orderStatus.")
class OrderStatusPayload:
    order: OrderStatus | None = strawberry.field(description="The order; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


def customer_request(
    request: models.CustomerRequest, *, messages: Messages, locale: str
) -> CustomerRequest:
    """The public form of a stored request."""
    return CustomerRequest(
        id=strawberry.ID(request.id),
        kind=request.kind,
        status=request.status,
        submitted_at=request.submitted_at,
        message=messages.request_status(locale, request.kind, request.status),
        resolution=request.resolution,
    )


def eligibility(value: models.Eligibility, *, message: str | None) -> Eligibility:
    """The public form of an eligibility decision."""
    return Eligibility(
        eligible=value.eligible,
        reason=value.reason,
        until=value.until,
        from_=value.available_from,
        message=message,
    )


def order_status(view: OrderView, *, messages: Messages, locale: str) -> OrderStatus:
    """The public form of an order and what its customer may do with it."""
    order = view.order
    return OrderStatus(
        number=order.number,
        placed_at=order.placed_at,
        cancelled_at=order.cancelled_at,
        financial_status=order.financial_status,
        fulfillment_status=order.fulfillment_status,
        return_status=order.return_status,
        total=Money(amount=order.total.amount, currency_code=order.total.currency),
        line_items=[
            LineItem(title=item.title, variant_title=item.variant_title, quantity=item.quantity)
            for item in order.line_items
        ],
        shipments=[
            Shipment(
                carrier=parcel.carrier,
                tracking_number=parcel.tracking_number,
                tracking_url=parcel.tracking_url,
                status=parcel.status,
                shipped_at=parcel.shipped_at,
                estimated_delivery_at=parcel.estimated_delivery_at,
                delivered_at=parcel.delivered_at,
            )
            for parcel in order.shipments
        ],
        cancellation=eligibility(
            view.cancellation,
            message=_why_not(view.cancellation, messages=messages, locale=locale, view=view),
        ),
        not_received=eligibility(
            view.not_received,
            message=_why_not(view.not_received, messages=messages, locale=locale, view=view),
        ),
        requests=[
            customer_request(request, messages=messages, locale=locale) for request in view.requests
        ],
    )


def _why_not(
    value: models.Eligibility, *, messages: Messages, locale: str, view: OrderView
) -> str | None:
    if value.eligible or value.reason is None:
        return None
    return messages.not_eligible(
        locale,
        value.reason,
        zone=view.zone,
        available_from=value.available_from,
        until=value.until,
        facts=order_facts(view.order, view.cancellation),
    )
