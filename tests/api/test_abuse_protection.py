"""Limits, the per-order lock, client addresses, caching and the Admin budget, through the app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from service.app import create_app
from service.policy import load_policy
from service.runtime import redis_scope
from service.sandbox.server import SandboxShop, start_sandbox
from tests.api.conftest import (
    CONTACT_ONLY_POLICY,
    Answer,
    post_graphql,
    sandbox_settings,
    serving,
)
from tests.conftest import DatabaseFactory

STATUS = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { number cancelledAt requests { status } } userErrors { code } } }"""
CANCEL = """mutation { requestCancellation(input: {orderNumber: "#1001",
  contact: "ada.lovelace@example.com", reason: CHANGED_MIND}) { request { status } } }"""
ADA = {"n": "#1001", "c": "ada.lovelace@example.com"}
ELIGIBLE = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { cancellation { eligible } } userErrors { code } } }"""


@asynccontextmanager
async def app(
    make_database: DatabaseFactory, sandbox: SandboxShop, **settings: Any
) -> AsyncIterator[str]:
    async with serving(
        create_app(sandbox_settings(await make_database(), sandbox, **settings))
    ) as url:
        yield url


async def lookup(
    http: aiohttp.ClientSession, url: str, variables: dict[str, str], **headers: str
) -> Answer:
    return await post_graphql(http, url, STATUS, variables, headers or None)


def lookups(sandbox: SandboxShop) -> int:
    return sum(call.operation_name == "OrderLookup" for call in sandbox.calls)


async def test_client_over_its_limit_gets_429_before_any_shopify_call(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    async with app(make_database, sandbox, ORDERGATE_LIMIT_PER_CLIENT="3/minute") as url:
        answers = [await lookup(http, url, {"n": f"#9{i}", "c": "x@example.com"}) for i in range(4)]
    assert [answer.status for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert int(refused.headers["Retry-After"]) > 0
    (error,) = refused.body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == int(refused.headers["Retry-After"])
    assert lookups(sandbox) == 3


async def test_every_request_counts_toward_the_client_limit_wherever_it_ends(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    # After the first request, this replica has seen the client with room to spare, so each
    # count waits for the request's first order check, and these make none.
    async with app(make_database, sandbox, ORDERGATE_LIMIT_PER_CLIENT="4/minute") as url:
        statuses = [(await lookup(http, url, ADA)).status]
        statuses.append((await post_graphql(http, url, "{ __typename }")).status)
        json_type = {"Content-Type": "application/json"}
        async with http.post(f"{url}/graphql", data="{", headers=json_type) as refused_by_the_guard:
            statuses.append(refused_by_the_guard.status)
        statuses += [(await lookup(http, url, ADA)).status for _ in range(2)]
    assert statuses == [200, 200, 400, 200, 429]


async def test_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    async with app(make_database, sandbox, ORDERGATE_LIMIT_PER_CLIENT="2/minute") as url:
        statuses = [
            (await lookup(http, url, ADA, **{"X-Forwarded-For": f"203.0.113.{i}"})).status
            for i in range(3)
        ]
    assert statuses == [200, 200, 429]


async def test_failed_contacts_step_the_order_up_for_every_address(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    async with app(
        make_database, sandbox, ORDERGATE_LIMIT_PER_ORDER="5/hour",
        ORDERGATE_TRUSTED_PROXIES="127.0.0.0/8",
    ) as url:  # fmt: skip
        for guess in range(5):
            wrong = {"n": "#1001", "c": f"guess{guess}@example.com"}
            answer = await lookup(http, url, wrong, **{"X-Forwarded-For": f"198.51.100.{guess}"})
            assert answer.body["data"]["orderStatus"]["userErrors"][0]["code"] == "ORDER_NOT_FOUND"
        before = lookups(sandbox)
        locked = await lookup(http, url, ADA, **{"X-Forwarded-For": "192.0.2.77"})
        other_order = await lookup(
            http, url, {"n": "#1002", "c": "bjorn.hansen@example.com"},
            **{"X-Forwarded-For": "192.0.2.77"},
        )  # fmt: skip
    # Locked: not a 429 the customer cannot get past, but the code step (CONTRACT §5).
    assert locked.status == 200
    assert locked.body["data"]["orderStatus"]["userErrors"][0]["code"] == "VERIFICATION_REQUIRED"
    assert lookups(sandbox) == before + 1  # only the other order reached Shopify
    assert other_order.body["data"]["orderStatus"]["order"]["number"] == "#1002"


async def test_an_order_held_in_process_is_locked_on_every_replica_the_same(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    redis_url: str,
) -> None:
    # With Redis and webhooks each replica keeps Ada's snapshot in process, where a lookup
    # compares the contact before counting it: failed checks must lock all the same.
    settings = {
        "ORDERGATE_LIMIT_PER_ORDER": "5/hour",
        "ORDERGATE_TRUSTED_PROXIES": "127.0.0.0/8",
        "REDIS_URL": redis_url,
        "SHOPIFY_WEBHOOK_SECRET": "webhook-secret-for-the-tests",
    }
    database = await make_database()
    async with (
        serving(create_app(sandbox_settings(database, sandbox, **settings))) as first,
        serving(create_app(sandbox_settings(database, sandbox, **settings))) as second,
    ):
        for url in (first, second, first, second):  # read once, then held by both replicas
            answer = await lookup(http, url, ADA)
            assert answer.body["data"]["orderStatus"]["order"]["number"] == "#1001"
        before = lookups(sandbox)
        for guess in range(5):
            wrong = {"n": "#1001", "c": f"guess{guess}@example.com"}
            answer = await lookup(http, first, wrong, **{"X-Forwarded-For": f"198.51.100.{guess}"})
            assert answer.body["data"]["orderStatus"]["userErrors"][0]["code"] == "ORDER_NOT_FOUND"
        for url in (first, second):
            for who in (ADA, {"n": "#1001", "c": "guess9@example.com"}):
                locked = await lookup(http, url, who, **{"X-Forwarded-For": "192.0.2.77"})
                (error,) = locked.body["data"]["orderStatus"]["userErrors"]
                assert error["code"] == "VERIFICATION_REQUIRED"
    assert lookups(sandbox) == before  # every answer came from a snapshot already held


async def test_a_policy_without_non_cancellable_tags_never_asks_for_product_tags(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    contact_only = load_policy(CONTACT_ONLY_POLICY)
    untagged = contact_only.cancellation.model_copy(update={"non_cancellable_tags": ()})
    policy = contact_only.model_copy(update={"cancellation": untagged})
    settings = sandbox_settings(await make_database(), sandbox)
    camille = {"n": "#1003", "c": "camille.dubois@example.com"}  # a product tagged so
    async with serving(create_app(settings, policy=policy)) as url:
        answer = await post_graphql(http, url, ELIGIBLE, camille)
    assert answer.body["data"]["orderStatus"]["order"]["cancellation"]["eligible"] is True
    assert {call.operation_name for call in sandbox.calls} == {"OrderLookupWithoutProductTags"}


async def test_limits_are_shared_by_two_instances_through_redis(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    redis_url: str,
) -> None:
    settings = {"ORDERGATE_LIMIT_PER_CLIENT": "4/minute", "REDIS_URL": redis_url}
    database = await make_database()
    async with (
        serving(create_app(sandbox_settings(database, sandbox, **settings))) as first,
        serving(create_app(sandbox_settings(database, sandbox, **settings))) as second,
    ):
        statuses = [(await lookup(http, url, ADA)).status for url in (first, second) * 3]
    assert statuses == [200, 200, 200, 200, 429, 429]


@asynccontextmanager
async def redis_commands(redis_url: str) -> AsyncIterator[list[str]]:
    """Every command clients send the Redis server meanwhile, as MONITOR prints it (not the
    commands scripts run)."""
    seen: list[str] = []
    client = aioredis.Redis.from_url(redis_url)
    async with client.monitor() as monitor:
        await monitor.connect()

        async def listen() -> None:
            while True:
                command = await monitor.next_command()
                if command["client_type"] != "lua":
                    seen.append(command["command"])

        listening = asyncio.create_task(listen())
        try:
            yield seen
            await asyncio.sleep(0.05)  # MONITOR reports what ran a moment behind
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
    await client.aclose()


async def test_a_cached_lookup_takes_both_limits_in_one_redis_round_trip(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    redis_url: str,
) -> None:
    scope = redis_scope(sandbox.endpoint)  # this shop's keys, apart from other tests'
    async with app(make_database, sandbox, REDIS_URL=redis_url) as url:
        await lookup(http, url, ADA)  # reads the order, counted at the door: a new client
        async with redis_commands(redis_url) as commands:
            answer = await lookup(http, url, ADA)
        assert answer.body["data"]["orderStatus"]["order"]["number"] == "#1001"
        limit_calls = [command for command in commands if f"{scope}:limit:" in command]
        # The client's count and the order's lock, one script over both keys.
        assert len(limit_calls) == 1, limit_calls
        assert f"{scope}:limit:client:" in limit_calls[0]
        assert f"{scope}:limit:order:" in limit_calls[0]


async def test_sixty_aliases_for_one_order_make_at_most_one_admin_call(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    fields = " ".join(
        f'a{i}: orderStatus(orderNumber: "#1001", contact: "ada.lovelace@example.com")'
        " { order { number } }"
        for i in range(60)
    )
    async with app(make_database, sandbox) as url:
        answer = await post_graphql(http, url, f"query {{ {fields} }}")
    assert answer.status == 200
    assert lookups(sandbox) <= 1
    assert "errors" in answer.body  # more aliases than the document limit allows


async def test_repeated_lookups_are_served_from_the_cache(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    # Each lookup holds one of the order's tries while it is answered (returned when the
    # contact matched), so twenty at once need a per-order limit of more than twenty.
    async with app(make_database, sandbox, ORDERGATE_LIMIT_PER_ORDER="30/hour") as url:
        answers = await asyncio.gather(*(lookup(http, url, ADA) for _ in range(20)))
    assert {answer.body["data"]["orderStatus"]["order"]["number"] for answer in answers} == {
        "#1001"
    }
    assert lookups(sandbox) == 1


async def test_a_cancellation_is_visible_at_once_despite_the_cache(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    async with app(make_database, sandbox) as url:
        before = await lookup(http, url, ADA)
        assert before.body["data"]["orderStatus"]["order"]["cancelledAt"] is None
        await post_graphql(http, url, CANCEL)
        after = await lookup(http, url, ADA)
    order = after.body["data"]["orderStatus"]["order"]
    assert order["cancelledAt"] is not None
    assert order["requests"] == [{"status": "CANCELLED"}]


async def test_throttled_shop_is_waited_for_within_the_bound(
    make_database: DatabaseFactory, http: aiohttp.ClientSession
) -> None:
    # A bucket that holds two lookups and refills one every half second.
    shop = await start_sandbox(bucket_size=300.0, restore_rate=300.0)
    try:
        async with app(make_database, shop) as url:
            answers = await asyncio.gather(
                *(
                    lookup(http, url, {"n": f"#10{i:02d}", "c": "x@example.com"})
                    for i in range(1, 7)
                )
            )
    finally:
        await shop.close()
    for answer in answers:
        assert answer.body["data"]["orderStatus"]["userErrors"][0]["code"] == "ORDER_NOT_FOUND"
    assert lookups(shop) >= 6
