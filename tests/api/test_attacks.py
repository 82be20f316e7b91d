"""The public surface tried as an attacker would: existence oracles, lock-out, alias
multiplication, pool exhaustion and budget spent without a valid contact."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.app import create_app
from service.client_address import parse_networks
from service.connections import ConnectionLimits
from service.sandbox.server import SandboxShop, start_sandbox
from tests.api.conftest import Answer, post_graphql, sandbox_settings, serving
from tests.conftest import DatabaseFactory

LOOKUP = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { number } userErrors { code message } } }"""
CANCEL = """mutation ($n: String!, $c: String!) { requestCancellation(input: {orderNumber: $n,
  contact: $c, reason: CHANGED_MIND}) { request { status } userErrors { code } } }"""
EXISTING, UNKNOWN = "#1002", "#9999"
BJORN = "bjorn.hansen@example.com"
ODD_CONTACTS = [
    "a\ud800",  # a lone surrogate: made the contact check raise
    "\x00",
    "\ud83d",
    "\uff42\uff4a\uff4f\uff52\uff4e@example.com",  # fullwidth forms
    "x" * 320,
    "\u202ebjorn.hansen@example.com",
    "😀",
]
# Refused as INVALID_INPUT before any order is read: by the lookup and both mutations alike.
MISSING_OR_TOO_LONG = [("", "contact"), ("   ", "contact"), ("x" * 321, "contact")]
HIGH_LIMITS = {"ORDERGATE_LIMIT_PER_CLIENT": "100000/minute"}


@asynccontextmanager
async def app(
    make_database: DatabaseFactory, shop: SandboxShop, **overrides: Any
) -> AsyncIterator[str]:
    settings = sandbox_settings(await make_database(), shop, **{**HIGH_LIMITS, **overrides})
    # As `ordergate serve` does: the trusted proxies are exempt from the per-peer connection cap.
    connections = ConnectionLimits(trusted_proxies=parse_networks(settings.trusted_proxies))
    async with serving(create_app(settings), connections=connections) as url:
        yield url


async def lookup(http: aiohttp.ClientSession, url: str, number: str, contact: str) -> Answer:
    return await post_graphql(http, url, LOOKUP, {"n": number, "c": contact})


def lookups(shop: SandboxShop) -> int:
    return sum(call.operation_name == "OrderLookup" for call in shop.calls)


async def test_odd_contacts_answer_alike_for_existing_and_unknown_orders(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    async with app(make_database, sandbox, ORDERGATE_LIMIT_PER_ORDER="1000/hour") as url:
        for contact in ODD_CONTACTS:
            existing = await lookup(http, url, EXISTING, contact)
            unknown = await lookup(http, url, UNKNOWN, contact)
            assert (existing.status, existing.text) == (unknown.status, unknown.text), contact
            assert existing.body["data"]["orderStatus"]["userErrors"][0]["code"] == (
                "ORDER_NOT_FOUND"
            )


REPORT = """mutation ($n: String!, $c: String!) { reportNotReceived(input: {orderNumber: $n,
  contact: $c}) { request { status } userErrors { code field } } }"""


@pytest.mark.parametrize(("contact", "field"), [*MISSING_OR_TOO_LONG, ("bjorn", "orderNumber")])
async def test_an_empty_or_over_long_field_is_invalid_input_for_all_three_alike(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    contact: str,
    field: str,
) -> None:
    numbers = ("", " ") if field == "orderNumber" else (EXISTING, UNKNOWN)
    async with app(make_database, sandbox) as url:
        looked = [await lookup(http, url, number, contact) for number in numbers]
        cancelled = [
            await post_graphql(http, url, CANCEL, {"n": number, "c": contact}) for number in numbers
        ]
        reported = [
            await post_graphql(http, url, REPORT, {"n": number, "c": contact}) for number in numbers
        ]
    assert looked[0].text == looked[1].text
    assert looked[0].body["data"]["orderStatus"]["userErrors"][0]["code"] == "INVALID_INPUT"
    for answers, name in ((cancelled, "requestCancellation"), (reported, "reportNotReceived")):
        assert answers[0].text == answers[1].text
        (error,) = answers[0].body["data"][name]["userErrors"]
        assert error["code"] == "INVALID_INPUT"
    assert lookups(sandbox) == 0


async def test_odd_contacts_count_toward_the_order_lock(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    limit = {"ORDERGATE_LIMIT_PER_ORDER": f"{len(ODD_CONTACTS)}/hour"}
    async with app(make_database, sandbox, **limit) as url:
        for contact in ODD_CONTACTS:
            assert (await lookup(http, url, EXISTING, contact)).status == 200
        locked = await lookup(http, url, EXISTING, BJORN)
    assert locked.body["data"]["orderStatus"]["userErrors"][0]["code"] == "VERIFICATION_REQUIRED"


@pytest.fixture(scope="module")
async def lenient_app(
    make_database: DatabaseFactory,
) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """One app for every generated example: a database and a server per example made this
    property the slowest test of the suite, and nothing in it depends on a fresh state."""
    shop = await start_sandbox()
    try:
        async with (
            aiohttp.ClientSession() as http,
            app(make_database, shop, ORDERGATE_LIMIT_PER_ORDER="100000/hour") as url,
        ):
            yield http, url
    finally:
        await shop.close()


@settings(max_examples=100, deadline=None)
@given(contact=st.text(max_size=400))
async def test_any_contact_answers_byte_identically_for_existing_and_unknown(
    lenient_app: tuple[aiohttp.ClientSession, str], contact: str
) -> None:
    http, url = lenient_app
    existing = await lookup(http, url, EXISTING, contact)
    unknown = await lookup(http, url, UNKNOWN, contact)
    assert (existing.status, existing.text) == (unknown.status, unknown.text)


async def test_aliased_lookups_are_refused_before_any_count_or_call(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    fields = " ".join(
        f'a{i}: orderStatus(orderNumber: "#100{i % 9 + 1}", contact: "x@example.org")'
        " { order { number } }"
        for i in range(12)
    )
    async with app(make_database, sandbox, ORDERGATE_LIMIT_PER_ORDER="1/hour") as url:
        refused = await post_graphql(http, url, f"query {{ {fields} }}")
        still_open = await lookup(http, url, "#1001", "ada.lovelace@example.com")
    assert "one orderStatus per request" in refused.body["errors"][0]["message"]
    assert lookups(sandbox) == 1  # only the real customer's
    assert still_open.body["data"]["orderStatus"]["order"]["number"] == "#1001"


async def test_concurrent_guesses_get_only_the_tries_left(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    async with app(
        make_database, sandbox, ORDERGATE_LIMIT_PER_ORDER="10/hour",
        ORDERGATE_ORDER_CACHE_SECONDS="0",
    ) as url:  # fmt: skip
        for guess in range(9):
            await lookup(http, url, EXISTING, f"guess{guess}@example.org")
        answers = await asyncio.gather(
            *(lookup(http, url, EXISTING, f"burst{n}@example.org") for n in range(16))
        )
    # One guess got the last try; the other fifteen met the lock (the code step).
    answered = sorted(a.body["data"]["orderStatus"]["userErrors"][0]["code"] for a in answers)
    assert answered == ["ORDER_NOT_FOUND"] + ["VERIFICATION_REQUIRED"] * 15


async def test_three_hundred_concurrent_requests_through_redis_get_no_503(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    redis_url: str,
) -> None:
    connector = aiohttp.TCPConnector(limit=300)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        app(
            make_database,
            sandbox,
            REDIS_URL=redis_url,
            ORDERGATE_LIMIT_PER_ORDER="1000/hour",
            ORDERGATE_TRUSTED_PROXIES="127.0.0.0/8",  # as behind a gateway: one peer
        ) as url,
    ):
        answers = await asyncio.gather(
            *(lookup(http, url, f"#10{n % 14 + 1:02d}", "x@example.org") for n in range(300))
        )
    assert [answer.status for answer in answers if answer.status != 200] == []


async def test_an_outage_answers_alike_for_cached_existing_and_unknown_orders(
    make_database: DatabaseFactory, http: aiohttp.ClientSession
) -> None:
    shop = await start_sandbox()
    try:
        async with app(make_database, shop, ORDERGATE_ORDER_CACHE_SECONDS="300") as url:
            await lookup(http, url, EXISTING, "wrong@example.org")
            await lookup(http, url, UNKNOWN, "wrong@example.org")
            await shop.close()  # Shopify goes away; the snapshots stay cached
            existing = await lookup(http, url, EXISTING, "wrong@example.org")
            unknown = await lookup(http, url, UNKNOWN, "wrong@example.org")
            uncached_existing = await lookup(http, url, "#1003", "wrong@example.org")
            uncached_unknown = await lookup(http, url, "#9998", "wrong@example.org")
    finally:
        await shop.close()
    assert existing.text == unknown.text
    assert "ORDER_NOT_FOUND" in existing.text
    assert uncached_existing.text == uncached_unknown.text
    assert "UPSTREAM_UNAVAILABLE" in uncached_existing.text


async def test_lookups_cannot_starve_the_read_a_cancellation_decides_on(
    make_database: DatabaseFactory, http: aiohttp.ClientSession
) -> None:
    # A bucket so small that after one lookup the lookups' reserve is never there again.
    shop = await start_sandbox(bucket_size=200.0, restore_rate=1.0)
    try:
        async with app(make_database, shop) as url:
            await lookup(http, url, "#1001", "ada.lovelace@example.com")
            starved = await lookup(http, url, EXISTING, BJORN)
            cancelled = await post_graphql(
                http, url, CANCEL, {"n": "#1001", "c": "ada.lovelace@example.com"}
            )
    finally:
        await shop.close()
    assert "UPSTREAM_UNAVAILABLE" in starved.text
    assert cancelled.body["data"]["requestCancellation"]["request"]["status"] == "CANCELLED"
