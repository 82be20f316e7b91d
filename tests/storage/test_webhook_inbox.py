"""The webhook inbox: stored once, leased with SKIP LOCKED, retried, parked, kept once done."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from service.storage import webhook_inbox
from service.storage.database import create_pool
from tests.conftest import DatabaseFactory

T0 = datetime(2026, 5, 17, 8, 0, tzinfo=UTC)
ORDER = "gid://shopify/Order/1001"


@pytest.fixture
async def fresh_pool(make_database: DatabaseFactory) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(await make_database())
    yield pool
    await pool.close()


async def _store(
    pool: asyncpg.Pool,
    delivery_id: str = "event-1",
    *,
    topic: str = "orders/updated",
    order_id: str | None = ORDER,
    payload: Mapping[str, object] | None = None,
    at: datetime = T0,
) -> bool:
    return await webhook_inbox.store(
        conn=pool,
        delivery_id=delivery_id,
        topic=topic,
        order_id=order_id,
        payload=payload,
        received_at=at,
    )


async def _count(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("select count(*) from webhook_inbox")
    return count


async def test_a_stored_delivery_is_due_at_once(fresh_pool: asyncpg.Pool) -> None:
    assert await _store(fresh_pool)
    (row,) = await webhook_inbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=30)
    assert (row.delivery_id, row.topic, row.order_id, row.payload) == (
        "event-1",
        "orders/updated",
        ORDER,
        None,
    )
    assert (row.received_at, row.attempts) == (T0, 0)


async def test_a_redelivery_is_stored_once(fresh_pool: asyncpg.Pool) -> None:
    assert await _store(fresh_pool)
    assert not await _store(fresh_pool, at=T0 + timedelta(seconds=5))
    assert await _count(fresh_pool) == 1


async def test_one_delivery_id_under_two_topics_is_two_deliveries(
    fresh_pool: asyncpg.Pool,
) -> None:
    assert await _store(fresh_pool, topic="orders/updated")
    assert await _store(fresh_pool, topic="orders/cancelled")
    assert await _count(fresh_pool) == 2


async def test_a_payload_round_trips_as_json(fresh_pool: asyncpg.Pool) -> None:
    payload = {"shop_domain": "demo.myshopify.com", "orders_to_redact": [1001, 1002]}
    await _store(fresh_pool, topic="customers/redact", order_id=None, payload=payload)
    (row,) = await webhook_inbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=30)
    assert row.payload == payload
    assert row.order_id is None


async def test_a_plain_connection_without_json_codecs_stores_and_reads_payloads(
    make_database: DatabaseFactory,
) -> None:
    conn = await asyncpg.connect(await make_database())
    try:
        payload = {"customer": {"id": 7}}
        await webhook_inbox.store(
            conn=conn,
            delivery_id="event-1",
            topic="customers/redact",
            order_id=None,
            payload=payload,
            received_at=T0,
        )
        (row,) = await webhook_inbox.lease_due(conn=conn, now=T0, limit=1, lease_seconds=30)
        assert row.payload == payload
    finally:
        await conn.close()


async def test_a_delivery_received_later_is_not_yet_due(fresh_pool: asyncpg.Pool) -> None:
    await _store(fresh_pool, at=T0 + timedelta(seconds=1))
    assert await webhook_inbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=30) == []


async def test_leased_rows_are_skipped_until_the_lease_runs_out(fresh_pool: asyncpg.Pool) -> None:
    await _store(fresh_pool)
    first = await webhook_inbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=30)
    again = await webhook_inbox.lease_due(
        conn=fresh_pool, now=T0 + timedelta(seconds=29), limit=10, lease_seconds=30
    )
    after = await webhook_inbox.lease_due(
        conn=fresh_pool, now=T0 + timedelta(seconds=30), limit=10, lease_seconds=30
    )
    assert len(first) == 1
    assert again == []
    assert [row.id for row in after] == [first[0].id]


async def test_leases_are_oldest_first_and_limited(fresh_pool: asyncpg.Pool) -> None:
    for n in (3, 1, 2):
        await _store(fresh_pool, f"event-{n}", at=T0 + timedelta(seconds=n))
    leased = await webhook_inbox.lease_due(
        conn=fresh_pool, now=T0 + timedelta(seconds=5), limit=2, lease_seconds=30
    )
    assert [row.delivery_id for row in leased] == ["event-1", "event-2"]


async def test_concurrent_workers_never_lease_the_same_row(fresh_pool: asyncpg.Pool) -> None:
    for n in range(40):
        await _store(fresh_pool, f"event-{n}")
    batches = await asyncio.gather(
        *(
            webhook_inbox.lease_due(conn=fresh_pool, now=T0, limit=7, lease_seconds=30)
            for _ in range(8)
        )
    )
    ids = [row.id for batch in batches for row in batch]
    assert len(ids) == len(set(ids)) == 40


async def test_processed_rows_are_kept_and_never_leased_again(fresh_pool: asyncpg.Pool) -> None:
    await _store(fresh_pool)
    (row,) = await webhook_inbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=30)
    done_at = T0 + timedelta(seconds=1)
    assert await webhook_inbox.mark_processed(conn=fresh_pool, ids=[row.id], now=done_at) == 1
    assert await webhook_inbox.mark_processed(conn=fresh_pool, ids=[row.id], now=done_at) == 0
    later = T0 + timedelta(hours=1)
    assert (
        await webhook_inbox.lease_due(conn=fresh_pool, now=later, limit=10, lease_seconds=30) == []
    )
    assert await fresh_pool.fetchval("select processed_at from webhook_inbox") == done_at


async def test_marking_nothing_processed_is_a_no_op(fresh_pool: asyncpg.Pool) -> None:
    assert await webhook_inbox.mark_processed(conn=fresh_pool, ids=[], now=T0) == 0


async def test_a_failed_row_counts_the_attempt_and_waits_for_its_retry(
    fresh_pool: asyncpg.Pool,
) -> None:
    await _store(fresh_pool)
    (row,) = await webhook_inbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=30)
    retry_at = T0 + timedelta(seconds=4)
    assert await webhook_inbox.mark_failed(
        conn=fresh_pool, id=row.id, retry_at=retry_at, error_kind="UpstreamUnavailable"
    )
    early = T0 + timedelta(seconds=3)
    assert (
        await webhook_inbox.lease_due(conn=fresh_pool, now=early, limit=10, lease_seconds=30) == []
    )
    (again,) = await webhook_inbox.lease_due(
        conn=fresh_pool, now=retry_at, limit=10, lease_seconds=30
    )
    assert (again.id, again.attempts) == (row.id, 1)
    assert await fresh_pool.fetchval("select last_error from webhook_inbox") == (
        "UpstreamUnavailable"
    )


async def test_an_error_kind_that_is_not_a_plain_word_is_recorded_as_unknown(
    fresh_pool: asyncpg.Pool,
) -> None:
    await _store(fresh_pool)
    (row,) = await webhook_inbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=30)
    await webhook_inbox.mark_failed(
        conn=fresh_pool, id=row.id, retry_at=T0, error_kind="order for ada@example.com failed"
    )
    assert await fresh_pool.fetchval("select last_error from webhook_inbox") == "unknown"


async def test_a_parked_row_is_never_leased_again(fresh_pool: asyncpg.Pool) -> None:
    await _store(fresh_pool)
    (row,) = await webhook_inbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=30)
    assert await webhook_inbox.park(conn=fresh_pool, id=row.id, now=T0, error_kind="poison")
    later = T0 + timedelta(days=1)
    assert (
        await webhook_inbox.lease_due(conn=fresh_pool, now=later, limit=10, lease_seconds=30) == []
    )
    parked = await fresh_pool.fetchrow("select attempts, parked_at, last_error from webhook_inbox")
    assert parked is not None
    assert tuple(parked) == (1, T0, "poison")


async def test_lag_is_zero_with_nothing_waiting(fresh_pool: asyncpg.Pool) -> None:
    assert await webhook_inbox.lag(conn=fresh_pool, now=T0) == 0.0


async def test_lag_is_the_wait_of_the_oldest_unprocessed_row(fresh_pool: asyncpg.Pool) -> None:
    await _store(fresh_pool, "event-1", at=T0)
    await _store(fresh_pool, "event-2", at=T0 + timedelta(seconds=10))
    now = T0 + timedelta(seconds=12.5)
    assert await webhook_inbox.lag(conn=fresh_pool, now=now) == pytest.approx(12.5)
    (oldest, _) = await webhook_inbox.lease_due(
        conn=fresh_pool, now=now, limit=10, lease_seconds=30
    )
    await webhook_inbox.mark_processed(conn=fresh_pool, ids=[oldest.id], now=now)
    assert await webhook_inbox.lag(conn=fresh_pool, now=now) == pytest.approx(2.5)


async def test_parked_rows_do_not_count_as_lag(fresh_pool: asyncpg.Pool) -> None:
    await _store(fresh_pool)
    (row,) = await webhook_inbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=30)
    await webhook_inbox.park(conn=fresh_pool, id=row.id, now=T0, error_kind="poison")
    assert await webhook_inbox.lag(conn=fresh_pool, now=T0 + timedelta(hours=1)) == 0.0


async def test_a_row_leased_by_a_crashed_worker_comes_due_again(fresh_pool: asyncpg.Pool) -> None:
    await _store(fresh_pool)
    async with fresh_pool.acquire() as conn, conn.transaction():
        await webhook_inbox.lease_due(conn=conn, now=T0, limit=10, lease_seconds=30)
        # The lease committed; the worker dies before marking anything.
    after_lease = T0 + timedelta(seconds=30)
    (row,) = await webhook_inbox.lease_due(
        conn=fresh_pool, now=after_lease, limit=10, lease_seconds=30
    )
    assert row.attempts == 0
