"""The sandbox shop's demo orders: one per state worth trying, timed relative to start-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from service.sandbox.records import (
    SandboxFulfillment,
    SandboxFulfillmentOrder,
    SandboxLineItem,
    SandboxOrder,
    SandboxTracking,
)
from service.sandbox.store import ShopStore

ORDER_ID_BASE = 5_800_000_000
FULFILLMENT_ORDER_ID_BASE = 6_900_000_000
POSTNORD = SandboxTracking(
    "PostNord", "00370712345678901234", "https://tracking.postnord.com/?id=00370712345678901234"
)
BRING = SandboxTracking(
    "Bring", "70702345678901234", "https://tracking.bring.com/tracking/70702345678901234"
)
POSTNL = SandboxTracking(
    "PostNL", "3SABCD1234567", "https://jouw.postnl.nl/track-and-trace/3SABCD1234567-NL-1012AB"
)
GLS = SandboxTracking("GLS", "ZX81234567", "https://gls-group.com/track/ZX81234567")


def _minutes(count: float) -> timedelta:
    return timedelta(minutes=count)


def _days(count: float) -> timedelta:
    return timedelta(days=count)


def _order(number: int, now: datetime, placed_ago: timedelta, **fields: Any) -> SandboxOrder:
    """An order with one OPEN fulfilment order unless `fields` say otherwise."""
    fields.setdefault("fulfillment_orders", [_fulfillment_order(number, "OPEN")])
    return SandboxOrder(
        id=ORDER_ID_BASE + number, name=f"#{number}", created_at=now - placed_ago, **fields
    )


def _fulfillment_order(number: int, status: str, index: int = 0) -> SandboxFulfillmentOrder:
    return SandboxFulfillmentOrder(
        id=FULFILLMENT_ORDER_ID_BASE + number * 10 + index, status=status
    )


def _shipped(
    now: datetime,
    *,
    days_ago: float,
    tracking: SandboxTracking,
    estimate_in_days: float,
    delivered_days_ago: float | None = None,
) -> SandboxFulfillment:
    shipped_at = now - _days(days_ago)
    return SandboxFulfillment(
        created_at=shipped_at,
        status="SUCCESS",
        display_status="IN_TRANSIT" if delivered_days_ago is None else "DELIVERED",
        in_transit_at=shipped_at + timedelta(hours=3),
        estimated_delivery_at=now + _days(estimate_in_days),
        delivered_at=None if delivered_days_ago is None else now - _days(delivered_days_ago),
        tracking=[tracking],
    )


def _item(title: str, variant: str | None, quantity: int = 1, *tags: str) -> SandboxLineItem:
    return SandboxLineItem(title, quantity, variant, list(tags))


def _money(text: str) -> dict[str, Any]:
    amount, currency = text.split()
    return {"total": Decimal(amount), "currency": currency}


def _fulfilled(number: int, fulfillment: SandboxFulfillment) -> dict[str, Any]:
    return {
        "fulfillment_status": "FULFILLED",
        "fulfillment_orders": [_fulfillment_order(number, "CLOSED")],
        "fulfillments": [fulfillment],
    }


def _order_1001(now: datetime) -> SandboxOrder:
    items = [_item("Merino Crew Sweater", "Navy / M"), _item("Wool Socks", "Grey / 39-42", 2)]
    return _order(
        1001,
        now,
        _minutes(5),
        email="ada.lovelace@example.com",
        line_items=items,
        **_money("129.00 EUR"),
    )


def _order_1002(now: datetime) -> SandboxOrder:
    return _order(
        1002,
        now,
        timedelta(hours=3),
        email="bjorn.hansen@example.com",
        line_items=[_item("Rain Jacket", "Olive / L")],
        **_money("849.00 NOK"),
    )


def _order_1003(now: datetime) -> SandboxOrder:
    bracelet = _item(
        "Engraved Silver Bracelet", "Initials: C.D.", 1, "personalised", "non-cancellable"
    )
    return _order(
        1003,
        now,
        _minutes(10),
        email="camille.dubois@example.com",
        line_items=[bracelet, _item("Gift Box", None)],
        **_money("245.00 EUR"),
    )


def _order_1004(now: datetime) -> SandboxOrder:
    return _order(
        1004,
        now,
        _minutes(10),
        email="dag.nilsen@example.com",
        tags=["made-to-order", "non-cancellable"],
        line_items=[_item("Linen Sofa, made to order", "Sand / 3-seat")],
        **_money("12990.00 NOK"),
    )


def _order_1005(now: datetime) -> SandboxOrder:
    items = [_item("Ceramic Teapot", "Sage"), _item("Stoneware Mug", "Sage", 2)]
    return _order(
        1005,
        now,
        _minutes(20),
        email="emma.jensen@example.com",
        fulfillment_status="IN_PROGRESS",
        fulfillment_orders=[_fulfillment_order(1005, "IN_PROGRESS")],
        line_items=items,
        **_money("599.00 DKK"),
    )


def _order_1006(now: datetime) -> SandboxOrder:
    return _order(
        1006,
        now,
        _minutes(15),
        email="finn.larsen@example.com",
        fulfillment_status="ON_HOLD",
        fulfillment_orders=[_fulfillment_order(1006, "ON_HOLD")],
        line_items=[_item("Trail Running Shoes", "Black / 44")],
        **_money("1150.00 DKK"),
    )


def _order_1007(now: datetime) -> SandboxOrder:
    parcel = _shipped(now, days_ago=2, tracking=POSTNORD, estimate_in_days=2)
    open_rest = [_fulfillment_order(1007, "CLOSED"), _fulfillment_order(1007, "OPEN", 1)]
    return _order(
        1007,
        now,
        _days(3),
        email="greta.berg@example.com",
        fulfillment_status="PARTIALLY_FULFILLED",
        fulfillment_orders=open_rest,
        fulfillments=[parcel],
        **_money("89.90 EUR"),
        line_items=[_item("Yoga Mat", "Teal"), _item("Cork Yoga Block", None, 2)],
    )


def _order_1008(now: datetime) -> SandboxOrder:
    parcel = _shipped(now, days_ago=2, tracking=BRING, estimate_in_days=2)
    return _order(
        1008,
        now,
        _days(3),
        email="henrik.olsen@example.com",
        line_items=[_item("Down Jacket", "Black / M")],
        **_fulfilled(1008, parcel),
        **_money("1799.00 NOK"),
    )


def _order_1009(now: datetime) -> SandboxOrder:
    parcel = _shipped(now, days_ago=10, tracking=POSTNORD, estimate_in_days=-5)
    return _order(
        1009,
        now,
        _days(11),
        email="ingrid.svensson@example.com",
        line_items=[_item("Scented Candle", "Cedar", 3)],
        **_fulfilled(1009, parcel),
        **_money("74.50 EUR"),
    )


def _order_1010(now: datetime) -> SandboxOrder:
    parcel = _shipped(now, days_ago=10, tracking=POSTNL, estimate_in_days=-8, delivered_days_ago=7)
    return _order(
        1010,
        now,
        _days(11),
        email="jonas.devries@example.com",
        line_items=[_item("Leather Backpack", "Cognac")],
        **_fulfilled(1010, parcel),
        **_money("159.00 EUR"),
    )


def _order_1011(now: datetime) -> SandboxOrder:
    return _order(
        1011,
        now,
        _days(2),
        email="karin.muller@example.com",
        financial_status="REFUNDED",
        closed=True,
        cancelled_at=now - _days(1),
        fulfillment_orders=[_fulfillment_order(1011, "CLOSED")],
        line_items=[_item("Desk Lamp", "Brass")],
        **_money("349.00 DKK"),
    )


def _order_1012(now: datetime) -> SandboxOrder:
    return _order(
        1012,
        now,
        _minutes(5),
        email="lars.petersen@example.com",
        risk_levels=["HIGH"],
        line_items=[_item("Wireless Headphones", "Matte Black", 2)],
        **_money("2499.00 NOK"),
    )


def _order_1013(now: datetime) -> SandboxOrder:
    items = [_item("Knitted Beanie", "Red"), _item("Wool Mittens", "Red / One size")]
    return _order(
        1013,
        now,
        _minutes(5),
        email=None,
        phone="+4791234567",
        line_items=items,
        **_money("399.00 NOK"),
    )


def _order_1014(now: datetime) -> SandboxOrder:
    parcel = _shipped(now, days_ago=75, tracking=GLS, estimate_in_days=-72, delivered_days_ago=70)
    return _order(
        1014,
        now,
        _days(76),
        email="maja.lindqvist@example.com",
        closed=True,
        line_items=[_item("Linen Bedding Set", "White / 200x220")],
        **_fulfilled(1014, parcel),
        **_money("219.00 EUR"),
    )


@dataclass(frozen=True)
class DemoOrder:
    """A demo order as the README and `ordergate dev` list it, and how to build it.

    `state` and `what_to_try` are the README's table cells, Markdown code spans included
    (tests/web/test_readme_tables.py holds the README to them; the demo page renders them)."""

    number: str
    contact: str
    state: str
    what_to_try: str
    build: Callable[[datetime], SandboxOrder]


DEMO_ORDERS: tuple[DemoOrder, ...] = (
    DemoOrder("#1001", "ada.lovelace@example.com", "placed 5 minutes ago, unfulfilled",
              "request cancellation: VERIFICATION_REQUIRED, a code at `/dev/mail`; with it, "
              "cancelled in Shopify at once", _order_1001),
    DemoOrder("#1002", "bjorn.hansen@example.com", "placed 3 hours ago, unfulfilled",
              "request cancellation: WINDOW_CLOSED", _order_1002),
    DemoOrder("#1003", "camille.dubois@example.com", "a product tagged non-cancellable",
              "request cancellation: NON_CANCELLABLE_ITEM", _order_1003),
    DemoOrder("#1004", "dag.nilsen@example.com", "the order is tagged non-cancellable",
              "request cancellation: NON_CANCELLABLE_ITEM", _order_1004),
    DemoOrder("#1005", "emma.jensen@example.com", "being packed (fulfilment IN_PROGRESS)",
              "request cancellation: FULFILLMENT_IN_PROGRESS", _order_1005),
    DemoOrder("#1006", "finn.larsen@example.com", "fulfilment on hold",
              "request cancellation: FULFILLMENT_ON_HOLD", _order_1006),
    DemoOrder("#1007", "greta.berg@example.com", "partially fulfilled, one parcel in transit",
              "cancellation: PARTIALLY_FULFILLED; not received: TOO_EARLY", _order_1007),
    DemoOrder("#1008", "henrik.olsen@example.com", "in transit, carrier estimate in 2 days",
              "report not received: TOO_EARLY, with the date it becomes possible", _order_1008),
    DemoOrder("#1009", "ingrid.svensson@example.com", "shipped 10 days ago, estimate 5 days ago",
              "report not received: accepted", _order_1009),
    DemoOrder("#1010", "jonas.devries@example.com", "delivered 7 days ago",
              "status DELIVERED; cancellation: ALREADY_FULFILLED; a report records the carrier's "
              "delivery claim", _order_1010),
    DemoOrder("#1011", "karin.muller@example.com", "cancelled and refunded yesterday",
              "request cancellation: ALREADY_CANCELLED", _order_1011),
    DemoOrder("#1012", "lars.petersen@example.com", "high fraud risk, placed 5 minutes ago",
              "request cancellation (with its code): goes to review (PENDING_REVIEW), a receipt "
              "at `/dev/mail`", _order_1012),
    DemoOrder("#1013", "+4791234567", "phone-only customer, placed 5 minutes ago",
              "look up with the phone number as typed at home, e.g. `912 34 567`; a cancellation "
              "goes to review, since no code can reach a phone-only order", _order_1013),
    DemoOrder("#1014", "maja.lindqvist@example.com", "delivered 70 days ago, archived",
              "report not received: REPORT_WINDOW_CLOSED", _order_1014),
)  # fmt: skip


def fresh_demo_id_offset(now: datetime) -> int:
    """An id offset no earlier start (a second or more before) used: seconds since the epoch,
    past every demo order's number."""
    return int(now.timestamp()) * 100_000


def seed_demo_orders(store: ShopStore, now: datetime, *, id_offset: int = 0) -> None:
    """Fill `store` with the demo orders, placed relative to `now`, their ids `id_offset` on
    from the usual ones (a shop started afresh has new orders, not yesterday's again)."""
    for demo in DEMO_ORDERS:
        order = demo.build(now)
        order.id += id_offset
        store.add_order(order)
