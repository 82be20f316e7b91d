"""Webhook payloads shaped like Shopify's (REST JSON, snake_case) for the sandbox's records.

A receiver needs only which order changed (`admin_graphql_api_id`, `id`, or `order_id`), but
the bodies carry the usual fields so that a developer reading one sees what Shopify sends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from service.sandbox.records import (
    FULFILLMENT_EVENT_GID,
    REFUND_GID,
    SandboxFulfillment,
    SandboxOrder,
)

Payload = dict[str, Any]

_FINANCIAL = {"PARTIALLY_REFUNDED": "partially_refunded", "PARTIALLY_PAID": "partially_paid"}
_FULFILLMENT = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}


def rest_time(moment: datetime | None) -> str | None:
    """A REST payload's time: ISO 8601 with the offset, whole seconds."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


def order_payload(order: SandboxOrder, *, now: datetime) -> Payload:
    """The body of `orders/*` webhooks."""
    cancellation = order.cancellation if order.cancelled_at is not None else None
    return {
        "id": order.id,
        "admin_graphql_api_id": order.gid,
        "name": order.name,
        "order_number": int(order.name.lstrip("#")) if order.name.lstrip("#").isdigit() else None,
        "email": order.email,
        "created_at": rest_time(order.created_at),
        "updated_at": rest_time(now),
        "cancelled_at": rest_time(order.cancelled_at),
        "cancel_reason": cancellation.reason.lower() if cancellation else None,
        "closed_at": rest_time(now) if order.closed else None,
        "financial_status": _FINANCIAL.get(order.financial_status, order.financial_status.lower()),
        "fulfillment_status": _FULFILLMENT.get(order.fulfillment_status),
        "tags": ", ".join(order.tags),
        "currency": order.currency,
        "total_price": str(order.total),
    }


def fulfillment_payload(
    order: SandboxOrder, fulfillment: SandboxFulfillment, *, now: datetime
) -> Payload:
    """The body of `fulfillments/create` and `fulfillments/update`."""
    tracking = fulfillment.tracking[0] if fulfillment.tracking else None
    index = next(
        (number for number, each in enumerate(order.fulfillments, 1) if each is fulfillment), 1
    )
    return {
        "id": fulfillment.id,
        "admin_graphql_api_id": fulfillment.gid,
        "order_id": order.id,
        "name": f"{order.name}.{index}",
        "status": fulfillment.status.lower(),
        "shipment_status": (fulfillment.display_status or "").lower() or None,
        "created_at": rest_time(fulfillment.created_at),
        "updated_at": rest_time(now),
        "tracking_company": tracking.company if tracking else None,
        "tracking_number": tracking.number if tracking else None,
        "tracking_numbers": [each.number for each in fulfillment.tracking],
        "tracking_url": tracking.url if tracking else None,
        "tracking_urls": [each.url for each in fulfillment.tracking],
    }


def fulfillment_event_payload(
    order: SandboxOrder, fulfillment: SandboxFulfillment, *, event_id: int, now: datetime
) -> Payload:
    """The body of `fulfillment_events/create`: a carrier's status for one shipment."""
    return {
        "id": event_id,
        "admin_graphql_api_id": f"{FULFILLMENT_EVENT_GID}{event_id}",
        "fulfillment_id": fulfillment.id,
        "order_id": order.id,
        "status": (fulfillment.display_status or "").lower() or None,
        "happened_at": rest_time(now),
        "created_at": rest_time(now),
        "updated_at": rest_time(now),
        "estimated_delivery_at": rest_time(fulfillment.estimated_delivery_at),
    }


def refund_payload(order: SandboxOrder, *, refund_id: int, now: datetime) -> Payload:
    """The body of `refunds/create`."""
    return {
        "id": refund_id,
        "admin_graphql_api_id": f"{REFUND_GID}{refund_id}",
        "order_id": order.id,
        "created_at": rest_time(now),
        "processed_at": rest_time(now),
        "note": None,
        "restock": False,
        "refund_line_items": [],
        "transactions": [
            {
                "kind": "refund",
                "status": "success",
                "amount": str(order.total),
                "currency": order.currency,
            }
        ],
    }
