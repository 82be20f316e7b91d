"""What a customer request does in Shopify: cancel, hold for review, or file a not-received report.

Shared by the storefront mutations and the reconciler, so a retried action is the same action.
"""

from __future__ import annotations

import json
from typing import Any

from service.admin.shop import STAFF_NOTE_LIMIT, CancelOutcome, Shop
from service.eligibility import relevant_shipment
from service.models import (
    FulfillmentOrderStatus,
    Order,
    RequestKind,
    Shipment,
    ShipmentStatus,
    isoformat,
)
from service.policy import CancellationPolicy
from service.storage.requests import StoredRequest

CANCELLATION_TAG = "cancellation-requested"
NOT_RECEIVED_TAG = "not-received"
HOLD_HANDLE = "ordergate"
METAFIELD_KEYS = {
    RequestKind.CANCELLATION: "cancellation_request",
    RequestKind.NOT_RECEIVED: "not_received_report",
}
_HOLDABLE = {FulfillmentOrderStatus.OPEN, FulfillmentOrderStatus.SCHEDULED}


def staff_note(stored: StoredRequest) -> str:
    """The note Shopify keeps with the cancellation: request id, reason and comment."""
    note = f"ordergate request {stored.request.id}; customer reason: {stored.customer_reason}"
    if stored.comment:
        note += f"; comment: {stored.comment}"
    return note if len(note) <= STAFF_NOTE_LIMIT else note[: STAFF_NOTE_LIMIT - 1] + "…"


async def cancel(shop: Shop, *, stored: StoredRequest, policy: CancellationPolicy) -> CancelOutcome:
    """Ask Shopify to cancel the order as the merchant's policy says."""
    return await shop.cancel_order(
        order_id=stored.request.order_id,
        restock=policy.restock,
        notify_customer=policy.notify_customer,
        refund=policy.refund,
        staff_note=staff_note(stored),
    )


def _shipment_json(parcel: Shipment) -> dict[str, Any]:
    return {
        "carrier": parcel.carrier,
        "tracking_number": parcel.tracking_number,
        "tracking_url": parcel.tracking_url,
        "status": parcel.status.value,
        "shipped_at": parcel.shipped_at.isoformat(),
        "estimated_delivery_at": isoformat(parcel.estimated_delivery_at),
        "delivered_at": isoformat(parcel.delivered_at),
    }


def request_document(order: Order, stored: StoredRequest) -> dict[str, Any]:
    """The request as staff read it in the order's metafield."""
    request = stored.request
    document: dict[str, Any] = {
        "request_id": request.id,
        "kind": request.kind.value,
        "submitted_at": request.submitted_at.isoformat(),
        "order": order.number,
        "comment": stored.comment,
    }
    if request.kind is RequestKind.CANCELLATION:
        document["customer_reason"] = stored.customer_reason
        return document
    parcel = relevant_shipment(order)
    document["carrier_claims_delivery"] = bool(
        parcel and (parcel.delivered_at or parcel.status is ShipmentStatus.DELIVERED)
    )
    document["shipments"] = [_shipment_json(shipment) for shipment in order.shipments]
    return document


async def _record(shop: Shop, *, order: Order, stored: StoredRequest, tag: str) -> None:
    await shop.add_tags(order_id=order.id, tags=[tag])
    await shop.set_metafield(
        order_id=order.id,
        key=METAFIELD_KEYS[stored.request.kind],
        value=json.dumps(request_document(order, stored), ensure_ascii=False),
    )


async def hold_for_review(shop: Shop, *, order: Order, stored: StoredRequest) -> None:
    """Stop the warehouse, tag the order and leave the request for staff. Safe to repeat."""
    notes = f"Cancellation requested by the customer (ordergate request {stored.request.id})."
    for fulfillment_order in order.fulfillment_orders:
        if fulfillment_order.status in _HOLDABLE:
            await shop.hold_fulfillment_order(
                fulfillment_order_id=fulfillment_order.id, notes=notes, handle=HOLD_HANDLE
            )
    await _record(shop, order=order, stored=stored, tag=CANCELLATION_TAG)


async def file_not_received(shop: Shop, *, order: Order, stored: StoredRequest) -> None:
    """Tag the order and write the report for staff. Safe to repeat."""
    await _record(shop, order=order, stored=stored, tag=NOT_RECEIVED_TAG)
