"""What a customer request does in Shopify: cancel, hold for review, or file a not-received report.

Shared by the storefront mutations and the reconciler, so a retried action is the same action.
"""

from __future__ import annotations

import json
import unicodedata
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
CUSTOMER_COMMENT_LABEL = "Customer's comment (unverified)"
# Whitespace, controls, format characters (bidi marks, zero-width), separators, surrogates and
# private use: anything that could break a line, reorder it or hide text.
_BREAKING_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zs", "Zl", "Zp"}
# Double quotes and their look-alikes become an apostrophe, so the only double quotes on the
# customer's line are the two ordergate writes around the comment.
_QUOTE_LOOKALIKES = str.maketrans(dict.fromkeys('"\u201c\u201d\u201e\u201f\u2033\u2036\uff02', "'"))


def one_line(text: str) -> str:
    """Customer text on one line: each whitespace, control or format run becomes one space."""
    kept: list[str] = []
    for char in text:
        if char.isspace() or unicodedata.category(char) in _BREAKING_CATEGORIES:
            if kept and kept[-1] != " ":
                kept.append(" ")
        else:
            kept.append(char)
    return "".join(kept).rstrip(" ")


def _quoted_comment(comment: str, *, room: int) -> str:
    """The labelled, quoted comment in at most `room` characters, cut inside the quotes."""
    opening = f'{CUSTOMER_COMMENT_LABEL}: "'
    text = comment.translate(_QUOTE_LOOKALIKES)
    space = room - len(opening) - 1
    if len(text) > space:
        text = text[: space - 1].rstrip(" ") + "…"
    return f'{opening}{text}"'


def staff_note(stored: StoredRequest) -> str:
    """The cancellation's staff note: ordergate's own line, then the customer's comment quoted.

    Customer text never starts a line of its own and stays inside the quotes, so a comment
    cannot pass for something staff or ordergate wrote.
    """
    own = f"ordergate request {stored.request.id}; customer reason: {stored.customer_reason or '-'}"
    comment = one_line(stored.comment or "")
    if not comment:
        return own
    return f"{own}\n{_quoted_comment(comment, room=STAFF_NOTE_LIMIT - len(own) - 1)}"


def hold_note(stored: StoredRequest) -> str:
    """The fulfilment hold's notes: the request only, never customer text."""
    return f"Cancellation requested by the customer (ordergate request {stored.request.id})."


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
        "customer_comment": one_line(stored.comment or "") or None,
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
    notes = hold_note(stored)
    for fulfillment_order in order.fulfillment_orders:
        if fulfillment_order.status in _HOLDABLE:
            await shop.hold_fulfillment_order(
                fulfillment_order_id=fulfillment_order.id, notes=notes, handle=HOLD_HANDLE
            )
    await _record(shop, order=order, stored=stored, tag=CANCELLATION_TAG)


async def file_not_received(shop: Shop, *, order: Order, stored: StoredRequest) -> None:
    """Tag the order and write the report for staff. Safe to repeat."""
    await _record(shop, order=order, stored=stored, tag=NOT_RECEIVED_TAG)
