"""Slow and greedy clients against the real app under uvicorn: each request has a deadline to
arrive, connections are capped per peer and overall, and a normal client stays served."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.app import create_app
from service.cli import server_config
from service.client_address import parse_networks
from service.connections import ConnectionLimits
from service.sandbox.server import SandboxShop
from tests.api.conftest import post_graphql, sandbox_settings

# Slow clients come from another loopback address than the normal client (127.0.0.1).
SLOW_PEER = "127.0.0.2"
SLOW_CONNECTIONS = 200
DRIP_SECONDS = 0.25
DEADLINE_SECONDS = 1.0
# Only a bound on a test that would otherwise hang; the deadline itself is DEADLINE_SECONDS.
GENEROUS_SECONDS = 60

SLOW_HEAD = b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
SLOW_BODY = (
    b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b'Content-Length: 4000\r\n\r\n{"query": "mutation { requestCancellation(input: {orderNumber:'
    b' \\"1001\\", contact: \\"ada.lovelace@example.com\\", reason: OTHER}) { request { id } } }"'
)
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
LOOKUP = (
    "query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c)"
    " { order { number } userErrors { code } } }"
)

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@asynccontextmanager
async def guarded_app(
    database_url: str, shop: SandboxShop, limits: ConnectionLimits
) -> AsyncIterator[int]:
    """The real app under uvicorn with `limits` on a free loopback port; yields the port."""
    # What is measured here is connections, not the rate limits: those are out of the way.
    limits_off = {
        "ORDERGATE_LIMIT_PER_CLIENT": "100000/minute",
        "ORDERGATE_LIMIT_PER_ORDER": "100000/hour",
    }
    settings = sandbox_settings(database_url, shop, **limits_off)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    server = uvicorn.Server(server_config(create_app(settings), connections=limits))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the app stopped during start-up")
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """The normal client: a fresh connection per request, never a pooled one a deadline closed."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        yield session


async def connect(port: int, source: str = SLOW_PEER) -> Stream:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def close(stream: Stream) -> None:
    stream[1].close()
    with contextlib.suppress(OSError):
        await stream[1].wait_closed()


async def drip_until_closed(stream: Stream) -> bytes:
    """Send one byte every DRIP_SECONDS until the server closes; what it answered meanwhile."""
    reader, writer = stream
    answer = b""
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(4096), DRIP_SECONDS)
            except TimeoutError:
                writer.write(b"a")
                continue
            if not chunk:
                return answer
            answer += chunk
    except ConnectionError:
        return answer
    finally:
        await close(stream)


async def lookup(http: aiohttp.ClientSession, port: int) -> int:
    answer = await post_graphql(
        http, f"http://127.0.0.1:{port}", LOOKUP, {"n": "1001", "c": "ada.lovelace@example.com"}
    )
    assert answer.status != 200 or answer.body["data"]["orderStatus"]["order"] is not None
    return answer.status


async def served_while(
    http: aiohttp.ClientSession, port: int, slow: list[asyncio.Task[bytes]]
) -> list[int]:
    """Statuses of the lookups a normal client makes until every slow connection has ended."""
    statuses: list[int] = []
    async with asyncio.timeout(GENEROUS_SECONDS):
        while not statuses or not all(task.done() for task in slow):
            statuses.append(await lookup(http, port))
    return statuses


async def health_status(stream: Stream) -> int | None:
    """The status of GET /healthz on an open connection; None when the server closed it."""
    reader, writer = stream
    try:
        writer.write(HEALTH)
        line = await asyncio.wait_for(reader.readline(), GENEROUS_SECONDS)
    except ConnectionError:
        return None
    return int(line.split()[1]) if line else None


async def health_on_a_new_connection(port: int, source: str) -> int | None:
    stream = await connect(port, source)
    try:
        return await health_status(stream)
    finally:
        await close(stream)


async def served_again(port: int) -> int | None:
    """Asks until a new connection is served: the server sees a close a moment after it."""
    async with asyncio.timeout(GENEROUS_SECONDS):
        while True:
            status = await health_on_a_new_connection(port, "127.0.0.1")
            if status == 200:
                return status
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("opening", [SLOW_HEAD, SLOW_BODY], ids=["slow-head", "slow-body"])
async def test_slow_connections_are_closed_at_the_deadline_while_a_normal_client_is_served(
    fresh_database_url: str, sandbox: SandboxShop, http: aiohttp.ClientSession, opening: bytes
) -> None:
    limits = ConnectionLimits(request_deadline=DEADLINE_SECONDS, per_peer=SLOW_CONNECTIONS)
    async with guarded_app(fresh_database_url, sandbox, limits) as port:
        streams = [await connect(port) for _ in range(SLOW_CONNECTIONS)]
        for _, writer in streams:
            writer.write(opening)
        slow = [asyncio.create_task(drip_until_closed(stream)) for stream in streams]
        statuses = await served_while(http, port, slow)
        answers = await asyncio.gather(*slow)
    assert answers == [b""] * SLOW_CONNECTIONS  # closed without an answer
    assert set(statuses) == {200}
    assert sandbox.mutations() == []


async def test_connections_past_the_per_peer_cap_are_refused(
    fresh_database_url: str, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    async with guarded_app(fresh_database_url, sandbox, ConnectionLimits(per_peer=4)) as port:
        streams = [await connect(port) for _ in range(10)]
        statuses = [await health_status(stream) for stream in streams]
        normal = await lookup(http, port)
        for stream in streams:
            await close(stream)
    assert sorted(statuses, key=str) == [200] * 4 + [None] * 6  # closed unanswered
    assert normal == 200


async def test_trusted_proxies_are_exempt_from_the_per_peer_cap(
    fresh_database_url: str, sandbox: SandboxShop
) -> None:
    limits = ConnectionLimits(per_peer=4, trusted_proxies=parse_networks([f"{SLOW_PEER}/32"]))
    async with guarded_app(fresh_database_url, sandbox, limits) as port:
        streams = [await connect(port) for _ in range(10)]
        statuses = [await health_status(stream) for stream in streams]
        for stream in streams:
            await close(stream)
    assert statuses == [200] * 10


async def test_the_total_cap_binds_trusted_proxies_and_frees_slots_on_close(
    fresh_database_url: str, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    limits = ConnectionLimits(total=6, trusted_proxies=parse_networks([f"{SLOW_PEER}/32"]))
    async with guarded_app(fresh_database_url, sandbox, limits) as port:
        streams = [await connect(port) for _ in range(10)]
        statuses = [await health_status(stream) for stream in streams]
        for stream in streams:
            await close(stream)
        normal = await served_again(port)
    assert sorted(statuses, key=str) == [200] * 6 + [None] * 4
    assert normal == 200


def test_these_bounds_guard_the_protocol_production_serves_with() -> None:
    # `ordergate serve` and every test server take their config from server_config: the
    # guarded httptools protocol on uvloop, so the tests above exercise what production runs.
    config = server_config(Starlette())
    assert isinstance(config.http, type)
    assert issubclass(config.http, HttpToolsProtocol)
    assert config.loop == "uvloop"
