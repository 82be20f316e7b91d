"""The batched background audit writer against a real Postgres."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from service.storage.audit import AuditEvent, verify
from service.storage.audit_writer import AuditWriter
from service.storage.database import create_pool

DatabaseFactory = Callable[[], Awaitable[str]]


@pytest.fixture
async def fresh_pool(make_database: DatabaseFactory) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with an empty chain."""
    connections = await create_pool(await make_database())
    yield connections
    await connections.close()


def _lookup(n: int) -> AuditEvent:
    return AuditEvent(operation="orderStatus", request_id=f"req-{n}", client_address="192.0.2.1")


async def _stored(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM audit_events")
    return count


async def _wait_until_stored(pool: asyncpg.Pool, count: int, within: float) -> float:
    started = time.monotonic()
    while await _stored(pool) < count:
        if time.monotonic() - started > within:
            raise TimeoutError(f"{count} events not stored within {within}s")
        await asyncio.sleep(0.005)
    return time.monotonic() - started


async def test_writer_flushes_within_the_interval(fresh_pool: asyncpg.Pool) -> None:
    writer = AuditWriter(fresh_pool, flush_interval=0.1)
    await writer.start()
    try:
        await writer.submit(_lookup(1))
        elapsed = await _wait_until_stored(fresh_pool, 1, within=1.0)
    finally:
        await writer.close()

    assert elapsed < 0.3


async def test_close_flushes_everything_queued(fresh_pool: asyncpg.Pool) -> None:
    writer = AuditWriter(fresh_pool, flush_interval=5.0, max_batch=7)
    await writer.start()
    for n in range(50):
        await writer.submit(_lookup(n))

    await writer.close()

    assert writer.depth == 0
    assert await _stored(fresh_pool) == 50
    async with fresh_pool.acquire() as conn:
        assert (await verify(conn=conn)).intact


async def test_submit_waits_when_full_and_drops_nothing(fresh_pool: asyncpg.Pool) -> None:
    writer = AuditWriter(fresh_pool, max_queue=2, flush_interval=0.01)
    await writer.submit(_lookup(1))
    await writer.submit(_lookup(2))
    third = asyncio.create_task(writer.submit(_lookup(3)))
    await asyncio.sleep(0.1)
    blocked = not third.done()

    await writer.start()
    await asyncio.wait_for(third, 2.0)
    await writer.close()

    assert blocked
    assert await _stored(fresh_pool) == 3


async def test_writer_survives_a_transient_failure(fresh_pool: asyncpg.Pool) -> None:
    # Hiding the chain head makes every append fail until it is back, like an outage.
    await fresh_pool.execute("ALTER TABLE audit_chain_head RENAME TO audit_chain_head_away")
    writer = AuditWriter(fresh_pool, flush_interval=0.01)
    await writer.start()
    try:
        await writer.submit(_lookup(1))
        await writer.submit(_lookup(2))
        await asyncio.sleep(0.2)
        depth_during_outage = writer.depth
        await fresh_pool.execute("ALTER TABLE audit_chain_head_away RENAME TO audit_chain_head")
        await _wait_until_stored(fresh_pool, 2, within=5.0)
    finally:
        await writer.close()

    assert depth_during_outage == 2


async def test_on_flush_reports_count_and_duration(fresh_pool: asyncpg.Pool) -> None:
    flushes: list[tuple[int, float]] = []
    writer = AuditWriter(
        fresh_pool, flush_interval=5.0, on_flush=lambda n, s: flushes.append((n, s))
    )
    await writer.start()
    for n in range(3):
        await writer.submit(_lookup(n))

    await writer.close()

    assert [count for count, _ in flushes] == [3]
    assert all(seconds > 0 for _, seconds in flushes)


async def test_submit_after_close_is_refused(fresh_pool: asyncpg.Pool) -> None:
    writer = AuditWriter(fresh_pool)
    await writer.start()
    await writer.close()

    with pytest.raises(RuntimeError, match="closed"):
        await writer.submit(_lookup(1))


async def test_submit_refuses_details_that_are_not_json(fresh_pool: asyncpg.Pool) -> None:
    writer = AuditWriter(fresh_pool)
    event = AuditEvent(
        operation="orderStatus", request_id="r", client_address=None, details={"x": object()}
    )

    with pytest.raises(TypeError, match="JSON-able"):
        await writer.submit(event)
