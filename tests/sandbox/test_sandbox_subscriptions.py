"""webhookSubscriptionCreate and webhookSubscriptions on the sandbox, with the real documents."""

from __future__ import annotations

from typing import Any

from service.sandbox.server import SandboxShop
from tests.sandbox.admin_http import data

URI = "https://ordergate.example/webhooks/shopify"


async def create(shop: SandboxShop, topic: str, uri: str) -> dict[str, Any]:
    variables = {"topic": topic, "webhookSubscription": {"uri": uri, "format": "JSON"}}
    result: dict[str, Any] = (await data(shop, "WebhookSubscriptionCreate", variables))[
        "webhookSubscriptionCreate"
    ]
    return result


async def test_a_subscription_is_created_and_listed(sandbox: SandboxShop) -> None:
    created = await create(sandbox, "ORDERS_UPDATED", URI)

    assert created["userErrors"] == []
    subscription = created["webhookSubscription"]
    assert subscription["id"].startswith("gid://shopify/WebhookSubscription/")
    assert (subscription["topic"], subscription["uri"]) == ("ORDERS_UPDATED", URI)
    found = await data(sandbox, "WebhookSubscriptions", {"uri": URI, "topics": ["ORDERS_UPDATED"]})
    assert found["webhookSubscriptions"]["nodes"] == [subscription]


async def test_the_same_topic_at_the_same_uri_is_taken(sandbox: SandboxShop) -> None:
    await create(sandbox, "ORDERS_UPDATED", URI)

    again = await create(sandbox, "ORDERS_UPDATED", URI)

    assert again["webhookSubscription"] is None
    (error,) = again["userErrors"]
    assert "already been taken" in error["message"]
    assert len(sandbox.store.subscriptions) == 1


async def test_the_same_topic_at_another_uri_is_another_subscription(sandbox: SandboxShop) -> None:
    await create(sandbox, "ORDERS_UPDATED", URI)
    await create(sandbox, "ORDERS_UPDATED", "https://other.example/hooks")

    found = await data(sandbox, "WebhookSubscriptions", {"uri": URI, "topics": None})

    assert len(found["webhookSubscriptions"]["nodes"]) == 1
    assert len(sandbox.store.subscriptions) == 2


async def test_plain_http_is_refused_except_on_loopback(sandbox: SandboxShop) -> None:
    refused = await create(sandbox, "ORDERS_UPDATED", "http://ordergate.example/webhooks/shopify")
    loopback = await create(sandbox, "ORDERS_UPDATED", "http://127.0.0.1:8000/webhooks/shopify")

    assert refused["webhookSubscription"] is None
    assert refused["userErrors"][0]["field"] == ["webhookSubscription", "uri"]
    assert loopback["userErrors"] == []


async def test_subscriptions_are_filtered_by_topic(sandbox: SandboxShop) -> None:
    await create(sandbox, "ORDERS_UPDATED", URI)
    await create(sandbox, "REFUNDS_CREATE", URI)

    found = await data(sandbox, "WebhookSubscriptions", {"uri": URI, "topics": ["REFUNDS_CREATE"]})

    assert [node["topic"] for node in found["webhookSubscriptions"]["nodes"]] == ["REFUNDS_CREATE"]
