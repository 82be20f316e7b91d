"""Shop's operator-only operations: reading and creating webhook subscriptions."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from service.admin.errors import OperationNotAllowed, UpstreamUnavailable
from service.admin.operations import OPERATOR_ONLY, OperationRegistry
from service.admin.shop import Shop, WebhookSubscription
from tests.admin.scripted_server import GRAPHQL_PATH, ClientFactory, Reply, ScriptedServer
from tests.admin.sent_requests import assert_valid_variables, sent
from tests.admin.shopify_bodies import ok

URI = "https://ordergate.example/webhooks/shopify"
SUBSCRIPTION_ID = "gid://shopify/WebhookSubscription/1300000001"


@pytest.fixture
def operator_shop(session: aiohttp.ClientSession, server: ScriptedServer) -> Shop:
    factory = ClientFactory(
        session=session, server=server, registry=OperationRegistry.load(operator=True)
    )
    return Shop(factory())


def created(**subscription: Any) -> dict[str, Any]:
    node = {"id": SUBSCRIPTION_ID, "topic": "ORDERS_UPDATED", "uri": URI, **subscription}
    return ok({"webhookSubscriptionCreate": {"webhookSubscription": node, "userErrors": []}})


def refused(*errors: dict[str, Any]) -> dict[str, Any]:
    payload = {"webhookSubscription": None, "userErrors": list(errors)}
    return ok({"webhookSubscriptionCreate": payload})


def test_the_service_registry_leaves_the_operator_documents_out() -> None:
    registry = OperationRegistry.load()

    assert not registry.names & OPERATOR_ONLY
    with pytest.raises(OperationNotAllowed):
        registry.get("WebhookSubscriptionCreate")


def test_the_operator_registry_has_them() -> None:
    registry = OperationRegistry.load(operator=True)

    assert registry.names >= OPERATOR_ONLY
    assert registry.get("WebhookSubscriptionCreate").is_mutation


async def test_the_service_client_cannot_send_webhook_subscription_create(
    server: ScriptedServer, make_client: ClientFactory
) -> None:
    shop = Shop(make_client())

    with pytest.raises(OperationNotAllowed):
        await shop.create_webhook_subscription(topic="ORDERS_UPDATED", uri=URI)
    assert server.requests_to(GRAPHQL_PATH) == []


async def test_create_sends_topic_and_uri(server: ScriptedServer, operator_shop: Shop) -> None:
    server.script(GRAPHQL_PATH, Reply(body=created()))

    outcome = await operator_shop.create_webhook_subscription(topic="ORDERS_UPDATED", uri=URI)

    assert outcome.subscription == WebhookSubscription(SUBSCRIPTION_ID, "ORDERS_UPDATED", URI)
    body = sent(server)
    assert body["operationName"] == "WebhookSubscriptionCreate"
    assert body["variables"]["topic"] == "ORDERS_UPDATED"
    assert body["variables"]["webhookSubscription"]["uri"] == URI
    assert_valid_variables(body)


async def test_a_taken_address_counts_as_already_there(
    server: ScriptedServer, operator_shop: Shop
) -> None:
    taken = {
        "field": ["webhookSubscription", "callbackUrl"],
        "message": "Address for this topic has already been taken",
    }
    server.script(GRAPHQL_PATH, Reply(body=refused(taken)))

    outcome = await operator_shop.create_webhook_subscription(topic="ORDERS_UPDATED", uri=URI)

    assert outcome.subscription is None
    assert outcome.already_existed
    assert outcome.refused_fields == ()


async def test_another_refusal_names_the_fields_not_shopifys_text(
    server: ScriptedServer, operator_shop: Shop
) -> None:
    invalid = {"field": ["webhookSubscription", "uri"], "message": "Address is invalid"}
    server.script(GRAPHQL_PATH, Reply(body=refused(invalid)))

    outcome = await operator_shop.create_webhook_subscription(topic="ORDERS_UPDATED", uri=URI)

    assert not outcome.already_existed
    assert outcome.refused_fields == ("webhookSubscription.uri",)


async def test_subscriptions_are_read_by_topic_and_uri(
    server: ScriptedServer, operator_shop: Shop
) -> None:
    node = {"id": SUBSCRIPTION_ID, "topic": "REFUNDS_CREATE", "uri": URI}
    server.script(GRAPHQL_PATH, Reply(body=ok({"webhookSubscriptions": {"nodes": [node]}})))

    found = await operator_shop.webhook_subscriptions(
        uri=URI, topics=["REFUNDS_CREATE", "ORDERS_UPDATED"]
    )

    assert found == [WebhookSubscription(SUBSCRIPTION_ID, "REFUNDS_CREATE", URI)]
    body = sent(server)
    assert body["variables"] == {"uri": URI, "topics": ["REFUNDS_CREATE", "ORDERS_UPDATED"]}
    assert_valid_variables(body)


async def test_a_malformed_subscription_list_is_upstream_unavailable(
    server: ScriptedServer, operator_shop: Shop
) -> None:
    server.script(GRAPHQL_PATH, Reply(body=ok({"webhookSubscriptions": {"nodes": [{"id": 1}]}})))

    with pytest.raises(UpstreamUnavailable):
        await operator_shop.webhook_subscriptions(uri=URI, topics=["ORDERS_UPDATED"])
