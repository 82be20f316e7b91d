"""Shop: the typed operations, their variables as Shopify expects them, and their answers."""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from service.admin.auth import StaticToken
from service.admin.client import AdminCall, AdminClient
from service.admin.errors import ErrorKind, UpstreamUnavailable
from service.admin.operations import OperationRegistry
from service.admin.shop import CancelOutcome, Shop, search_value
from service.policy import RefundMethod
from service.sandbox.server import SandboxShop
from tests.admin.scripted_server import GRAPHQL_PATH, ClientFactory, Reply, ScriptedServer
from tests.admin.sent_requests import assert_valid_variables, sent
from tests.admin.shopify_bodies import (
    FULFILLMENT_ORDER_ID,
    JOB_ID,
    ORDER_ID,
    ok,
    order_node,
    orders,
)


@pytest.fixture
def shop(make_client: ClientFactory) -> Shop:
    return Shop(make_client())


def cancelled(*, done: bool = False) -> dict[str, Any]:
    job = {"id": JOB_ID, "done": done}
    return ok({"orderCancel": {"job": job, "orderCancelUserErrors": []}})


def test_search_value_quotes_and_escapes() -> None:
    assert search_value("#1001") == "'#1001'"
    assert search_value("#10'01\\") == "'#10\\'01\\\\'"


async def test_find_order_searches_by_quoted_name(server: ScriptedServer, shop: Shop) -> None:
    server.script(GRAPHQL_PATH, Reply(body=orders(order_node())))

    order = await shop.find_order(name="#1001")

    assert order is not None
    assert order.id == ORDER_ID
    body = sent(server)
    assert body["operationName"] == "OrderLookup"
    assert body["variables"] == {"query": "name:'#1001'"}


async def test_find_order_rejects_a_node_with_another_name(
    server: ScriptedServer, shop: Shop
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=orders(order_node(name="#10010"))))

    assert await shop.find_order(name="#1001") is None


async def test_find_order_without_nodes_is_none(server: ScriptedServer, shop: Shop) -> None:
    server.script(GRAPHQL_PATH, Reply(body=orders()))

    assert await shop.find_order(name="#1001") is None


async def test_find_order_without_orders_is_malformed(server: ScriptedServer, shop: Shop) -> None:
    server.script(GRAPHQL_PATH, Reply(body=ok({"orders": None})))

    with pytest.raises(UpstreamUnavailable) as caught:
        await shop.find_order(name="#1001")

    assert caught.value.kind is ErrorKind.MALFORMED


async def test_find_order_is_visible_through_on_call(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=orders(order_node())))

    await Shop(make_client()).find_order(name="#1001")

    assert [(c.operation, c.requested_cost, c.actual_cost) for c in make_client.calls] == [
        ("OrderLookup", 52, 14)
    ]


async def test_get_order_searches_by_numeric_id(server: ScriptedServer, shop: Shop) -> None:
    server.script(GRAPHQL_PATH, Reply(body=orders(order_node())))

    order = await shop.get_order(order_id=ORDER_ID)

    assert order is not None
    assert sent(server)["variables"] == {"query": "id:5512345678901"}


async def test_get_order_rejects_a_node_with_another_id(server: ScriptedServer, shop: Shop) -> None:
    server.script(GRAPHQL_PATH, Reply(body=orders(order_node(id="gid://shopify/Order/1"))))

    assert await shop.get_order(order_id=ORDER_ID) is None


async def test_get_order_refuses_an_id_that_is_not_an_order_gid(
    server: ScriptedServer, shop: Shop
) -> None:
    with pytest.raises(ValueError, match="order id"):
        await shop.get_order(order_id="gid://shopify/Customer/1 OR id:2")

    assert server.requests == []


@pytest.mark.parametrize(
    ("refund", "method"),
    [
        (RefundMethod.ORIGINAL, {"originalPaymentMethodsRefund": True}),
        (RefundMethod.STORE_CREDIT, {"storeCreditRefund": {}}),
        (RefundMethod.NONE, {"originalPaymentMethodsRefund": False}),
    ],
)
async def test_cancel_order_sends_the_refund_method(
    server: ScriptedServer, shop: Shop, refund: RefundMethod, method: dict[str, object]
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=cancelled()))

    await shop.cancel_order(
        order_id=ORDER_ID, restock=True, notify_customer=False, refund=refund, staff_note="n"
    )

    body = sent(server)
    assert body["variables"] == {
        "orderId": ORDER_ID,
        "reason": "CUSTOMER",
        "restock": True,
        "notifyCustomer": False,
        "refundMethod": method,
        "staffNote": "n",
    }
    assert_valid_variables(body)


async def test_cancel_order_returns_the_job(server: ScriptedServer, shop: Shop) -> None:
    server.script(GRAPHQL_PATH, Reply(body=cancelled(done=False)))

    outcome = await shop.cancel_order(
        order_id=ORDER_ID,
        restock=True,
        notify_customer=True,
        refund=RefundMethod.ORIGINAL,
        staff_note="Customer asked via ordergate",
    )

    assert outcome == CancelOutcome(job_id=JOB_ID, done=False, refused=False)


async def test_cancel_order_user_errors_are_a_refusal(server: ScriptedServer, shop: Shop) -> None:
    errors = [{"code": "INVALID", "field": ["orderId"], "message": "Order has been fulfilled"}]
    body = ok({"orderCancel": {"job": None, "orderCancelUserErrors": errors}})
    server.script(GRAPHQL_PATH, Reply(body=body))

    outcome = await shop.cancel_order(
        order_id=ORDER_ID,
        restock=True,
        notify_customer=True,
        refund=RefundMethod.NONE,
        staff_note="",
    )

    assert outcome == CancelOutcome(
        job_id=None,
        done=False,
        refused=True,
        error_codes=("INVALID",),
        error_messages=("Order has been fulfilled",),
    )


async def test_cancel_order_staff_note_is_cut_to_shopifys_limit(
    server: ScriptedServer, shop: Shop
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=cancelled()))

    await shop.cancel_order(
        order_id=ORDER_ID,
        restock=False,
        notify_customer=True,
        refund=RefundMethod.NONE,
        staff_note="x" * 300,
    )

    assert len(sent(server)["variables"]["staffNote"]) == 255


async def test_cancel_order_without_payload_is_malformed(
    server: ScriptedServer, shop: Shop
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=ok({"orderCancel": None})))

    with pytest.raises(UpstreamUnavailable) as caught:
        await shop.cancel_order(
            order_id=ORDER_ID,
            restock=True,
            notify_customer=True,
            refund=RefundMethod.NONE,
            staff_note="",
        )

    assert caught.value.kind is ErrorKind.MALFORMED


@pytest.mark.parametrize("done", [True, False])
async def test_job_done_reports_the_job(server: ScriptedServer, shop: Shop, done: bool) -> None:
    server.script(GRAPHQL_PATH, Reply(body=ok({"job": {"id": JOB_ID, "done": done}})))

    assert await shop.job_done(job_id=JOB_ID) is done
    assert sent(server)["variables"] == {"id": JOB_ID}


async def test_add_tags_sends_the_tags(server: ScriptedServer, shop: Shop) -> None:
    server.script(GRAPHQL_PATH, Reply(body=ok({"tagsAdd": {"userErrors": []}})))

    await shop.add_tags(order_id=ORDER_ID, tags=("cancellation-requested",))

    body = sent(server)
    assert body["variables"] == {"id": ORDER_ID, "tags": ["cancellation-requested"]}
    assert_valid_variables(body)


async def test_add_tags_user_errors_are_upstream_unavailable(
    server: ScriptedServer, shop: Shop
) -> None:
    errors = [{"field": ["tags"], "message": "Tags is too long"}]
    server.script(GRAPHQL_PATH, Reply(body=ok({"tagsAdd": {"userErrors": errors}})))

    with pytest.raises(UpstreamUnavailable) as caught:
        await shop.add_tags(order_id=ORDER_ID, tags=("x" * 300,))

    assert caught.value.kind is ErrorKind.GRAPHQL_ERRORS
    assert "too long" not in str(caught.value)


async def test_set_metafield_writes_in_ordergates_namespace(
    server: ScriptedServer, shop: Shop
) -> None:
    metafield = {"id": "gid://shopify/Metafield/1", "namespace": "ordergate", "key": "requests"}
    body = ok({"metafieldsSet": {"metafields": [metafield], "userErrors": []}})
    server.script(GRAPHQL_PATH, Reply(body=body))

    await shop.set_metafield(order_id=ORDER_ID, key="requests", value='{"open": 1}')

    sent_body = sent(server)
    assert sent_body["variables"] == {
        "metafields": [
            {
                "ownerId": ORDER_ID,
                "namespace": "ordergate",
                "key": "requests",
                "value": '{"open": 1}',
                "type": "json",
            }
        ]
    }
    assert_valid_variables(sent_body)


async def test_set_metafield_user_errors_carry_their_codes(
    server: ScriptedServer, shop: Shop
) -> None:
    errors = [{"code": "INVALID_VALUE", "field": ["metafields", "0", "value"], "message": "bad"}]
    body = ok({"metafieldsSet": {"metafields": None, "userErrors": errors}})
    server.script(GRAPHQL_PATH, Reply(body=body))

    with pytest.raises(UpstreamUnavailable) as caught:
        await shop.set_metafield(order_id=ORDER_ID, key="requests", value="{")

    assert caught.value.kind is ErrorKind.GRAPHQL_ERRORS
    assert caught.value.codes == ("INVALID_VALUE",)


async def test_hold_fulfillment_order_holds_for_another_reason(
    server: ScriptedServer, shop: Shop
) -> None:
    payload = {
        "fulfillmentOrder": {"id": FULFILLMENT_ORDER_ID, "status": "ON_HOLD"},
        "userErrors": [],
    }
    server.script(GRAPHQL_PATH, Reply(body=ok({"fulfillmentOrderHold": payload})))

    held = await shop.hold_fulfillment_order(
        fulfillment_order_id=FULFILLMENT_ORDER_ID, notes="Cancellation requested", handle="og-1"
    )

    assert held is True
    body = sent(server)
    assert body["variables"] == {
        "id": FULFILLMENT_ORDER_ID,
        "fulfillmentHold": {
            "reason": "OTHER",
            "reasonNotes": "Cancellation requested",
            "handle": "og-1",
        },
    }
    assert_valid_variables(body)


async def test_hold_fulfillment_order_refused_is_false(server: ScriptedServer, shop: Shop) -> None:
    errors = [{"code": "INVALID", "field": ["id"], "message": "cannot be put on hold"}]
    payload = {"fulfillmentOrder": None, "userErrors": errors}
    server.script(GRAPHQL_PATH, Reply(body=ok({"fulfillmentOrderHold": payload})))

    held = await shop.hold_fulfillment_order(
        fulfillment_order_id=FULFILLMENT_ORDER_ID, notes="n", handle="og-1"
    )

    assert held is False


async def test_leaving_product_tags_out_costs_less_and_changes_nothing_else(
    sandbox: SandboxShop,
) -> None:
    calls: list[AdminCall] = []
    async with aiohttp.ClientSession() as session:
        client = AdminClient(
            session,
            endpoint=sandbox.endpoint,
            auth=StaticToken(SecretStr(sandbox.admin_token)),
            operations=OperationRegistry.load(),
            on_call=calls.append,
        )
        # #1003 sells a product tagged non-cancellable.
        full = await Shop(client).find_order(name="#1003")
        lean = await Shop(client).find_order(name="#1003", product_tags=False)
    assert full is not None
    assert any(item.product_tags for item in full.line_items)
    untagged = tuple(dataclasses.replace(item, product_tags=()) for item in full.line_items)
    assert lean == dataclasses.replace(full, line_items=untagged)
    assert [call.operation for call in calls] == ["OrderLookup", "OrderLookupWithoutProductTags"]
    assert [call.requested_cost for call in calls] == [126, 76]
    # Actual cost, as the sandbox charges it by Shopify's rules: a point per product read.
    full_cost, lean_cost = calls[0].actual_cost, calls[1].actual_cost
    assert full_cost is not None
    assert lean_cost == full_cost - len(full.line_items)
