"""The four allowed Admin mutations and their effects on the sandbox's store."""

from __future__ import annotations

import asyncio
import json

from service.sandbox.server import SandboxShop, start_sandbox
from tests.sandbox.admin_http import data, lookup

JOB_DELAY = 0.3


def cancel_variables(order_gid: str) -> dict[str, object]:
    """OrderCancel's variables the way ordergate sends them for a customer cancellation."""
    return {
        "orderId": order_gid,
        "reason": "CUSTOMER",
        "restock": True,
        "notifyCustomer": True,
        "refundMethod": {"originalPaymentMethodsRefund": True},
        "staffNote": "Cancelled by the customer through ordergate",
    }


async def wait_for_job(shop: SandboxShop, job_id: str) -> bool:
    """Poll the Job document until it reports done; False after two seconds."""
    for _ in range(40):
        found = await data(shop, "Job", {"id": job_id})
        if found["job"]["done"]:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_order_cancel_returns_a_job_that_is_not_done_at_first(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1001")

    result = await data(sandbox, "OrderCancel", cancel_variables(order.gid))

    job = result["orderCancel"]["job"]
    assert result["orderCancel"]["orderCancelUserErrors"] == []
    assert job["done"] is False
    assert order.cancelled_at is None


async def test_order_is_cancelled_and_refunded_when_its_job_is_done(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1001")
    result = await data(sandbox, "OrderCancel", cancel_variables(order.gid))

    done = await wait_for_job(sandbox, result["orderCancel"]["job"]["id"])

    (node,) = await lookup(sandbox, "name:'#1001'")
    assert done
    assert node["cancelledAt"] is not None
    assert node["displayFinancialStatus"] == "REFUNDED"
    assert node["fulfillmentOrders"]["nodes"][0]["status"] == "CLOSED"
    assert order.restocked


async def test_job_is_done_only_after_the_configured_delay() -> None:
    shop = await start_sandbox(job_delay_seconds=0.05)
    try:
        order = shop.store.order_named("#1001")
        result = await data(shop, "OrderCancel", cancel_variables(order.gid))
        await asyncio.sleep(0.1)
        found = await data(shop, "Job", {"id": result["orderCancel"]["job"]["id"]})
    finally:
        await shop.close()

    assert found["job"]["done"] is True


async def test_order_cancel_is_refused_for_a_fulfilled_order(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1008")

    result = await data(sandbox, "OrderCancel", cancel_variables(order.gid))

    (error,) = result["orderCancel"]["orderCancelUserErrors"]
    assert (error["code"], result["orderCancel"]["job"]) == ("INVALID", None)


async def test_order_cancel_is_refused_for_a_cancelled_order(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1011")

    result = await data(sandbox, "OrderCancel", cancel_variables(order.gid))

    assert result["orderCancel"]["orderCancelUserErrors"][0]["code"] == "INVALID"


async def test_second_order_cancel_while_the_first_runs_is_refused(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1001")
    await data(sandbox, "OrderCancel", cancel_variables(order.gid))

    result = await data(sandbox, "OrderCancel", cancel_variables(order.gid))

    assert result["orderCancel"]["orderCancelUserErrors"][0]["code"] == "INVALID"


async def test_order_cancel_of_an_unknown_order_is_not_found(sandbox: SandboxShop) -> None:
    result = await data(sandbox, "OrderCancel", cancel_variables("gid://shopify/Order/42"))

    assert result["orderCancel"]["orderCancelUserErrors"][0]["code"] == "NOT_FOUND"


async def test_sandbox_records_mutations_by_name(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1001")
    await lookup(sandbox, "name:'#1001'")
    await data(sandbox, "OrderCancel", cancel_variables(order.gid))

    (call,) = sandbox.mutations("OrderCancel")

    assert (call.is_mutation, call.requested_cost, call.executed) == (True, 10, True)
    assert call.variables["orderId"] == order.gid
    assert len(sandbox.calls) == 2


async def test_tags_add_adds_each_tag_once(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1004")

    result = await data(
        sandbox, "TagsAdd", {"id": order.gid, "tags": ["cancellation-requested", "NON-CANCELLABLE"]}
    )

    assert result["tagsAdd"]["userErrors"] == []
    assert order.tags == ["made-to-order", "non-cancellable", "cancellation-requested"]


async def test_metafields_set_stores_the_value(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1009")
    value = json.dumps({"kind": "NOT_RECEIVED", "status": "OPEN"})
    entry = {
        "ownerId": order.gid,
        "namespace": "ordergate",
        "key": "not_received",
        "type": "json",
        "value": value,
    }

    result = await data(sandbox, "MetafieldsSet", {"metafields": [entry]})

    (metafield,) = result["metafieldsSet"]["metafields"]
    assert (metafield["namespace"], metafield["key"]) == ("ordergate", "not_received")
    (stored,) = sandbox.store.owner_metafields(order.gid)
    assert (stored.value, stored.type) == (value, "json")


async def test_metafields_set_refuses_invalid_json_and_stores_nothing(
    sandbox: SandboxShop,
) -> None:
    order = sandbox.store.order_named("#1009")
    entry = {"ownerId": order.gid, "namespace": "ordergate", "key": "k", "type": "json"}

    result = await data(sandbox, "MetafieldsSet", {"metafields": [{**entry, "value": "{"}]})

    assert result["metafieldsSet"]["userErrors"][0]["code"] == "INVALID_VALUE"
    assert sandbox.store.owner_metafields(order.gid) == []


async def test_fulfillment_order_hold_puts_an_open_order_on_hold(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1012")
    (fulfillment_order,) = order.fulfillment_orders
    hold = {"reason": "OTHER", "handle": "ordergate-review", "reasonNotes": "Cancellation review"}

    result = await data(
        sandbox, "FulfillmentOrderHold", {"id": fulfillment_order.gid, "fulfillmentHold": hold}
    )

    payload = result["fulfillmentOrderHold"]
    assert payload["userErrors"] == []
    assert payload["fulfillmentOrder"] == {"id": fulfillment_order.gid, "status": "ON_HOLD"}
    assert fulfillment_order.holds[0].handle == "ordergate-review"
    assert order.fulfillment_status == "ON_HOLD"


async def test_fulfillment_order_hold_refuses_an_order_being_packed(sandbox: SandboxShop) -> None:
    (fulfillment_order,) = sandbox.store.order_named("#1005").fulfillment_orders
    variables = {"id": fulfillment_order.gid, "fulfillmentHold": {"reason": "OTHER"}}

    result = await data(sandbox, "FulfillmentOrderHold", variables)

    assert result["fulfillmentOrderHold"]["fulfillmentOrder"] is None
    assert result["fulfillmentOrderHold"]["userErrors"][0]["field"] == ["id"]
    assert fulfillment_order.status == "IN_PROGRESS"


async def test_each_sandbox_has_its_own_shop(sandbox: SandboxShop) -> None:
    other = await start_sandbox()
    try:
        order = other.store.order_named("#1001")
        await data(other, "TagsAdd", {"id": order.gid, "tags": ["only-here"]})
    finally:
        await other.close()

    assert "only-here" not in sandbox.store.order_named("#1001").tags


async def test_unknown_job_is_null(sandbox: SandboxShop) -> None:
    found = await data(sandbox, "Job", {"id": "gid://shopify/Job/unknown"})

    assert found == {"job": None}
