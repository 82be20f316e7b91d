"""Personal data in the audit log and beside it (CONTRACT §7): erased without breaking the
chain, by order, for the shop and by age; a kept field edited afterwards is still caught."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from service.metrics import Metrics
from service.models import AuditOperation, RequestKind, RequestStatus
from service.orders.privacy import Privacy
from service.orders.retention import RetentionWorker
from service.storage import idempotency, outbox, requests, verification_codes
from service.storage.audit import AuditEvent, append, drop_partitions_before, export, verify
from service.storage.database import create_pool
from tests.conftest import DatabaseFactory

ORDER = "gid://shopify/Order/4401"
OTHER = "gid://shopify/Order/4402"
ADDRESS = "198.51.100.61"


@pytest.fixture
async def pool(make_database: DatabaseFactory) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a database of its own."""
    connections = await create_pool(await make_database(), max_size=3)
    yield connections
    await connections.close()


def _event(order: str | None, *, at: datetime | None = None, n: int = 0) -> AuditEvent:
    return AuditEvent(
        operation="requestCancellation",
        request_id=f"req-{n}",
        client_address=ADDRESS,
        order_id=order,
        details={"customer_reason": "CHANGED_MIND", "client_request_id": f"mine-{n}"},
        occurred_at=at,
    )


async def _order_data(pool: asyncpg.Pool, order: str, *, at: datetime) -> None:
    """An order's request with a comment, a replay, a queued mail and a code."""
    async with pool.acquire() as conn, conn.transaction():
        await requests.create(
            conn=conn,
            kind=RequestKind.NOT_RECEIVED,
            status=RequestStatus.OPEN,
            order_id=order,
            order_name="#4401" if order == ORDER else "#4402",
            now=at,
            customer_reason=None,
            comment="PRIVACY-MARK my neighbour took it",
            locale="en",
            details={"carrier": "PostNord", "tracking_number": "PN123"},
        )
        await idempotency.remember(
            conn=conn,
            operation="reportNotReceived",
            scope="s" * 64,
            key=f"key-{order}",
            digest="d",
            response={"request_id": "x"},
            order_id=order,
        )
        await conn.execute(
            "update idempotency_keys set created_at = $1 where order_id = $2", at, order
        )
        await outbox.enqueue(conn=conn, kind="receipt", sealed=b"sealed", order_id=order, now=at)
        await verification_codes.create(
            conn=conn, order_id=order, digest="c", now=at, ttl=timedelta(minutes=10)
        )


async def test_audit_rows_keep_personal_data_apart_from_the_chain(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await append(conn=conn, events=[_event(ORDER)])
        row = await conn.fetchrow("select client_address, details::text from audit_events")
        (exported,) = [event async for event in export(conn=conn, order_id=ORDER)]

    assert row is not None
    assert row["client_address"] is None
    assert ADDRESS not in row["details"]
    assert "mine-0" not in row["details"]
    assert exported["client_address"] == ADDRESS
    assert exported["details"] == {"customer_reason": "CHANGED_MIND", "client_request_id": "mine-0"}


async def test_erasing_an_order_keeps_the_chain_and_its_tamper_evidence(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    await _order_data(pool, ORDER, at=now)
    await _order_data(pool, OTHER, at=now)
    async with pool.acquire() as conn:
        await append(conn=conn, events=[_event(ORDER, n=1), _event(OTHER, n=2), _event(ORDER)])
    privacy = Privacy(pool=pool, clock=lambda: now)

    erased = await privacy.erase_orders([ORDER], reason="customers/redact")
    document = await privacy.export(ORDER)

    assert erased.as_details() == {
        "audit_rows": 2,
        "requests": 1,
        "idempotency_keys": 1,
        "emails": 1,
        "verification_codes": 1,
    }
    assert ADDRESS not in str(document)
    assert "PRIVACY-MARK" not in str(document)
    assert document["audit_events"][-1]["operation"] == AuditOperation.PERSONAL_DATA_ERASED
    assert "PRIVACY-MARK" in str(await privacy.export(OTHER))
    async with pool.acquire() as conn:
        assert (await verify(conn=conn)).intact
        async with conn.transaction():
            await conn.execute("set local session_replication_role = replica")
            await conn.execute("update audit_events set outcome = 'CANCELLED' where seq = 1")
        result = await verify(conn=conn)
    assert (result.intact, result.first_broken_seq) == (False, 1)


async def test_an_edited_personal_value_is_caught(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await append(conn=conn, events=[_event(ORDER), _event(OTHER)])
        await conn.execute(
            """update audit_personal set data = '{"client_address":"192.0.2.1"}' where seq = 2"""
        )
        result = await verify(conn=conn)

    assert (result.intact, result.first_broken_seq) == (False, 2)
    assert result.problem == "personal data does not match the row's digest"


async def test_shop_redact_leaves_no_personal_data(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    await _order_data(pool, ORDER, at=now)
    async with pool.acquire() as conn:
        await append(conn=conn, events=[_event(ORDER), _event(None, n=1)])

    await Privacy(pool=pool, clock=lambda: now).erase_shop()

    async with pool.acquire() as conn:
        left = await conn.fetchval(
            """select (select count(*) from audit_personal) + (select count(*) from email_outbox)
               + (select count(*) from verification_codes)
               + (select count(*) from idempotency_keys)
               + (select count(*) from customer_requests
                  where comment is not null or details ? 'tracking_number')"""
        )
        assert left == 0
        assert (await verify(conn=conn)).intact


async def test_retention_erases_only_what_is_older_than_the_policy(pool: asyncpg.Pool) -> None:
    start = datetime(2026, 1, 10, tzinfo=UTC)
    await _order_data(pool, ORDER, at=start)
    async with pool.acquire() as conn:
        await append(conn=conn, events=[_event(ORDER, at=start)])
    later = start + timedelta(days=200)
    await _order_data(pool, OTHER, at=later)
    async with pool.acquire() as conn:
        await append(conn=conn, events=[_event(OTHER, at=later)])
    metrics, now = Metrics(), start + timedelta(days=366)
    privacy = Privacy(pool=pool, clock=lambda: now, on_erased=metrics.personal_data_erased, batch=1)

    rows = await RetentionWorker(privacy=privacy, retention=timedelta(days=365)).run_once()

    assert rows == 5
    assert b'ordergate_personal_data_erased_total{reason="retention"} 5.0' in metrics.render()
    assert ADDRESS not in str(await privacy.export(ORDER))
    assert "PRIVACY-MARK" in str(await privacy.export(OTHER))
    async with pool.acquire() as conn:
        assert (await verify(conn=conn)).intact


async def test_erasing_several_orders_audits_each_with_its_own_counts(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    await _order_data(pool, ORDER, at=now)
    async with pool.acquire() as conn:
        await append(conn=conn, events=[_event(ORDER, n=1), _event(OTHER, n=2), _event(ORDER)])
    privacy = Privacy(pool=pool, clock=lambda: now)

    erased = await privacy.erase_orders([ORDER, OTHER], reason="customers/redact")

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "select order_id, details::text from audit_events where operation = $1 order by seq",
            AuditOperation.PERSONAL_DATA_ERASED,
        )
        assert (await verify(conn=conn)).intact
    assert [row["order_id"] for row in rows] == [ORDER, OTHER]
    per_order = [json.loads(row["details"]) for row in rows]
    assert [counts["audit_rows"] for counts in per_order] == [2, 1]
    assert [counts["requests"] for counts in per_order] == [1, 0]
    assert erased.audit_rows == 3


async def test_prune_drops_past_months_with_their_personal_rows(pool: asyncpg.Pool) -> None:
    months = [datetime(2025, month, 15, tzinfo=UTC) for month in (1, 2, 3)]
    async with pool.acquire() as conn:
        await append(conn=conn, events=[_event(ORDER, at=at, n=n) for n, at in enumerate(months)])
        await append(conn=conn, events=[_event(OTHER, n=9)])

        await drop_partitions_before(conn=conn, cutoff=datetime(2025, 3, 1, tzinfo=UTC))

        kept = await conn.fetchval("select array_agg(seq order by seq) from audit_personal")
        result = await verify(conn=conn)
    assert kept == [3, 4]
    assert (result.intact, result.checked) == (True, 2)
