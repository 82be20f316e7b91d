"""`ordergate shopify webhooks`: subscribe the shop to the order topics of CONTRACT §6, or print
the `[webhooks]` section of `shopify.app.toml` that declares them instead.

Two ways to subscribe, for two kinds of app:
- an app managed by the Shopify CLI declares its webhooks in `shopify.app.toml` (`--toml`);
  they then hold for every shop the app is installed on. The compliance topics
  (`customers/data_request`, `customers/redact`, `shop/redact`) can only be declared there
  (or in the Dev Dashboard): the Admin API refuses them.
- a custom app made in one shop's admin subscribes that shop through the Admin API
  (`webhookSubscriptionCreate`, an operator-only document): the order topics only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.admin.shop import Shop
from service.client_address import LOOPBACK_HOSTS
from service.config import ConfigurationError, Settings
from service.operator_shop import operator_shop

ORDER_TOPICS = (
    "orders/updated",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "fulfillments/create",
    "fulfillments/update",
    "fulfillment_events/create",
    "refunds/create",
)
"""The topics that say an order changed (CONTRACT §6), in the order they are subscribed."""

COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
"""Mandatory privacy topics (CONTRACT §7): declared only in the app configuration."""


def topic_enum(topic: str) -> str:
    """The Admin API's WebhookSubscriptionTopic for a topic: orders/updated -> ORDERS_UPDATED."""
    return topic.replace("/", "_").upper()


def check_url(url: str) -> str:
    """The webhook URL as given when Shopify can deliver to it: https, or http on loopback."""
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if not parts.hostname or not (parts.scheme == "https" or loopback):
        raise ConfigurationError(
            "--url must be the public https:// URL of ordergate's /webhooks/shopify"
        )
    return url


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _toml_list(values: Sequence[str]) -> str:
    return "[ " + ", ".join(_toml_string(value) for value in values) + " ]"


def app_toml(*, url: str, api_version: str) -> str:
    """The `[webhooks]` section of `shopify.app.toml` for ordergate at `url`.

    The order topics and the compliance topics are separate subscriptions: the Shopify CLI
    refuses some mixes of the two in one table.
    """
    return "\n".join(
        [
            "[webhooks]",
            f"api_version = {_toml_string(api_version)}",
            "",
            "  [[webhooks.subscriptions]]",
            f"  topics = {_toml_list(ORDER_TOPICS)}",
            f"  uri = {_toml_string(url)}",
            "",
            "  [[webhooks.subscriptions]]",
            f"  compliance_topics = {_toml_list(COMPLIANCE_TOPICS)}",
            f"  uri = {_toml_string(url)}",
            "",
        ]
    )


@dataclass(frozen=True, slots=True)
class SubscriptionReport:
    """What a run did per topic: created now, there already, or refused by Shopify."""

    created: tuple[str, ...]
    existing: tuple[str, ...]
    refused: tuple[tuple[str, tuple[str, ...]], ...]  # (topic, the input fields Shopify named)


async def subscribe(shop: Shop, *, url: str) -> SubscriptionReport:
    """Subscribe the shop to every ORDER_TOPICS topic at `url`, once: the subscriptions already
    there are read first and left alone, and a topic Shopify says is taken counts as there."""
    wanted = {topic_enum(topic): topic for topic in ORDER_TOPICS}
    present = {
        each.topic for each in await shop.webhook_subscriptions(uri=url, topics=list(wanted))
    }
    created: list[str] = []
    existing = [topic for enum, topic in wanted.items() if enum in present]
    refused: list[tuple[str, tuple[str, ...]]] = []
    for enum, topic in wanted.items():
        if enum in present:
            continue
        outcome = await shop.create_webhook_subscription(topic=enum, uri=url)
        if outcome.subscription is not None:
            created.append(topic)
        elif outcome.already_existed:
            existing.append(topic)
        else:
            refused.append((topic, outcome.refused_fields))
    return SubscriptionReport(tuple(created), tuple(existing), tuple(refused))


async def subscribe_shop(settings: Settings, *, url: str) -> SubscriptionReport:
    """Subscribe the configured shop (SHOPIFY_SHOP or SHOPIFY_ADMIN_ENDPOINT) at `url`."""
    if settings.uses_sandbox:
        raise ConfigurationError("set SHOPIFY_SHOP (or SHOPIFY_ADMIN_ENDPOINT) to subscribe a shop")
    # The operator's registry: the only one that allows webhookSubscriptionCreate.
    async with operator_shop(settings, operator=True) as shop:
        return await subscribe(shop, url=url)
