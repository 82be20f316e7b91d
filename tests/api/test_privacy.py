"""Personal data end to end (CONTRACT §7): a customer's report, Shopify's compliance webhooks,
and a dump of the database afterwards."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from service.app import create_app
from service.mail.dev_mailbox import DevMailbox
from service.sandbox.server import SandboxShop, start_sandbox
from service.storage.audit import verify
from service.webhooks.signature import sign
from tests.api.conftest import post_graphql, sandbox_settings, serving
from tests.api.test_staff_decisions import eventually
from tests.conftest import DatabaseFactory
from tests.test_cli import run

SECRET = "webhook-secret-for-the-privacy-tests"
REPORT = """mutation ($n: String!, $c: String!, $m: String) { reportNotReceived(input:
  {orderNumber: $n, contact: $c, comment: $m}) { request { status } userErrors { code } } }"""
CANCEL = """mutation ($n: String!, $c: String!, $m: String) { requestCancellation(input:
  {orderNumber: $n, contact: $c, reason: OTHER, comment: $m}) { request { status } } }"""
INGRID = {"n": "#1009", "c": "ingrid.svensson@example.com"}
ADA = {"n": "#1001", "c": "ada.lovelace@example.com"}


@pytest.fixture
async def shop() -> AsyncIterator[SandboxShop]:
    sandbox = await start_sandbox(webhook_secret=SECRET)
    yield sandbox
    await sandbox.close()


@pytest.fixture
async def database(make_database: DatabaseFactory) -> str:
    return await make_database()


@pytest.fixture
async def url(database: str, shop: SandboxShop, mailbox: DevMailbox) -> AsyncIterator[str]:
    settings = sandbox_settings(
        database,
        shop,
        SHOPIFY_SHOP=shop.shop_domain,
        SHOPIFY_WEBHOOK_SECRET=SECRET,
        SMTP_URL=mailbox.url,
        ORDERGATE_TRUSTED_PROXIES="127.0.0.0/8",
    )
    async with serving(create_app(settings)) as base:
        yield base


async def compliance(
    http: aiohttp.ClientSession, url: str, topic: str, payload: dict[str, Any]
) -> int:
    body = json.dumps({"shop_id": 1, "shop_domain": "sandbox.myshopify.com", **payload}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body, SECRET),
        "X-Shopify-Shop-Domain": "sandbox.myshopify.com",
        "X-Shopify-Event-Id": str(uuid.uuid4()),
    }
    async with http.post(f"{url}/webhooks/shopify", data=body, headers=headers) as answer:
        return answer.status


def dump(dsn: str) -> str:
    result = subprocess.run(
        ["pg_dump", "--data-only", dsn], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


async def erased(dsn: str, order_id: str | None = None) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(
            await conn.fetchval(
                "select count(*) > 0 from audit_events where operation = 'privacy.erased' "
                "and ($1::text is null or order_id = $1)",
                order_id,
            )
        )
    finally:
        await conn.close()


async def test_customers_redact_erases_the_order_and_the_chain_still_holds(
    http: aiohttp.ClientSession, url: str, database: str
) -> None:
    comment, address = f"PRIVACY-MARK {uuid.uuid4()}", "198.51.100.173"
    variables = {**INGRID, "m": comment}
    answer = await post_graphql(http, url, REPORT, variables, {"X-Forwarded-For": address})
    assert answer.body["data"]["reportNotReceived"]["request"]["status"] == "OPEN"
    before = await asyncio.to_thread(
        run, "privacy", "export", "--order", "#1009", env={"DATABASE_URL": database}
    )
    assert comment in before.stdout, before.stderr
    assert address in before.stdout
    gid = json.loads(before.stdout)["order_id"]

    payload = {
        "customer": {"id": 7, "email": INGRID["c"], "phone": "+4790000009"},
        "orders_to_redact": [int(gid.rsplit("/", 1)[1])],
    }
    assert await compliance(http, url, "customers/redact", payload) == 200
    await eventually(lambda: erased(database, gid), within=10.0)

    dumped = await asyncio.to_thread(dump, database)
    assert comment not in dumped
    assert address not in dumped
    assert INGRID["c"] not in dumped
    assert "+4790000009" not in dumped
    after = await asyncio.to_thread(
        run, "privacy", "export", "--order", "1009", env={"DATABASE_URL": database}
    )
    document = json.loads(after.stdout)
    assert comment not in after.stdout
    assert address not in after.stdout
    assert document["requests"][0]["kind"] == "NOT_RECEIVED"
    conn = await asyncpg.connect(database)
    try:
        assert (await verify(conn=conn)).intact
        async with conn.transaction():
            await conn.execute("set local session_replication_role = replica")
            await conn.execute(
                "update audit_events set outcome = 'RESOLVED' where seq = "
                "(select min(seq) from audit_events where order_id = $1)",
                gid,
            )
        assert not (await verify(conn=conn)).intact
    finally:
        await conn.close()


async def test_shop_redact_leaves_no_personal_data(
    http: aiohttp.ClientSession, url: str, database: str
) -> None:
    marks = [f"PRIVACY-MARK {uuid.uuid4()}" for _ in range(2)]
    for who, mark, address in ((INGRID, marks[0], "198.51.100.91"), (ADA, marks[1], "2001:db8::9")):
        document = REPORT if who is INGRID else CANCEL
        await post_graphql(http, url, document, {**who, "m": mark}, {"X-Forwarded-For": address})
    request = {"orders_requested": [99], "data_request": {"id": 42}, "customer": {"id": 7}}
    assert await compliance(http, url, "customers/data_request", request) == 200

    assert await compliance(http, url, "shop/redact", {}) == 200
    await eventually(lambda: erased(database), within=10.0)

    dumped = await asyncio.to_thread(dump, database)
    for personal in (*marks, "198.51.100.91", "2001:db8::9", INGRID["c"], ADA["c"]):
        assert personal not in dumped
    assert "privacy.data_request" in dumped


LOOKUP = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { number } } }"""


def reads(shop: SandboxShop) -> int:
    return sum((call.operation_name or "").startswith("OrderLookup") for call in shop.calls)


async def test_customers_redact_drops_the_orders_cached_snapshot(
    http: aiohttp.ClientSession, url: str, database: str, shop: SandboxShop
) -> None:
    # With webhooks, a snapshot (the order's e-mail and phone in it) lives for minutes: an
    # erasure must not leave it to be served from memory or Redis.
    await post_graphql(http, url, REPORT, {**INGRID, "m": "where is it"})
    await post_graphql(http, url, LOOKUP, INGRID)
    cached = reads(shop)
    await post_graphql(http, url, LOOKUP, INGRID)
    assert reads(shop) == cached  # served from the cache
    gid = await order_gid(database, "#1009")

    payload = {"customer": {"id": 7}, "orders_to_redact": [int(gid.rsplit("/", 1)[1])]}
    assert await compliance(http, url, "customers/redact", payload) == 200
    await eventually(lambda: erased(database, gid), within=10.0)

    await post_graphql(http, url, LOOKUP, INGRID)
    assert reads(shop) == cached + 1


async def order_gid(dsn: str, name: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        gid: str = await conn.fetchval(
            "select order_id from customer_requests where order_name = $1", name
        )
        return gid
    finally:
        await conn.close()
