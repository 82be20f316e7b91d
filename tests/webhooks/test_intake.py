"""`POST /webhooks/shopify` on the real app over loopback HTTP, storing in a real Postgres."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest
from starlette.applications import Starlette

from service.app import create_app
from service.config import Settings
from service.metrics import Metrics
from service.sandbox.server import SandboxShop
from service.storage.database import create_pool
from service.webhooks.intake import MAX_BODY_BYTES, SANDBOX_SHOP_DOMAIN
from service.webhooks.signature import sign
from tests.api.conftest import sandbox_settings, serving
from tests.conftest import DatabaseFactory
from tests.tcp_proxy import TcpProxy

SECRET = "shpss_webhook_secret_for_the_tests"
SHOP = "demo.myshopify.com"  # SHOPIFY_SHOP in sandbox_settings
ORDER_ID = 820982911946154508
ORDER_GID = f"gid://shopify/Order/{ORDER_ID}"
# An order payload as Shopify sends it: which order, and much personal data besides.
ORDER_PAYLOAD = {
    "id": ORDER_ID,
    "admin_graphql_api_id": ORDER_GID,
    "email": "ada.lovelace@example.com",
    "customer": {"first_name": "Ada", "last_name": "Lovelace", "phone": "+4712345678"},
    "shipping_address": {"address1": "12 Analytical Row", "city": "London"},
    "note": "Leave it with the neighbour",
}
REDACT_PAYLOAD = {
    "shop_id": 954889,
    "shop_domain": SHOP,
    "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
    "orders_to_redact": [299938, 280263, 220458],
}


@dataclass
class Running:
    """The running app, its base URL, and a pool on its database to look at what it stored."""

    app: Starlette
    url: str
    pool: asyncpg.Pool

    @property
    def metrics(self) -> Metrics:
        metrics: Metrics = self.app.state.runtime.metrics
        return metrics

    def count(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    async def stored(self) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "select delivery_id, topic, order_id, payload::text as payload from webhook_inbox"
            " order by received_at, delivery_id"
        )


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Running]:
    """The app under uvicorn, and a pool of our own on its database."""
    assert settings.database_url is not None
    app = create_app(settings)
    pool = await create_pool(settings.database_url.get_secret_value())
    try:
        async with serving(app) as url:
            yield Running(app=app, url=url, pool=pool)
    finally:
        await pool.close()


@pytest.fixture
async def running(make_database: DatabaseFactory, sandbox: SandboxShop) -> AsyncIterator[Running]:
    settings = sandbox_settings(await make_database(), sandbox, SHOPIFY_WEBHOOK_SECRET=SECRET)
    async with running_app(settings) as app:
        yield app


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


ORDER_BODY = _body(ORDER_PAYLOAD)


async def deliver(
    http: aiohttp.ClientSession,
    url: str,
    body: bytes | AsyncIterator[bytes] = ORDER_BODY,
    *,
    topic: str = "orders/updated",
    event_id: str | None = "event-1",
    webhook_id: str | None = "webhook-1",
    shop: str | None = SHOP,
    signature: str | None = None,
) -> tuple[int, bytes]:
    """POST one delivery as Shopify does; signed with SECRET unless `signature` is given."""
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic}
    if isinstance(body, bytes):
        headers["X-Shopify-Hmac-Sha256"] = sign(body, SECRET) if signature is None else signature
    elif signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    for name, value in (
        ("X-Shopify-Event-Id", event_id),
        ("X-Shopify-Webhook-Id", webhook_id),
        ("X-Shopify-Shop-Domain", shop),
    ):
        if value is not None:
            headers[name] = value
    async with http.post(f"{url}/webhooks/shopify", data=body, headers=headers) as response:
        return response.status, await response.read()


async def test_an_order_delivery_stores_the_order_gid_and_answers_200(
    running: Running, http: aiohttp.ClientSession
) -> None:
    assert await deliver(http, running.url) == (200, b"")
    (row,) = await running.stored()
    assert (row["delivery_id"], row["topic"], row["order_id"]) == (
        "event-1",
        "orders/updated",
        ORDER_GID,
    )
    assert running.count("ordergate_webhooks_received_total", topic="orders/updated") == 1


async def test_an_order_delivery_keeps_none_of_the_payload(
    running: Running, http: aiohttp.ClientSession
) -> None:
    await deliver(http, running.url)
    (row,) = await running.stored()
    assert row["payload"] is None
    everything = await running.pool.fetchval("select row_to_json(w)::text from webhook_inbox w")
    assert "ada.lovelace" not in everything
    assert "Analytical" not in everything


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("fulfillments/create", {"id": 255858046, "order_id": ORDER_ID}),
        ("refunds/create", {"id": 509562969, "order_id": ORDER_ID, "note": "damaged"}),
        ("orders/cancelled", {"id": ORDER_ID, "email": "ada.lovelace@example.com"}),
    ],
)
async def test_every_order_topic_stores_the_order_it_is_about(
    running: Running, http: aiohttp.ClientSession, topic: str, payload: dict[str, Any]
) -> None:
    assert (await deliver(http, running.url, _body(payload), topic=topic))[0] == 200
    (row,) = await running.stored()
    assert (row["topic"], row["order_id"], row["payload"]) == (topic, ORDER_GID, None)


async def test_a_compliance_delivery_stores_its_orders_not_its_customer(
    running: Running, http: aiohttp.ClientSession
) -> None:
    status, _ = await deliver(http, running.url, _body(REDACT_PAYLOAD), topic="customers/redact")
    assert status == 200
    (row,) = await running.stored()
    assert (row["topic"], row["order_id"]) == ("customers/redact", None)
    assert json.loads(row["payload"]) == {"orders_to_redact": REDACT_PAYLOAD["orders_to_redact"]}


async def test_a_redelivery_is_acknowledged_and_stored_once(
    running: Running, http: aiohttp.ClientSession
) -> None:
    assert (await deliver(http, running.url, webhook_id="webhook-1"))[0] == 200
    assert (await deliver(http, running.url, webhook_id="webhook-2"))[0] == 200
    assert len(await running.stored()) == 1
    assert running.count("ordergate_webhooks_duplicate_total", topic="orders/updated") == 1


async def test_without_an_event_id_the_webhook_id_identifies_a_redelivery(
    running: Running, http: aiohttp.ClientSession
) -> None:
    for _ in range(2):
        assert (await deliver(http, running.url, event_id=None, webhook_id="webhook-9"))[0] == 200
    (row,) = await running.stored()
    assert row["delivery_id"] == "webhook-9"


async def test_two_events_about_one_order_are_both_stored(
    running: Running, http: aiohttp.ClientSession
) -> None:
    await deliver(http, running.url, event_id="event-1")
    await deliver(http, running.url, event_id="event-2")
    assert [row["delivery_id"] for row in await running.stored()] == ["event-1", "event-2"]


async def test_a_wrong_secret_is_refused_and_nothing_is_stored(
    running: Running, http: aiohttp.ClientSession
) -> None:
    body = _body(ORDER_PAYLOAD)
    assert await deliver(http, running.url, body, signature=sign(body, "not-the-secret")) == (
        401,
        b"",
    )
    assert await running.stored() == []
    assert running.count("ordergate_webhooks_rejected_total", reason="signature") == 1


@pytest.mark.parametrize("signature", ["", "not base64!", "a" * 64])
async def test_an_empty_or_malformed_signature_is_refused(
    running: Running, http: aiohttp.ClientSession, signature: str
) -> None:
    assert await deliver(http, running.url, signature=signature) == (401, b"")
    assert await running.stored() == []


async def test_a_body_altered_by_one_byte_is_refused(
    running: Running, http: aiohttp.ClientSession
) -> None:
    body = _body(ORDER_PAYLOAD)
    altered = body.replace(b"Lovelace", b"Lovelacf")
    assert await deliver(http, running.url, altered, signature=sign(body, SECRET)) == (401, b"")
    assert await running.stored() == []


async def test_another_shop_is_refused_even_when_signed(
    running: Running, http: aiohttp.ClientSession
) -> None:
    assert await deliver(http, running.url, shop="other-shop.myshopify.com") == (401, b"")
    assert await deliver(http, running.url, shop=None) == (401, b"")
    assert await running.stored() == []
    assert running.count("ordergate_webhooks_rejected_total", reason="shop") == 2


async def test_the_shop_domain_is_compared_without_regard_to_case(
    running: Running, http: aiohttp.ClientSession
) -> None:
    assert (await deliver(http, running.url, shop="Demo.MyShopify.com"))[0] == 200


async def test_an_unknown_topic_is_acknowledged_and_not_stored(
    running: Running, http: aiohttp.ClientSession
) -> None:
    assert await deliver(http, running.url, topic="products/update") == (200, b"")
    assert await running.stored() == []
    assert running.count("ordergate_webhooks_ignored_total", reason="unknown_topic") == 1


async def test_a_signed_body_that_is_not_a_json_object_is_acknowledged_and_dropped(
    running: Running, http: aiohttp.ClientSession
) -> None:
    assert (await deliver(http, running.url, b"[1, 2, 3]"))[0] == 200
    assert (await deliver(http, running.url, b"\xff{", event_id="event-2"))[0] == 200
    assert await running.stored() == []
    assert running.count("ordergate_webhooks_ignored_total", reason="malformed") == 2


async def test_an_order_topic_naming_no_order_is_acknowledged_and_dropped(
    running: Running, http: aiohttp.ClientSession
) -> None:
    body = _body({"id": 255858046, "status": "success"})
    assert (await deliver(http, running.url, body, topic="fulfillments/update"))[0] == 200
    assert await running.stored() == []
    assert running.count("ordergate_webhooks_ignored_total", reason="no_order") == 1


async def test_an_oversized_body_is_refused_with_413(
    running: Running, http: aiohttp.ClientSession
) -> None:
    body = _body({**ORDER_PAYLOAD, "note": "x" * MAX_BODY_BYTES})
    assert (await deliver(http, running.url, body))[0] == 413
    assert await running.stored() == []
    assert running.count("ordergate_webhooks_rejected_total", reason="too_large") == 1


async def test_an_oversized_chunked_body_is_refused_while_it_arrives(
    running: Running, http: aiohttp.ClientSession
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"x" * 1024

    status, _ = await deliver(http, running.url, chunks(), signature="irrelevant")
    assert status == 413
    assert await running.stored() == []


async def test_a_body_just_under_the_cap_is_accepted(
    running: Running, http: aiohttp.ClientSession
) -> None:
    body = _body({**ORDER_PAYLOAD, "note": ""})
    body = body[:-1] + b',"pad":"' + b"x" * (MAX_BODY_BYTES - len(body) - 9) + b'"}'
    assert len(body) == MAX_BODY_BYTES
    assert (await deliver(http, running.url, body))[0] == 200


async def test_the_answer_comes_within_one_second(
    running: Running, http: aiohttp.ClientSession
) -> None:
    await deliver(http, running.url, event_id="warm-up")  # the connection, the pool
    started = time.monotonic()
    status, _ = await deliver(http, running.url, event_id="timed")
    assert status == 200
    assert time.monotonic() - started < 1.0


async def test_only_post_is_served(running: Running, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{running.url}/webhooks/shopify") as response:
        assert response.status == 405


async def test_postgres_unreachable_answers_503_so_shopify_delivers_again(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    database_url = await make_database()
    proxy = TcpProxy(database_url)
    await proxy.start()
    settings = sandbox_settings(proxy.dsn, sandbox, SHOPIFY_WEBHOOK_SECRET=SECRET)
    app = create_app(settings)
    async with serving(app) as url:
        await proxy.cut()
        started = time.monotonic()
        status, _ = await deliver(http, url)
        assert status == 503
        assert time.monotonic() - started < 5.0  # Shopify's own patience
        await proxy.start()  # back, as Shopify retries
        assert (await deliver(http, url))[0] == 200
    await proxy.cut()
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("select count(*) from webhook_inbox") == 1
    finally:
        await conn.close()


async def test_without_a_secret_every_delivery_is_refused(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    async with running_app(sandbox_settings(await make_database(), sandbox)) as app:
        assert await deliver(http, app.url) == (401, b"")
        assert await app.stored() == []
        assert app.count("ordergate_webhooks_rejected_total", reason="unconfigured") == 1


async def test_the_client_secret_verifies_webhooks_when_no_webhook_secret_is_set(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    settings = sandbox_settings(
        await make_database(),
        sandbox,
        SHOPIFY_ADMIN_TOKEN=None,
        SHOPIFY_CLIENT_ID=sandbox.client_id,
        SHOPIFY_CLIENT_SECRET=SECRET,
    )
    async with running_app(settings) as app:
        assert (await deliver(http, app.url))[0] == 200


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_the_webhook_secret_wins_over_the_client_secret() -> None:
    settings = _settings(
        SHOPIFY_CLIENT_ID="id",
        SHOPIFY_CLIENT_SECRET="client-secret",
        SHOPIFY_WEBHOOK_SECRET="webhook-secret",
    )
    assert settings.webhook_secret_value() == "webhook-secret"
    assert _settings(
        SHOPIFY_CLIENT_ID="id", SHOPIFY_CLIENT_SECRET="client-secret"
    ).webhook_secret_value() == ("client-secret")
    assert _settings().webhook_secret_value() is None


async def test_on_the_built_in_sandbox_deliveries_come_from_the_sandboxs_shop(
    make_database: DatabaseFactory, http: aiohttp.ClientSession
) -> None:
    settings = _settings(
        DATABASE_URL=await make_database(),
        SHOPIFY_WEBHOOK_SECRET=SECRET,
        ORDERGATE_METRICS_PORT=0,
    )
    assert settings.uses_sandbox
    async with running_app(settings) as app:
        assert (await deliver(http, app.url, shop=SANDBOX_SHOP_DOMAIN))[0] == 200
        assert (await deliver(http, app.url, shop=SHOP, event_id="event-2"))[0] == 401
        assert len(await app.stored()) == 1
