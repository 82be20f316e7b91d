"""SIGTERM during a burst: every accepted request is answered and audited, and the exit is clean."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time

import aiohttp
import asyncpg

from service.sandbox.server import SandboxShop
from tests.conftest import DatabaseFactory
from tests.tcp_proxy import TcpProxy

LOOKUP = {
    "query": 'query { orderStatus(orderNumber: "#1001", contact: "ada.lovelace@example.com")'
    " { order { number } userErrors { code } } }"
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_until_healthy(http: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            async with http.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("ordergate serve did not become healthy")


async def lookup(http: aiohttp.ClientSession, url: str) -> int | None:
    """The HTTP status, or None when the request was not accepted."""
    try:
        async with http.post(f"{url}/graphql", json=LOOKUP) as response:
            await response.read()
            return response.status
    except aiohttp.ClientError:
        return None


async def serve(database: str, port: int, sandbox: SandboxShop) -> asyncio.subprocess.Process:
    """`ordergate serve` in production mode, in a process of its own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORDERGATE_")}
    env.update(
        ORDERGATE_ENV="production",
        ORDERGATE_SECRET_KEY="k" * 32,
        SMTP_URL="smtp://127.0.0.1:9",  # nothing connects at start-up; lookups send no mail
        ORDERGATE_HOST="127.0.0.1",
        ORDERGATE_PORT=str(port),
        ORDERGATE_METRICS_PORT="0",  # no fixed port that a parallel run could hold
        DATABASE_URL=database,
        SHOPIFY_SHOP="demo.myshopify.com",
        SHOPIFY_ADMIN_ENDPOINT=sandbox.endpoint,
        SHOPIFY_ADMIN_TOKEN=sandbox.admin_token,
        ORDERGATE_LIMIT_PER_CLIENT="100000/minute",
        # Each lookup holds one of the order's tries while it is answered: sixty at once need
        # more than the default ten.
        ORDERGATE_LIMIT_PER_ORDER="100000/hour",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", "serve", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def audited_lookups(database: str) -> int:
    conn = await asyncpg.connect(database)
    try:
        count: int = await conn.fetchval(
            "select count(*) from audit_events where operation = 'orderStatus'"
        )
        return count
    finally:
        await conn.close()


async def test_sigterm_answers_and_audits_every_accepted_request(
    make_database: DatabaseFactory, sandbox: SandboxShop
) -> None:
    database, port = await make_database(), free_port()
    process = await serve(database, port, sandbox)
    url = f"http://127.0.0.1:{port}"
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        await wait_until_healthy(http, url)
        burst = [asyncio.create_task(lookup(http, url)) for _ in range(60)]
        await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        statuses = await asyncio.gather(*burst)
    assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    answered = [status for status in statuses if status is not None]
    assert answered, "the burst should have been under way when SIGTERM came"
    assert set(answered) == {200}
    assert await audited_lookups(database) == len(answered)


async def test_sigkill_right_after_a_burst_loses_no_answered_lookup(
    make_database: DatabaseFactory, sandbox: SandboxShop
) -> None:
    # No answer leaves the process before its audit row is committed (group commit), so a
    # kill that gives no chance to drain still finds every answered lookup in the log.
    database, port = await make_database(), free_port()
    process = await serve(database, port, sandbox)
    url = f"http://127.0.0.1:{port}"
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        await wait_until_healthy(http, url)
        # Thirty at once: one peer may hold at most 32 connections (service/connections.py).
        statuses = await asyncio.gather(*(lookup(http, url) for _ in range(30)))
        process.send_signal(signal.SIGKILL)
    await process.wait()
    assert statuses.count(200) == 30
    assert await audited_lookups(database) == 30


# Kubernetes allows terminationGracePeriodSeconds (30) after the preStop sleep (5) began.
STOP_BOUND_SECONDS = 25


async def test_sigterm_with_postgres_silent_still_stops_within_the_grace_period(
    make_database: DatabaseFactory, sandbox: SandboxShop
) -> None:
    # Every drain is bounded: requests by the database bounds, workers by their drain budget
    # (all at once), the audit writer by its own; nothing waits for a server that never answers.
    proxy = TcpProxy(await make_database())
    await proxy.start()
    port = free_port()
    process = await serve(proxy.dsn, port, sandbox)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_until_healthy(http, url)
            assert await lookup(http, url) == 200
            proxy.blackhole()
            in_flight = [asyncio.create_task(lookup(http, url)) for _ in range(5)]
            await asyncio.sleep(0.2)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=STOP_BOUND_SECONDS + 10)
            took = time.monotonic() - started
            statuses = await asyncio.gather(*in_flight)
        assert took < STOP_BOUND_SECONDS, took
        assert code == 0
        assert set(statuses) <= {200, None}  # answered (UPSTREAM_UNAVAILABLE), or refused
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await proxy.cut()
