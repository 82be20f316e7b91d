"""Query cost and the leaky bucket as Shopify documents them, seen over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from service.sandbox.server import DEMO_ORDERS, DemoOrder, SandboxShop, start_sandbox
from tests.sandbox.admin_http import document, post_graphql, run

LOOKUP = {"query": "name:'#1001'"}
EXPECTED_REQUESTED = {
    "OrderLookup": 126,
    "Job": 1,
    "OrderCancel": 10,
    "TagsAdd": 10,
    "MetafieldsSet": 10,
    "FulfillmentOrderHold": 10,
}
SAMPLE_VARIABLES: dict[str, dict[str, Any]] = {
    "OrderLookup": LOOKUP,
    "Job": {"id": "gid://shopify/Job/unknown"},
    "OrderCancel": {"orderId": "gid://shopify/Order/1", "reason": "CUSTOMER", "restock": True},
    "TagsAdd": {"id": "gid://shopify/Order/1", "tags": ["x"]},
    "MetafieldsSet": {"metafields": []},
    "FulfillmentOrderHold": {
        "id": "gid://shopify/FulfillmentOrder/1",
        "fulfillmentHold": {"reason": "OTHER"},
    },
}


@pytest.mark.parametrize("operation", sorted(EXPECTED_REQUESTED))
async def test_requested_cost_of_each_operation(sandbox: SandboxShop, operation: str) -> None:
    _status, body = await run(sandbox, operation, SAMPLE_VARIABLES[operation])

    assert body["extensions"]["cost"]["requestedQueryCost"] == EXPECTED_REQUESTED[operation]


async def test_actual_cost_counts_what_was_returned(sandbox: SandboxShop) -> None:
    _status, body = await run(sandbox, "OrderLookup", LOOKUP)

    cost = body["extensions"]["cost"]
    # One order (1) in a connection (2), money (2), risk (2), two line items with products
    # in a connection (2 + 4), no fulfilments, one fulfilment order in a connection (2 + 1).
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (126, 16)


async def test_cost_reports_the_bucket(sandbox: SandboxShop) -> None:
    _status, body = await run(sandbox, "OrderLookup", LOOKUP)

    status = body["extensions"]["cost"]["throttleStatus"]
    assert (status["maximumAvailable"], status["restoreRate"]) == (2000.0, 100.0)
    assert 1983 <= status["currentlyAvailable"] < 2000


async def test_drained_bucket_throttles() -> None:
    # 135 points hold one lookup (126 requested); its 16 actual leave 119, too few for another.
    shop = await start_sandbox(bucket_size=135, restore_rate=1)
    try:
        await run(shop, "OrderLookup", LOOKUP)
        status, body = await run(shop, "OrderLookup", LOOKUP)
    finally:
        await shop.close()

    assert status == 200
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert "data" not in body


async def test_throttled_request_runs_no_mutation() -> None:
    shop = await start_sandbox(bucket_size=5, restore_rate=1)
    try:
        order = shop.store.order_named("#1001")
        variables = {"id": order.gid, "tags": ["never"]}
        _status, body = await run(shop, "TagsAdd", variables)
    finally:
        await shop.close()

    assert body["errors"][0]["message"] == "Throttled"
    assert "never" not in order.tags


async def test_bucket_recovers_after_the_restore_time() -> None:
    # After one lookup 119 of 135 points are left; 7 more take 0.35 s at 20 a second.
    shop = await start_sandbox(bucket_size=135, restore_rate=20)
    try:
        await run(shop, "OrderLookup", LOOKUP)
        _status, throttled = await run(shop, "OrderLookup", LOOKUP)
        await asyncio.sleep(0.6)
        _status, recovered = await run(shop, "OrderLookup", LOOKUP)
    finally:
        await shop.close()

    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert recovered["data"]["orders"]["nodes"][0]["name"] == "#1001"


async def test_query_over_the_single_query_maximum_is_refused(sandbox: SandboxShop) -> None:
    query = document("OrderLookup").replace("orders(first: 1,", "orders(first: 10,")

    _status, body = await post_graphql(sandbox, query=query, variables=LOOKUP)

    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1242


async def test_connection_size_comes_from_a_variable(sandbox: SandboxShop) -> None:
    query = "query Few($n: Int) { orders(first: $n) { nodes { id } } }"

    _status, body = await post_graphql(sandbox, query=query, variables={"n": 5})

    assert body["extensions"]["cost"]["requestedQueryCost"] == 7


@pytest.mark.parametrize("demo", DEMO_ORDERS, ids=[demo.number for demo in DEMO_ORDERS])
async def test_actual_cost_never_exceeds_requested(sandbox: SandboxShop, demo: DemoOrder) -> None:
    _status, body = await run(sandbox, "OrderLookup", {"query": f"name:'{demo.number}'"})

    cost = body["extensions"]["cost"]
    assert 0 < cost["actualQueryCost"] <= cost["requestedQueryCost"]
