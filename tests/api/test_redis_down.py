"""Redis cut or blackholed: storefronts are still served, with limits kept per replica, and
the app goes back to Redis by itself when it returns."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import aiohttp
from starlette.applications import Starlette

from service.app import create_app
from service.sandbox.server import SandboxShop
from tests.api.conftest import Answer, post_graphql, sandbox_settings, serving
from tests.conftest import DatabaseFactory
from tests.tcp_proxy import TcpProxy

STATUS = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { number } userErrors { code } } }"""
ADA = {"n": "#1001", "c": "ada.lovelace@example.com"}
# Shared through Redis: 4 a minute per client. In process: half of it, per replica.
PER_CLIENT = "4/minute"
FIRST_ANSWER_BOUND = 3.0  # a socket timeout (2 s) opens the breaker, then no more waits
ANSWER_BOUND = 0.5


class RedisProxy(TcpProxy):
    """The TCP proxy in front of Redis, which can also go silent (a blackhole: it accepts
    connections and swallows what it is sent) and counts the connections it accepted."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(redis_url)
        self._db = urlsplit(redis_url).path or "/0"
        self.accepted = 0
        self.silent = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}{self._db}"

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if not self.silent:
            await super()._handle(client_r, client_w)
            return
        self._writers.add(client_w)
        with contextlib.suppress(ConnectionError, OSError):
            await client_r.read()  # until the client gives up
        client_w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if not self.silent:
                    writer.write(data)
                    await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def lookup(http: aiohttp.ClientSession, url: str, client: str) -> tuple[Answer, float]:
    """One lookup of Ada's order from `client` (a forwarded address), and its answer time."""
    started = time.monotonic()
    answer = await post_graphql(http, url, STATUS, ADA, {"X-Forwarded-For": client})
    return answer, time.monotonic() - started


def gauge(app: Starlette, name: str, **labels: str) -> float:
    value = app.state.runtime.metrics.registry.get_sample_value(name, labels)
    return float(value or 0.0)


@asynccontextmanager
async def two_instances(
    make_database: DatabaseFactory, sandbox: SandboxShop, proxy: RedisProxy
) -> AsyncIterator[tuple[tuple[Starlette, str], tuple[Starlette, str]]]:
    settings = sandbox_settings(
        await make_database(), sandbox,
        REDIS_URL=proxy.url, ORDERGATE_LIMIT_PER_CLIENT=PER_CLIENT,
        ORDERGATE_TRUSTED_PROXIES="127.0.0.0/8",
    )  # fmt: skip
    first, second = create_app(settings), create_app(settings)
    async with serving(first) as first_url, serving(second) as second_url:
        yield (first, first_url), (second, second_url)


async def outage_then_recovery(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    redis_url: str,
    *,
    fail: Callable[[RedisProxy], Awaitable[None]],
    restore: Callable[[RedisProxy], Awaitable[None]],
) -> int:
    """Runs the outage `fail` starts and `restore` ends; returns the connections the proxy
    accepted meanwhile."""
    proxy = RedisProxy(redis_url)
    await proxy.start()
    try:
        async with two_instances(make_database, sandbox, proxy) as ((a, a_url), (b, b_url)):
            for url in (a_url, b_url):  # both instances have used Redis
                answer, _ = await lookup(http, url, "198.51.100.1")
                assert answer.status == 200

            await fail(proxy)
            accepted_before = proxy.accepted
            outage_started = time.monotonic()
            # Limits are enforced per replica meanwhile: half of 4 on each instance.
            on_a = [await lookup(http, a_url, "198.51.100.2") for _ in range(3)]
            on_b = [await lookup(http, b_url, "198.51.100.2") for _ in range(3)]
            for answers in (on_a, on_b):
                assert [answer.status for answer, _ in answers] == [200, 200, 429]
                assert answers[0][0].body["data"]["orderStatus"]["order"]["number"] == "#1001"
                assert answers[0][1] < FIRST_ANSWER_BOUND
                assert all(seconds < ANSWER_BOUND for _, seconds in answers[1:])
            # Storefronts keep being served, fast, without reconnecting on every request.
            later: list[float] = []
            for round_ in range(12):
                for url in (a_url, b_url):
                    answer, seconds = await lookup(http, url, f"203.0.113.{round_}")
                    assert answer.status == 200
                    later.append(seconds)
                await asyncio.sleep(0.2)
            assert max(later) < ANSWER_BOUND
            outage_seconds = time.monotonic() - outage_started
            accepted = proxy.accepted - accepted_before
            print(  # noqa: T201 - the figures the issue asks for, shown with -s
                f"first answers {on_a[0][1]:.2f} s / {on_b[0][1]:.2f} s, then at most "
                f"{max(later + [s for _, s in on_a[1:] + on_b[1:]]):.3f} s; "
                f"{accepted} connections accepted in {outage_seconds:.1f} s"
            )
            for app in (a, b):
                assert gauge(app, "ordergate_redis_available") == 0
                assert gauge(app, "ordergate_redis_fallbacks_total", use="limits") > 0
                assert gauge(app, "ordergate_redis_fallbacks_total", use="cache") > 0

            await restore(proxy)
            deadline = time.monotonic() + 8
            while not all(gauge(app, "ordergate_redis_available") == 1 for app in (a, b)):
                assert time.monotonic() < deadline, "the app did not go back to Redis"
                await asyncio.sleep(0.05)
            # Shared again: 4 for the client across both instances.
            statuses = [
                (await lookup(http, url, "198.51.100.3"))[0].status for url in (a_url, b_url) * 3
            ]
            assert statuses == [200, 200, 200, 200, 429, 429]
            return accepted
    finally:
        proxy.silent = False
        await proxy.cut()


async def test_redis_cut_lookups_answer_with_limits_per_replica_and_return_to_redis(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    redis_url: str,
) -> None:
    async def restart(proxy: RedisProxy) -> None:
        await proxy.start()

    accepted = await outage_then_recovery(
        make_database, sandbox, http, redis_url, fail=RedisProxy.cut, restore=restart
    )
    assert accepted == 0  # refused: the proxy accepted nothing while cut


async def test_redis_blackholed_lookups_answer_without_a_connection_storm(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    redis_url: str,
) -> None:
    async def silence(proxy: RedisProxy) -> None:
        proxy.silent = True

    async def speak(proxy: RedisProxy) -> None:
        proxy.silent = False

    accepted = await outage_then_recovery(
        make_database, sandbox, http, redis_url, fail=silence, restore=speak
    )
    # Per instance over ~4 s: the first requests' connections, then one per probe (after
    # 1 s, 3 s), not one per request (issue 16 saw 391).
    assert accepted <= 8
