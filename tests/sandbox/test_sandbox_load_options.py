"""The sandbox's options for load tests: generated orders, latency, and what it counts."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from service.sandbox.generated import GENERATED_FIRST_NUMBER, generate_orders, generated_contact
from service.sandbox.records import SandboxOrder
from service.sandbox.server import SandboxShop, start_sandbox
from tests.sandbox.admin_http import lookup, post_graphql, run

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LAST = GENERATED_FIRST_NUMBER + 99


@pytest.fixture
async def big_shop() -> AsyncIterator[SandboxShop]:
    """A sandbox with the demo orders and a hundred generated ones."""
    shop = await start_sandbox(generated_orders=100)
    yield shop
    await shop.close()


def test_generated_orders_are_the_same_for_the_same_seed() -> None:
    assert generate_orders(50, now=NOW) == generate_orders(50, now=NOW)


def _state(order: SandboxOrder) -> str:
    if not order.fulfillments:
        return "just placed" if NOW - order.created_at < timedelta(hours=1) else "placed earlier"
    (parcel,) = order.fulfillments
    if parcel.delivered_at is not None:
        return "delivered"
    assert parcel.estimated_delivery_at is not None
    return "in transit" if parcel.estimated_delivery_at > NOW else "overdue"


def test_generated_orders_spread_evenly_over_five_states() -> None:
    states = Counter(_state(order) for order in generate_orders(10, now=NOW))

    assert states == dict.fromkeys(
        ["just placed", "placed earlier", "in transit", "overdue", "delivered"], 2
    )


async def test_generated_order_is_found_by_name_with_its_contact(big_shop: SandboxShop) -> None:
    (node,) = await lookup(big_shop, f"name:'#{LAST}'")

    assert node["name"] == f"#{LAST}"
    assert node["email"] == generated_contact(LAST)


async def test_generated_order_is_found_by_id(big_shop: SandboxShop) -> None:
    order = big_shop.store.order_named(f"#{LAST}")

    (node,) = await lookup(big_shop, f"id:{order.id}")

    assert node["name"] == f"#{LAST}"


async def test_demo_orders_stay_beside_generated_ones(big_shop: SandboxShop) -> None:
    (node,) = await lookup(big_shop, "name:1001")

    assert node["email"] == "ada.lovelace@example.com"


async def test_search_without_name_or_id_still_sees_every_order(big_shop: SandboxShop) -> None:
    nodes = await lookup(big_shop, "status:open")

    assert len(nodes) == 1  # OrderLookup asks for the first only
    assert nodes[0]["name"] == "#1001"


async def test_calls_record_their_actual_cost(sandbox: SandboxShop) -> None:
    _status, body = await run(sandbox, "OrderLookup", {"query": "name:'#1001'"})

    (call,) = sandbox.calls
    assert call.actual_cost == body["extensions"]["cost"]["actualQueryCost"]


async def test_a_refused_document_is_refused_again_when_resent(sandbox: SandboxShop) -> None:
    first = await post_graphql(sandbox, query="query Shop { shop { name } }")
    second = await post_graphql(sandbox, query="query Shop { shop { name } }")

    assert first == second
    assert first[1]["errors"][0]["extensions"]["code"] == "undefinedField"


async def test_latency_delays_every_admin_answer() -> None:
    # A lower bound only: sleeping guarantees it, so it holds on any machine however slow.
    shop = await start_sandbox(latency_seconds=0.2)
    try:
        started = time.monotonic()
        await run(shop, "OrderLookup", {"query": "name:'#1001'"})
        elapsed = time.monotonic() - started
    finally:
        await shop.close()

    assert elapsed >= 0.2
