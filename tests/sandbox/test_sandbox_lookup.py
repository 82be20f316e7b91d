"""OrderLookup against the sandbox: search syntax, field shapes, every demo order."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from service.sandbox.server import DEMO_ORDERS, DemoOrder, SandboxShop, start_sandbox
from tests.sandbox.admin_http import lookup

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.mark.parametrize("query", ["name:#1001", "name:'#1001'", 'name:"#1001"', "name:1001"])
async def test_lookup_by_name_accepts_each_spelling(sandbox: SandboxShop, query: str) -> None:
    nodes = await lookup(sandbox, query)

    assert [node["name"] for node in nodes] == ["#1001"]


async def test_lookup_by_name_does_not_match_a_prefix(sandbox: SandboxShop) -> None:
    assert await lookup(sandbox, "name:'#100'") == []


async def test_lookup_by_id_finds_the_order(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1005")

    nodes = await lookup(sandbox, f"id:{order.id}")

    assert [node["id"] for node in nodes] == [f"gid://shopify/Order/{order.id}"]


async def test_lookup_of_unknown_name_returns_no_nodes(sandbox: SandboxShop) -> None:
    assert await lookup(sandbox, "name:'#9999'") == []


async def test_lookup_shapes_money_and_datetimes_like_shopify(sandbox: SandboxShop) -> None:
    (node,) = await lookup(sandbox, "name:'#1001'")

    assert node["totalPriceSet"]["presentmentMoney"] == {"amount": "129.00", "currencyCode": "EUR"}
    assert ISO_UTC.match(node["createdAt"])


async def test_lookup_places_demo_orders_relative_to_the_clock() -> None:
    shop = await start_sandbox(clock=lambda: datetime(2025, 6, 2, 12, 0, tzinfo=UTC))
    try:
        (node,) = await lookup(shop, "name:'#1002'")
    finally:
        await shop.close()

    assert node["createdAt"] == "2025-06-02T09:00:00Z"


async def test_lookup_returns_tracking_for_a_shipped_order(sandbox: SandboxShop) -> None:
    (node,) = await lookup(sandbox, "name:'#1009'")

    (fulfillment,) = node["fulfillments"]
    assert fulfillment["trackingInfo"] == [
        {
            "company": "PostNord",
            "number": "00370712345678901234",
            "url": "https://tracking.postnord.com/?id=00370712345678901234",
        }
    ]


async def test_overdue_demo_order_has_its_carrier_estimate_in_the_past() -> None:
    shop = await start_sandbox(clock=lambda: datetime(2025, 6, 20, 12, 0, tzinfo=UTC))
    try:
        (node,) = await lookup(shop, "name:'#1009'")
    finally:
        await shop.close()

    (fulfillment,) = node["fulfillments"]
    assert fulfillment["createdAt"] == "2025-06-10T12:00:00Z"
    assert fulfillment["estimatedDeliveryAt"] == "2025-06-15T12:00:00Z"


async def test_lookup_finds_the_phone_only_customer(sandbox: SandboxShop) -> None:
    (node,) = await lookup(sandbox, "name:'#1013'")

    assert (node["email"], node["phone"]) == (None, "+4791234567")


@pytest.mark.parametrize("demo", DEMO_ORDERS, ids=[demo.number for demo in DEMO_ORDERS])
async def test_every_demo_order_is_readable(sandbox: SandboxShop, demo: DemoOrder) -> None:
    (node,) = await lookup(sandbox, f"name:'{demo.number}'")

    assert node["name"] == demo.number
    assert node["lineItems"]["nodes"]
