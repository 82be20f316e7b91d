"""The Redis circuit breaker, and the limits and cache that fall back to the process with it."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.models import OrderSnapshot
from service.order_cache import OrderCache
from service.ratelimit import (
    FallbackWindows,
    MemoryWindows,
    RedisWindows,
    Step,
    Window,
    WindowStore,
)
from service.redis_breaker import GuardedPool, RedisBreaker
from tests import factories


def dead_url() -> str:
    """A Redis URL where nothing listens: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


class Probe:
    """A probe that fails until told otherwise, and remembers when it was sent."""

    def __init__(self) -> None:
        self.up = False
        self.sent: list[float] = []

    async def __call__(self) -> None:
        self.sent.append(time.monotonic())
        if not self.up:
            raise RedisConnectionError("refused")


@pytest.fixture
async def probe_and_breaker() -> AsyncIterator[tuple[Probe, RedisBreaker, list[bool]]]:
    probe, states = Probe(), list[bool]()
    breaker = RedisBreaker(probe, first_delay=0.05, max_delay=0.2, on_change=states.append)
    yield probe, breaker, states
    await breaker.close()


async def wait_until_available(breaker: RedisBreaker, within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not breaker.available:
        assert time.monotonic() < deadline, "the breaker did not close"
        await asyncio.sleep(0.01)


async def test_opens_once_probes_with_backoff_and_closes_when_redis_answers(
    probe_and_breaker: tuple[Probe, RedisBreaker, list[bool]], caplog: pytest.LogCaptureFixture
) -> None:
    probe, breaker, states = probe_and_breaker
    caplog.set_level(logging.INFO, logger="ordergate.redis")
    assert breaker.available
    assert states == [True]

    assert breaker.failed(RedisConnectionError("refused"))
    assert breaker.failed(TimeoutError())  # already open: nothing new
    assert not breaker.available
    assert states == [True, False]

    await asyncio.sleep(0.75)  # probes at about 0.05, 0.15, 0.35, 0.55, 0.75
    gaps = [later - earlier for earlier, later in zip(probe.sent, probe.sent[1:], strict=False)]
    assert 3 <= len(probe.sent) <= 6
    assert gaps[0] == pytest.approx(0.1, abs=0.05)  # doubled from 0.05 ...
    assert all(gap == pytest.approx(0.2, abs=0.06) for gap in gaps[1:])  # ... up to 0.2
    assert not breaker.available

    probe.up = True
    await wait_until_available(breaker)
    assert states == [True, False, True]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(warnings) == 1
    assert "redis unavailable" in warnings[0].getMessage()
    assert len(infos) == 1
    assert "redis available again" in infos[0].getMessage()


async def test_an_answer_refusing_a_command_does_not_open_it(
    probe_and_breaker: tuple[Probe, RedisBreaker, list[bool]],
) -> None:
    _, breaker, states = probe_and_breaker
    assert not breaker.failed(ResponseError("NOSCRIPT"))
    assert breaker.available
    assert states == [True]


async def test_the_guarded_pool_refuses_without_connecting_while_open(
    probe_and_breaker: tuple[Probe, RedisBreaker, list[bool]],
) -> None:
    _, breaker, _ = probe_and_breaker
    accepted = 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        await reader.read()  # accepts, never answers: a blackholed Redis
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = GuardedPool.from_url(
        f"redis://127.0.0.1:{port}/0", breaker=breaker, socket_timeout=0.3, timeout=0.3
    )
    client = aioredis.Redis(connection_pool=pool)
    try:
        with pytest.raises(RedisTimeoutError) as silence:
            await client.get("key")
        assert accepted == 1
        assert breaker.failed(silence.value)
        started = time.monotonic()
        for _ in range(50):
            with pytest.raises(RedisConnectionError, match="circuit open"):
                await client.get("key")
        assert time.monotonic() - started < 0.1
        assert accepted == 1
    finally:
        await client.aclose()
        await pool.disconnect()
        server.close()


async def take(store: WindowStore, key: str, window: Window, entry: str) -> float:
    """Add `entry` when the window has room and return 0, else the seconds until it has."""
    return (await store.run((Step(key, window, entry),))).wait


async def wait(store: WindowStore, key: str, window: Window) -> float:
    """Seconds until the window has room (0: it has); takes nothing."""
    return (await store.run((Step(key, window),))).wait


async def test_limits_fall_back_to_stricter_windows_in_process() -> None:
    served: list[str] = []
    breaker = RedisBreaker(Probe(), first_delay=0.05, on_fallback=served.append)
    dead = aioredis.Redis.from_url(dead_url(), socket_connect_timeout=0.5)
    store = FallbackWindows(RedisWindows(dead), MemoryWindows(), breaker)
    window = Window(limit=4, seconds=60)
    try:
        waits = [await take(store, "k", window, f"e{i}") for i in range(3)]
        assert not breaker.available
        # Half the limit, in this process: two entries, then a wait.
        assert waits[:2] == [0.0, 0.0]
        assert waits[2] > 0
        await store.give_back("k", "e0")
        assert await wait(store, "k", window) == 0.0
        assert await take(store, "k", window, "e3") == 0.0
        assert await wait(store, "k", window) > 0
        assert set(served) == {"limits"}
        assert len(served) == 6
    finally:
        await breaker.close()
        await dead.aclose()


async def test_the_cache_keeps_orders_in_process_while_redis_is_away(
    probe_and_breaker: tuple[Probe, RedisBreaker, list[bool]],
) -> None:
    _, breaker, _ = probe_and_breaker
    dead = aioredis.Redis.from_url(dead_url(), socket_connect_timeout=0.5)
    cache = OrderCache(redis=dead, breaker=breaker)
    loads = 0

    async def load() -> OrderSnapshot:
        nonlocal loads
        loads += 1
        return OrderSnapshot(factories.order(number="#1001"), requests=())

    try:
        first = await cache.get_or_load("#1001", load)  # the failed read opens the breaker
        second = await cache.get_or_load("#1001", load)
        assert not breaker.available
        assert first == second
        assert loads == 1
        await cache.drop("#1001")
        await cache.get_or_load("#1001", load)
        assert loads == 2
    finally:
        await dead.aclose()


async def test_drops_made_while_redis_was_away_are_made_in_redis_when_it_is_back(
    probe_and_breaker: tuple[Probe, RedisBreaker, list[bool]],
    redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:
    probe, breaker, _ = probe_and_breaker
    cache = OrderCache(redis=redis_client, breaker=breaker, prefix=redis_prefix, ttl=60)
    loads = 0

    async def load() -> OrderSnapshot:
        nonlocal loads
        loads += 1
        return OrderSnapshot(factories.order(number="#1001"), requests=())

    await cache.get_or_load("#1001", load)  # stored in Redis
    breaker.failed(RedisConnectionError("refused"))
    await cache.drop("#1001")  # the order changed while Redis was away
    probe.up = True
    await wait_until_available(breaker)
    await cache.get_or_load("#1001", load)
    assert loads == 2  # the snapshot from before the change was not served


async def test_the_guarded_pool_makes_callers_wait_their_turn_within_its_bound(
    probe_and_breaker: tuple[Probe, RedisBreaker, list[bool]], redis_url: str
) -> None:
    _, breaker, _ = probe_and_breaker
    pool = GuardedPool.from_url(redis_url, breaker=breaker, max_connections=2, timeout=0.2)
    client = aioredis.Redis(connection_pool=pool)
    try:
        # Eight commands over two connections: each waits for a free one, none fails.
        answers = await asyncio.gather(*(client.ping() for _ in range(8)))
        assert answers == [True] * 8
        held = [await pool.get_connection(), await pool.get_connection()]
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await client.ping()
        for connection in held:
            await pool.release(connection)
        assert await client.ping()  # the slots came back; the refused wait took none
    finally:
        await client.aclose()
        await pool.disconnect()
