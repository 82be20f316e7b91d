"""Many plausible orders for load tests, the same ones for the same seed, apart from the demo's."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from service.sandbox.demo import FULFILLMENT_ORDER_ID_BASE, ORDER_ID_BASE
from service.sandbox.records import (
    SandboxFulfillment,
    SandboxFulfillmentOrder,
    SandboxLineItem,
    SandboxOrder,
    SandboxTracking,
)

# Far above the demo's #1001…#1014, so both sets live in one shop without clashing ids.
GENERATED_FIRST_NUMBER = 100_001
DEFAULT_SEED = 15
_CATALOGUE = (
    ("Merino Crew Sweater", "Navy / M"),
    ("Wool Socks", "Grey / 39-42"),
    ("Rain Jacket", "Olive / L"),
    ("Ceramic Teapot", "Sage"),
    ("Yoga Mat", "Teal"),
    ("Scented Candle", "Cedar"),
    ("Leather Backpack", "Cognac"),
    ("Desk Lamp", "Brass"),
)
_CARRIERS = (
    ("PostNord", "https://tracking.postnord.com/?id="),
    ("Bring", "https://tracking.bring.com/tracking/"),
    ("GLS", "https://gls-group.com/track/"),
)


def generated_contact(number: int) -> str:
    """The e-mail address generated order `#number` was placed with."""
    return f"customer{number}@example.com"


def generate_orders(count: int, *, now: datetime, seed: int = DEFAULT_SEED) -> list[SandboxOrder]:
    """`count` orders numbered from GENERATED_FIRST_NUMBER, spread evenly over five states:
    just placed (cancellable), placed hours ago, in transit, overdue, delivered."""
    rng = random.Random(seed)
    return [
        _order(GENERATED_FIRST_NUMBER + index, now, rng, state=index % 5) for index in range(count)
    ]


def _order(number: int, now: datetime, rng: random.Random, *, state: int) -> SandboxOrder:
    items = [
        SandboxLineItem(title, rng.randint(1, 3), variant)
        for title, variant in rng.sample(_CATALOGUE, rng.randint(1, 3))
    ]
    order = SandboxOrder(
        id=ORDER_ID_BASE + number,
        name=f"#{number}",
        created_at=now - timedelta(minutes=rng.uniform(1, 50)),
        total=Decimal(rng.randint(1_000, 50_000)) / 100,
        currency="EUR",
        line_items=items,
        email=generated_contact(number),
        fulfillment_orders=[SandboxFulfillmentOrder(FULFILLMENT_ORDER_ID_BASE + number * 10)],
    )
    if state == 1:
        order.created_at = now - timedelta(hours=rng.uniform(2, 48))
    elif state >= 2:
        _ship(order, now, rng, overdue=state >= 3, delivered=state == 4)
    return order


def _ship(
    order: SandboxOrder, now: datetime, rng: random.Random, *, overdue: bool, delivered: bool
) -> None:
    shipped_days_ago = rng.uniform(8, 20) if overdue else rng.uniform(0.5, 3)
    shipped_at = now - timedelta(days=shipped_days_ago)
    carrier, url = rng.choice(_CARRIERS)
    tracking_number = f"{order.id}{rng.randint(100, 999)}"
    order.created_at = shipped_at - timedelta(days=1)
    order.fulfillment_status = "FULFILLED"
    order.fulfillment_orders[0].status = "CLOSED"
    order.fulfillments = [
        SandboxFulfillment(
            created_at=shipped_at,
            display_status="DELIVERED" if delivered else "IN_TRANSIT",
            in_transit_at=shipped_at + timedelta(hours=3),
            estimated_delivery_at=shipped_at + timedelta(days=3),
            delivered_at=shipped_at + timedelta(days=2) if delivered else None,
            tracking=[SandboxTracking(carrier, tracking_number, url + tracking_number)],
        )
    ]
