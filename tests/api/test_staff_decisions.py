"""Staff decide in the (sandbox) Shopify admin; its signed webhooks reach ordergate, which
settles the customer's request within seconds and e-mails the outcome (CONTRACT §6)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from service.app import create_app
from service.mail.dev_mailbox import DevMailbox
from service.sandbox.server import SandboxShop, start_sandbox
from service.webhooks.signature import sign
from tests.api.conftest import post_graphql, sandbox_settings, serving
from tests.conftest import DatabaseFactory

SECRET = "webhook-secret-for-the-tests"
LOOKUP = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { cancelledAt requests { kind status resolution } } userErrors { code } } }"""
CANCEL = """mutation ($n: String!, $c: String!) { requestCancellation(input: {orderNumber: $n,
  contact: $c, reason: CHANGED_MIND}) { request { status } userErrors { code } } }"""
REPORT = """mutation ($n: String!, $c: String!) { reportNotReceived(input: {orderNumber: $n,
  contact: $c}) { request { status } userErrors { code } } }"""
LARS = {"n": "#1012", "c": "lars.petersen@example.com"}  # high risk: goes to review
INGRID = {"n": "#1009", "c": "ingrid.svensson@example.com"}  # overdue: a report is accepted


@pytest.fixture
async def shop() -> AsyncIterator[SandboxShop]:
    sandbox = await start_sandbox(webhook_secret=SECRET)
    yield sandbox
    await sandbox.close()


@asynccontextmanager
async def app(
    make_database: DatabaseFactory,
    shop: SandboxShop,
    mailbox: DevMailbox,
    database: str | None = None,
    **overrides: Any,
) -> AsyncIterator[str]:
    settings = sandbox_settings(
        database or await make_database(),
        shop,
        SHOPIFY_SHOP=shop.shop_domain,
        SHOPIFY_WEBHOOK_SECRET=SECRET,
        SMTP_URL=mailbox.url,
        ORDERGATE_LIMIT_PER_CLIENT="100000/minute",  # the tests poll until staff's news shows
        **overrides,
    )
    async with serving(create_app(settings)) as url:
        shop.deliver_webhooks_to(f"{url}/webhooks/shopify")
        yield url


async def requests_of(http: aiohttp.ClientSession, url: str, who: dict[str, str]) -> Any:
    answer = await post_graphql(http, url, LOOKUP, who)
    return answer.body["data"]["orderStatus"]["order"]["requests"]


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 2.0) -> float:
    """Seconds until `check` holds; fails the test past `within`."""
    started = time.perf_counter()
    while not await check():
        if time.perf_counter() - started > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def settled_as(
    http: aiohttp.ClientSession, url: str, who: dict[str, str], status: str, resolution: str
) -> float:
    async def check() -> bool:
        (request,) = await requests_of(http, url, who)
        return bool(request["status"] == status and request["resolution"] == resolution)

    return await eventually(check)


@pytest.mark.parametrize(
    ("staff", "status", "resolution"),
    [("cancel", "CANCELLED", "CANCELLED"), ("release_hold", "DECLINED", "DECLINED")],
)
async def test_a_review_is_settled_as_staff_decide(
    make_database: DatabaseFactory,
    shop: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
    staff: str,
    status: str,
    resolution: str,
) -> None:
    async with app(make_database, shop, mailbox, ORDERGATE_ORDER_CACHE_SECONDS="300") as url:
        asked = await post_graphql(http, url, CANCEL, LARS)
        assert asked.body["data"]["requestCancellation"]["request"]["status"] == "PENDING_REVIEW"
        shop.staff_action(staff, "1012")
        await settled_as(http, url, LARS, status, resolution)
        mails = await asyncio.wait_for(mailbox.wait_for(2), timeout=10)  # receipt, outcome
    assert [mail.recipient for mail in mails] == ["lars.petersen@example.com"] * 2
    assert "#1012" in mails[-1].subject


@pytest.mark.parametrize(
    ("staff", "resolution"),
    [("refund", "REFUNDED"), ("ship_replacement", "RESHIPPED"), ("mark_delivered", "DELIVERED")],
)
async def test_a_missing_parcel_is_resolved_as_staff_decide(
    make_database: DatabaseFactory,
    shop: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
    staff: str,
    resolution: str,
) -> None:
    async with app(make_database, shop, mailbox) as url:
        filed = await post_graphql(http, url, REPORT, INGRID)
        assert filed.body["data"]["reportNotReceived"]["request"]["status"] == "OPEN"
        shop.staff_action(staff, "1009")
        await settled_as(http, url, INGRID, "RESOLVED", resolution)


async def test_a_long_lived_snapshot_is_refreshed_at_once_by_a_webhook(
    make_database: DatabaseFactory,
    shop: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    ada = {"n": "#1001", "c": "ada.lovelace@example.com"}
    async with app(make_database, shop, mailbox, ORDERGATE_ORDER_CACHE_SECONDS="300") as url:
        before = await post_graphql(http, url, LOOKUP, ada)
        shop.cancel("1001")  # staff cancel it in the admin; ordergate did not

        async def shows_cancelled() -> bool:
            answer = await post_graphql(http, url, LOOKUP, ada)
            return answer.body["data"]["orderStatus"]["order"]["cancelledAt"] is not None

        await eventually(shows_cancelled)
    assert before.body["data"]["orderStatus"]["order"]["cancelledAt"] is None


async def post_webhook(http: aiohttp.ClientSession, url: str, event: str, order_id: int) -> int:
    body = json.dumps(
        {"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}"}
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/updated",
        "X-Shopify-Hmac-Sha256": sign(body, SECRET),
        "X-Shopify-Shop-Domain": "sandbox.myshopify.com",
        "X-Shopify-Event-Id": event,
    }
    async with http.post(f"{url}/webhooks/shopify", data=body, headers=headers) as answer:
        return answer.status


def reads(shop: SandboxShop) -> int:
    return sum(call.operation_name == "OrderLookup" for call in shop.calls)


async def test_a_burst_of_webhooks_for_one_order_is_one_read(
    make_database: DatabaseFactory,
    shop: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    order_id = int(shop.store.order_named("#1012").id)
    # Twenty connections at a time: one peer may hold at most 32 (service/connections.py).
    connector = aiohttp.TCPConnector(limit=20)
    async with (
        app(make_database, shop, mailbox) as url,
        aiohttp.ClientSession(connector=connector) as burst,
    ):
        await asyncio.sleep(1.0)  # let start-up reads settle
        before = reads(shop)
        statuses = await asyncio.gather(
            *(post_webhook(burst, url, f"burst-{n}", order_id) for n in range(100))
        )
        await asyncio.sleep(1.5)
    assert set(statuses) == {200}
    assert reads(shop) - before == 1


async def test_a_delivery_acknowledged_before_a_stop_is_processed_after_it(
    make_database: DatabaseFactory,
    shop: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
) -> None:
    database = await make_database()
    async with app(make_database, shop, mailbox, database=database) as url:
        await post_graphql(http, url, CANCEL, LARS)
    # Staff cancel while ordergate is down; Shopify's delivery reaches the next process.
    shop.deliver_webhooks_to(None)
    shop.cancel("1012")
    async with app(make_database, shop, mailbox, database=database) as url:
        order_id = int(shop.store.order_named("#1012").id)
        assert await post_webhook(http, url, "after-restart", order_id) == 200
        await settled_as(http, url, LARS, "CANCELLED", "CANCELLED")


async def test_two_replicas_on_one_redis_show_every_change(
    make_database: DatabaseFactory,
    shop: SandboxShop,
    mailbox: DevMailbox,
    http: aiohttp.ClientSession,
    redis_url: str,
) -> None:
    # Each replica keeps snapshots in process for as long as webhooks allow (300 s here); a
    # change made through one reaches the other's copy by the next lookup.
    database, ada = await make_database(), {"n": "#1001", "c": "ada.lovelace@example.com"}
    shared = {"database": database, "REDIS_URL": redis_url}
    async with (
        app(make_database, shop, mailbox, **shared) as first,
        app(make_database, shop, mailbox, **shared) as second,
    ):
        for url in (first, second, first, second):  # both replicas hold both orders now
            assert await requests_of(http, url, LARS) == []
            assert await requests_of(http, url, ada) == []
        asked = await post_graphql(http, first, CANCEL, LARS)
        assert asked.body["data"]["requestCancellation"]["request"]["status"] == "PENDING_REVIEW"
        cancelled = await post_graphql(http, second, CANCEL, ada)
        assert cancelled.body["data"]["requestCancellation"]["request"]["status"] == "CANCELLED"
        for url in (second, first):  # the very next lookup, on either replica
            (request,) = await requests_of(http, url, LARS)
            assert request["status"] == "PENDING_REVIEW"
            answer = await post_graphql(http, url, LOOKUP, ada)
            order = answer.body["data"]["orderStatus"]["order"]
            assert order["cancelledAt"] is not None
            assert [request["status"] for request in order["requests"]] == ["CANCELLED"]
