"""Test data: one order builder, small builders for its parts, and request rows as stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from service.models import (
    FinancialStatus,
    FulfillmentOrder,
    FulfillmentOrderStatus,
    FulfillmentStatus,
    LineItem,
    Money,
    Order,
    RequestKind,
    RequestStatus,
    ReturnStatus,
    Shipment,
    ShipmentStatus,
)
from service.storage import requests
from service.storage.database import Connection
from service.storage.requests import StoredRequest

PLACED_AT = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
SOCKS = LineItem(title="Wool socks", variant_title="M", quantity=2)
PARCEL = Shipment(
    carrier="Posten",
    tracking_number="70701234567890",
    tracking_url="https://tracking.example/70701234567890",
    status=ShipmentStatus.IN_TRANSIT,
    shipped_at=PLACED_AT,
)
ORDER = Order(
    id="gid://shopify/Order/1001",
    number="#1001",
    placed_at=PLACED_AT,
    email="ada@example.com",
    phone=None,
    financial_status=FinancialStatus.PAID,
    fulfillment_status=FulfillmentStatus.UNFULFILLED,
    return_status=ReturnStatus.NO_RETURN,
    total=Money(amount=Decimal("49.90"), currency="EUR"),
    line_items=(SOCKS,),
)


def order(**changes: Any) -> Order:
    """An open, paid, unfulfilled order of socks placed at `PLACED_AT`; any field can be given."""
    return replace(ORDER, **changes)


def line_item(title: str = SOCKS.title, **changes: Any) -> LineItem:
    """One ordered product line: two pairs of socks unless told otherwise."""
    return replace(SOCKS, title=title, **changes)


def shipment(shipped_at: datetime, **changes: Any) -> Shipment:
    """A parcel handed to the carrier at `shipped_at`, in transit unless told otherwise."""
    return replace(PARCEL, shipped_at=shipped_at, **changes)


def fulfillment_order(
    status: FulfillmentOrderStatus = FulfillmentOrderStatus.OPEN,
    *,
    id: str = "gid://shopify/FulfillmentOrder/1",
) -> FulfillmentOrder:
    """A group of items at the warehouse, open unless told otherwise."""
    return FulfillmentOrder(id=id, status=status)


async def cancellation_request(
    *,
    conn: Connection,
    order: Order,
    status: RequestStatus = RequestStatus.PROCESSING,
    submitted_at: datetime | None = None,
) -> StoredRequest:
    """A cancellation row as submission leaves it: intent written, nothing sent to Shopify.

    Submitted a minute ago unless told otherwise, so the reconciler finds it settled.
    """
    stored = await requests.create(
        conn=conn,
        kind=RequestKind.CANCELLATION,
        status=status,
        order_id=order.id,
        order_name=order.number,
        now=submitted_at or datetime.now(UTC) - timedelta(minutes=1),
        customer_reason="CHANGED_MIND",
        comment=None,
        locale="en",
        details={},
    )
    assert stored is not None, "the order already has a cancellation request"
    return stored
