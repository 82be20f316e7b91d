"""The sandbox delivers signed webhooks on every change to an order, as Shopify does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from service.sandbox.server import SandboxShop, start_sandbox
from tests.sandbox.admin_http import data, lookup
from tests.sandbox.test_sandbox_mutations import cancel_variables, wait_for_job
from tests.sandbox.webhook_receiver import Receiver, running_receiver

SECRET = "whsec_sandbox_test_secret"
FAST_RETRIES = (0.05, 0.05, 0.05)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


@pytest.fixture
async def shop(receiver: Receiver) -> AsyncIterator[SandboxShop]:
    sandbox = await start_sandbox(
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        webhook_retry_delays=FAST_RETRIES,
        job_delay_seconds=0.05,
    )
    yield sandbox
    await sandbox.close()


def assert_shopify_headers(receiver: Receiver, shop: SandboxShop) -> None:
    for delivery in receiver.received:
        assert delivery.signed_with(SECRET), delivery.topic
        assert delivery.headers["X-Shopify-Shop-Domain"] == shop.shop_domain
        assert delivery.headers["X-Shopify-API-Version"] == shop.api_version
        assert delivery.headers["X-Shopify-Event-Id"]
        assert delivery.headers["X-Shopify-Webhook-Id"]
        assert delivery.headers["Content-Type"] == "application/json"
    event_ids = [delivery.headers["X-Shopify-Event-Id"] for delivery in receiver.received]
    assert len(set(event_ids)) == len(event_ids)


def by_topic(receiver: Receiver, topic: str) -> dict[str, object]:
    (delivery,) = [each for each in receiver.received if each.topic == topic]
    payload: dict[str, object] = delivery.json()
    return payload


@pytest.mark.parametrize(
    ("action", "order", "topics"),
    [
        ("cancel", "1012", ["refunds/create", "orders/cancelled", "orders/updated"]),
        ("release_hold", "1006", ["orders/updated"]),
        ("refund", "1009", ["refunds/create", "orders/updated"]),
        ("ship_replacement", "1009", ["fulfillments/create", "orders/updated"]),
        ("ship_replacement", "1001", ["fulfillments/create", "orders/fulfilled", "orders/updated"]),
        ("mark_delivered", "1009", ["fulfillment_events/create", "fulfillments/update"]),
    ],
)
async def test_each_staff_action_delivers_signed_webhooks(
    shop: SandboxShop, receiver: Receiver, action: str, order: str, topics: list[str]
) -> None:
    outcome = shop.staff_action(action, order)
    await shop.webhooks.drain()

    assert list(outcome.topics) == topics
    assert receiver.topics() == topics
    assert_shopify_headers(receiver, shop)
    changed = shop.store.order_named(f"#{order}")
    for delivery in receiver.received:
        payload = delivery.json()
        if delivery.topic.startswith("orders/"):
            assert payload["admin_graphql_api_id"] == changed.gid
            assert payload["id"] == changed.id
        else:
            assert payload["order_id"] == changed.id


async def test_staff_cancel_cancels_and_refunds_at_once(shop: SandboxShop) -> None:
    shop.cancel("#1012")

    (node,) = await lookup(shop, "name:'#1012'")
    assert node["cancelledAt"] is not None
    assert node["displayFinancialStatus"] == "REFUNDED"
    assert node["fulfillmentOrders"]["nodes"][0]["status"] == "CLOSED"


async def test_release_hold_opens_the_fulfilment_order(shop: SandboxShop) -> None:
    shop.release_hold(1006)

    (node,) = await lookup(shop, "name:'#1006'")
    assert node["displayFulfillmentStatus"] == "UNFULFILLED"
    assert node["fulfillmentOrders"]["nodes"][0]["status"] == "OPEN"


async def test_a_hold_placed_through_the_admin_api_is_released_by_staff(
    shop: SandboxShop, receiver: Receiver
) -> None:
    order = shop.store.order_named("#1012")
    hold = {"reason": "OTHER", "reasonNotes": "review", "handle": "ordergate-review"}
    variables = {"id": order.fulfillment_orders[0].gid, "fulfillmentHold": hold}
    await data(shop, "FulfillmentOrderHold", variables)

    shop.release_hold("1012")
    await shop.webhooks.drain()

    assert receiver.topics() == ["orders/updated", "orders/updated"]
    assert order.fulfillment_orders[0].status == "OPEN"
    assert order.fulfillment_orders[0].holds == []


async def test_refund_marks_the_order_refunded(shop: SandboxShop, receiver: Receiver) -> None:
    shop.refund("1009")
    await shop.webhooks.drain()

    (node,) = await lookup(shop, "name:'#1009'")
    assert node["displayFinancialStatus"] == "REFUNDED"
    refund = by_topic(receiver, "refunds/create")
    assert str(refund["admin_graphql_api_id"]).startswith("gid://shopify/Refund/")


async def test_a_replacement_is_a_new_fulfilment_in_transit(
    shop: SandboxShop, receiver: Receiver
) -> None:
    shop.ship_replacement("1009")
    await shop.webhooks.drain()

    (node,) = await lookup(shop, "name:'#1009'")
    first, replacement = node["fulfillments"]
    assert replacement["displayStatus"] == "IN_TRANSIT"
    assert replacement["createdAt"] > first["createdAt"]
    assert replacement["trackingInfo"][0]["number"] != first["trackingInfo"][0]["number"]
    created = by_topic(receiver, "fulfillments/create")
    assert created["admin_graphql_api_id"] == shop.store.order_named("#1009").fulfillments[1].gid


async def test_mark_delivered_sets_the_latest_parcel_delivered(
    shop: SandboxShop, receiver: Receiver
) -> None:
    shop.mark_delivered("1009")
    await shop.webhooks.drain()

    (node,) = await lookup(shop, "name:'#1009'")
    (parcel,) = node["fulfillments"]
    assert parcel["displayStatus"] == "DELIVERED"
    assert parcel["deliveredAt"] is not None
    event = by_topic(receiver, "fulfillment_events/create")
    assert event["status"] == "delivered"
    assert event["fulfillment_id"] == shop.store.order_named("#1009").fulfillments[0].id


async def test_order_cancel_delivers_when_its_job_is_done(
    shop: SandboxShop, receiver: Receiver
) -> None:
    order = shop.store.order_named("#1001")
    result = await data(shop, "OrderCancel", cancel_variables(order.gid))
    assert receiver.received == []

    assert await wait_for_job(shop, result["orderCancel"]["job"]["id"])
    await shop.webhooks.drain()

    assert receiver.topics() == ["refunds/create", "orders/cancelled", "orders/updated"]
    assert_shopify_headers(receiver, shop)
    assert by_topic(receiver, "orders/cancelled")["cancel_reason"] == "customer"


async def test_tags_added_deliver_orders_updated_once(
    shop: SandboxShop, receiver: Receiver
) -> None:
    order = shop.store.order_named("#1012")
    await data(shop, "TagsAdd", {"id": order.gid, "tags": ["cancellation-requested"]})
    await data(shop, "TagsAdd", {"id": order.gid, "tags": ["Cancellation-Requested"]})
    await shop.webhooks.drain()

    assert receiver.topics() == ["orders/updated"]
    assert "cancellation-requested" in str(by_topic(receiver, "orders/updated")["tags"])


async def test_a_failed_delivery_is_retried_with_the_same_ids_and_body(
    shop: SandboxShop, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]

    shop.release_hold("1006")
    await shop.webhooks.drain()

    first, second, third = receiver.received
    for header in ("X-Shopify-Event-Id", "X-Shopify-Webhook-Id", "X-Shopify-Hmac-Sha256"):
        assert first.headers[header] == second.headers[header] == third.headers[header]
    assert first.body == second.body == third.body
    (delivery,) = shop.webhooks.deliveries
    assert delivery.attempts == [500, 503, 200]
    assert delivery.delivered


async def test_a_receiver_that_never_answers_2xx_is_given_up_on(
    shop: SandboxShop, receiver: Receiver
) -> None:
    receiver.statuses = [500] * 10

    shop.release_hold("1006")
    await shop.webhooks.drain()

    assert len(receiver.received) == len(FAST_RETRIES) + 1
    (delivery,) = shop.webhooks.deliveries
    assert not delivery.delivered


async def test_delivery_never_holds_up_the_admin_call_behind_it(
    shop: SandboxShop, receiver: Receiver
) -> None:
    receiver.delay = 2.0
    order = shop.store.order_named("#1012")

    started = time.monotonic()
    await data(shop, "TagsAdd", {"id": order.gid, "tags": ["slow-receiver"]})
    shop.refund("1012")
    elapsed = time.monotonic() - started

    assert elapsed < 1.0
    await asyncio.wait_for(receiver.arrived.wait(), timeout=5)


async def test_without_a_url_nothing_is_sent_until_one_is_given(receiver: Receiver) -> None:
    sandbox = await start_sandbox()
    try:
        sandbox.refund("1009")
        await sandbox.webhooks.drain()
        assert receiver.received == []
        assert [each.topic for each in sandbox.webhooks.published] == [
            "refunds/create",
            "orders/updated",
        ]

        sandbox.deliver_webhooks_to(receiver.url)
        sandbox.mark_delivered("1009")
        await sandbox.webhooks.drain()
    finally:
        await sandbox.close()

    assert receiver.topics() == ["fulfillment_events/create", "fulfillments/update"]
    # Signed with the app's client secret, as Shopify signs them, unless told otherwise.
    assert sandbox.webhook_secret == sandbox.client_secret
    assert all(each.signed_with(sandbox.client_secret) for each in receiver.received)


async def test_seeding_the_demo_orders_sends_nothing(receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_url=receiver.url)
    await sandbox.webhooks.drain()
    await sandbox.close()

    assert receiver.received == []
