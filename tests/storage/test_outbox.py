"""The e-mail outbox table: transactional enqueue, leases, delivery records, erasure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from service.storage import outbox
from service.storage.database import create_pool
from service.storage.outbox import OutboxListener, OutboxStats
from tests.conftest import DatabaseFactory
from tests.tcp_proxy import TcpProxy

T0 = datetime(2026, 5, 17, 8, 0, tzinfo=UTC)
SEALED = b"gAAAA-pretend-this-is-a-seal"


@pytest.fixture
async def fresh_pool(make_database: DatabaseFactory) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(await make_database())
    yield pool
    await pool.close()


async def _enqueue(pool: asyncpg.Pool, *, now: datetime = T0, order_id: str | None = None) -> str:
    async with pool.acquire() as conn, conn.transaction():
        return await outbox.enqueue(
            conn=conn, kind="RECEIPT", sealed=SEALED, order_id=order_id, now=now
        )


async def _row(pool: asyncpg.Pool, mail_id: str) -> asyncpg.Record:
    row = await pool.fetchrow("select * from email_outbox where id = $1::uuid", mail_id)
    assert row is not None
    return row


async def test_a_mail_enqueued_in_a_rolled_back_transaction_is_not_queued(
    fresh_pool: asyncpg.Pool,
) -> None:
    async with fresh_pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await outbox.enqueue(conn=conn, kind="RECEIPT", sealed=SEALED, order_id=None, now=T0)
        await transaction.rollback()
    assert await outbox.stats(conn=fresh_pool, now=T0) == OutboxStats(0, 0.0)


async def test_an_enqueued_mail_is_due_at_once(fresh_pool: asyncpg.Pool) -> None:
    mail_id = await _enqueue(fresh_pool, order_id="gid://shopify/Order/1001")
    (leased,) = await outbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=60)
    assert (leased.id, leased.kind, leased.sealed) == (mail_id, "RECEIPT", SEALED)
    assert leased.order_id == "gid://shopify/Order/1001"
    assert leased.attempts == 0
    assert leased.leased_until == T0 + timedelta(seconds=60)


async def test_a_leased_mail_is_skipped_until_its_lease_runs_out(fresh_pool: asyncpg.Pool) -> None:
    await _enqueue(fresh_pool)
    assert len(await outbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=60)) == 1
    later = T0 + timedelta(seconds=59)
    assert await outbox.lease_due(conn=fresh_pool, now=later, limit=10, lease_seconds=60) == []
    expired = T0 + timedelta(seconds=60)
    assert (
        len(await outbox.lease_due(conn=fresh_pool, now=expired, limit=10, lease_seconds=60)) == 1
    )


async def test_a_lease_in_progress_is_skipped_not_waited_for(fresh_pool: asyncpg.Pool) -> None:
    first, second = await _enqueue(fresh_pool), await _enqueue(fresh_pool)
    async with fresh_pool.acquire() as holder, holder.transaction():
        held = await outbox.lease_due(conn=holder, now=T0, limit=1, lease_seconds=60)
        # The other replica neither blocks on the locked row nor takes it.
        async with asyncio.timeout(2):
            other = await outbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=60)
    assert {held[0].id, other[0].id} == {first, second}
    assert len(other) == 1


async def test_due_mail_is_leased_oldest_first_up_to_the_limit(fresh_pool: asyncpg.Pool) -> None:
    ids = [await _enqueue(fresh_pool, now=T0 + timedelta(seconds=n)) for n in (2, 0, 1)]
    later = T0 + timedelta(minutes=1)
    leased = await outbox.lease_due(conn=fresh_pool, now=later, limit=2, lease_seconds=60)
    assert [mail.id for mail in leased] == [ids[1], ids[2]]


async def test_delivery_erases_the_message(fresh_pool: asyncpg.Pool) -> None:
    mail_id = await _enqueue(fresh_pool)
    assert await outbox.mark_sent(conn=fresh_pool, mail_id=mail_id, now=T0)
    row = await _row(fresh_pool, mail_id)
    assert row["sealed"] is None
    assert row["sent_at"] == T0
    assert row["leased_until"] is None


async def test_a_delivered_mail_is_never_leased_again(fresh_pool: asyncpg.Pool) -> None:
    mail_id = await _enqueue(fresh_pool)
    await outbox.mark_sent(conn=fresh_pool, mail_id=mail_id, now=T0)
    later = T0 + timedelta(days=1)
    assert await outbox.lease_due(conn=fresh_pool, now=later, limit=10, lease_seconds=60) == []
    assert not await outbox.mark_sent(conn=fresh_pool, mail_id=mail_id, now=later)


async def test_the_table_refuses_a_delivered_mail_that_keeps_its_message(
    fresh_pool: asyncpg.Pool,
) -> None:
    mail_id = await _enqueue(fresh_pool)
    with pytest.raises(asyncpg.CheckViolationError):
        await fresh_pool.execute(
            "update email_outbox set sent_at = now() where id = $1::uuid", mail_id
        )


async def test_a_failed_attempt_is_counted_and_retried_later(fresh_pool: asyncpg.Pool) -> None:
    mail_id = await _enqueue(fresh_pool)
    await outbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=60)
    retry_at = T0 + timedelta(seconds=5)
    await outbox.mark_failed(
        conn=fresh_pool, mail_id=mail_id, error_kind="connection", retry_at=retry_at
    )
    row = await _row(fresh_pool, mail_id)
    assert (row["attempts"], row["last_error"], row["leased_until"]) == (1, "connection", None)
    assert row["sealed"] == SEALED
    early = T0 + timedelta(seconds=4)
    assert await outbox.lease_due(conn=fresh_pool, now=early, limit=10, lease_seconds=60) == []
    (again,) = await outbox.lease_due(conn=fresh_pool, now=retry_at, limit=10, lease_seconds=60)
    assert again.attempts == 1


async def test_a_failure_is_stored_as_a_kind_never_as_free_text(fresh_pool: asyncpg.Pool) -> None:
    mail_id = await _enqueue(fresh_pool)
    await outbox.mark_failed(
        conn=fresh_pool,
        mail_id=mail_id,
        error_kind="550 <kari@example.com> unknown user",
        retry_at=T0,
    )
    assert (await _row(fresh_pool, mail_id))["last_error"] == "unknown"


async def test_a_released_mail_is_due_again_at_once(fresh_pool: asyncpg.Pool) -> None:
    mail_id = await _enqueue(fresh_pool)
    await outbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=600)
    await outbox.release(conn=fresh_pool, mail_ids=[mail_id])
    (again,) = await outbox.lease_due(conn=fresh_pool, now=T0, limit=10, lease_seconds=60)
    assert (again.id, again.attempts) == (mail_id, 0)


async def test_stats_count_undelivered_mail_and_the_oldest_wait(fresh_pool: asyncpg.Pool) -> None:
    oldest = await _enqueue(fresh_pool, now=T0)
    await _enqueue(fresh_pool, now=T0 + timedelta(seconds=30))
    delivered = await _enqueue(fresh_pool, now=T0 - timedelta(hours=1))
    await outbox.mark_sent(conn=fresh_pool, mail_id=delivered, now=T0)
    now = T0 + timedelta(seconds=90)
    assert await outbox.stats(conn=fresh_pool, now=now) == OutboxStats(2, 90.0)
    await outbox.mark_sent(conn=fresh_pool, mail_id=oldest, now=now)
    assert await outbox.stats(conn=fresh_pool, now=now) == OutboxStats(1, 60.0)


async def test_pruning_forgets_only_mail_delivered_before_the_cutoff(
    fresh_pool: asyncpg.Pool,
) -> None:
    old, recent, pending = [await _enqueue(fresh_pool) for _ in range(3)]
    await outbox.mark_sent(conn=fresh_pool, mail_id=old, now=T0)
    await outbox.mark_sent(conn=fresh_pool, mail_id=recent, now=T0 + timedelta(days=2))
    removed = await outbox.prune_sent(conn=fresh_pool, sent_before=T0 + timedelta(days=1))
    assert removed == 1
    remaining = {row["id"] for row in await fresh_pool.fetch("select id::text from email_outbox")}
    assert remaining == {recent, pending}


async def test_a_committed_enqueue_notifies_the_listener(fresh_pool: asyncpg.Pool) -> None:
    notified = asyncio.Event()
    listener = OutboxListener(fresh_pool, notified.set)
    await listener.open()
    try:
        async with fresh_pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            await outbox.enqueue(conn=conn, kind="RECEIPT", sealed=SEALED, order_id=None, now=T0)
            await transaction.rollback()
        await asyncio.sleep(0.2)
        assert not notified.is_set()  # a rolled-back mail wakes no one
        await _enqueue(fresh_pool)
        async with asyncio.timeout(2):
            await notified.wait()
    finally:
        await listener.close()
    assert not listener.listening


async def test_the_listener_listens_again_after_postgres_was_cut(
    make_database: DatabaseFactory,
) -> None:
    # A soak found LISTEN never came back after an outage: the pool had taken the broken
    # connection back, and every reopen failed on it, so mail waited for the polling interval.
    proxy = TcpProxy(await make_database())
    await proxy.start()
    pool = await create_pool(proxy.dsn)
    notified = asyncio.Event()
    listener = OutboxListener(pool, notified.set)
    try:
        await listener.open()
        await proxy.cut()
        with pytest.raises((OSError, asyncpg.InterfaceError, asyncpg.PostgresError)):
            await pool.fetchval("select 1")  # the pool learns its connections broke
        await proxy.restore()
        for _ in range(20):  # as the worker does, once per pass
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await listener.open()
            if listener.listening:
                break
            await asyncio.sleep(0.1)
        assert listener.listening
        await _enqueue(pool)
        async with asyncio.timeout(2):
            await notified.wait()
    finally:
        await listener.close()
        await pool.close()
        await proxy.cut()
