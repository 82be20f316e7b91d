"""The hash-chained audit log against a real Postgres: append, verify, export, retention."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import asyncpg
import pytest

from service.storage.audit import (
    GENESIS_HASH,
    AdminCallRecord,
    AuditEvent,
    append,
    canonical_json,
    chain_hash,
    drop_partitions_before,
    ensure_partitions,
    export,
    partition_name,
    verify,
)
from service.storage.connection import Connection
from service.storage.database import create_pool

OSLO_WINTER = timezone(timedelta(hours=1))
DatabaseFactory = Callable[[], Awaitable[str]]


@pytest.fixture
async def conn(make_database: DatabaseFactory) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh database with an empty chain."""
    connection = await asyncpg.connect(await make_database())
    yield connection
    await connection.close()


def _event(n: int = 0, *, order: str | None = None, at: datetime | None = None) -> AuditEvent:
    return AuditEvent(
        operation="orderStatus",
        request_id=f"req-{n}",
        client_address="203.0.113.7",
        order_id=order or f"gid://shopify/Order/{n % 3}",
        occurred_at=at,
    )


async def _tamper(conn: asyncpg.Connection, sql: str, *args: object) -> None:
    # What a superuser could do behind the application's back: bypass the triggers.
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(sql, *args)


async def _partitions(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "SELECT inhrelid::regclass::text AS name FROM pg_inherits "
        "WHERE inhparent = 'audit_events'::regclass"
    )
    return {row["name"] for row in rows}


def test_canonical_json_is_sorted_compact_utf8_with_utc_microseconds() -> None:
    moment = datetime(2026, 11, 5, 13, 0, tzinfo=OSLO_WINTER)

    assert canonical_json({"b": "ø", "a": moment, "c": (1, 2)}) == (
        '{"a":"2026-11-05T12:00:00.000000Z","b":"ø","c":[1,2]}'.encode()
    )


def test_canonical_json_refuses_naive_datetimes() -> None:
    with pytest.raises(TypeError, match="timezone-aware"):
        canonical_json({"at": datetime(2026, 1, 1)})  # noqa: DTZ001


class _CapturingConnection:
    """Stands in for Postgres: hands out a fixed chain head and keeps what append sends."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, tuple[Any, ...]]] = []

    def is_in_transaction(self) -> bool:
        return True

    async def fetchrow(self, sql: str, *args: object) -> dict[str, object]:
        return {"seq": 41, "hash": "ab" * 32, "occurred_at": datetime(2026, 1, 1, tzinfo=UTC)}

    async def execute(self, sql: str, *args: Any) -> str:
        self.executed.append((sql, args))
        return "OK"


def _golden_events() -> list[AuditEvent]:
    at = datetime(2026, 3, 1, 12, 30, 0, 123456, tzinfo=OSLO_WINTER)
    return [
        AuditEvent(
            operation="order_status",
            request_id="req-1",
            client_address="203.0.113.7",
            order_id="gid://shopify/Order/1",
            admin_calls=(AdminCallRecord("orderStatus", 12, 10),),
            details={"order_name": "#1001", "client_request_id": "abc"},
            occurred_at=at,
        ),
        AuditEvent(
            operation="requestCancellation",
            request_id="req-2",
            client_address=None,
            customer_request_id="c-2",
            decision="cancelled",
            reason="ORDERED_BY_MISTAKE",
            outcome="CANCELLED",
            admin_calls=(AdminCallRecord("OrderCancel", None, 8), AdminCallRecord("q", 1, None)),
            details={"comment": "Bestilte feil størrelse", "at": at, "pair": (1, 2.5)},
            occurred_at=at - timedelta(days=1),  # before the head: lifted to it
        ),
        AuditEvent(
            operation="x",
            request_id="req-3",
            client_address="198.51.100.1",
            details={"contact": None, "set": frozenset({"ø"}), "n": {"k": [-0.0, 10**30]}},
            occurred_at=at + timedelta(seconds=1),
        ),
        AuditEvent(
            operation="y",
            request_id="req-4",
            client_address="2001:db8::1",
            # Nothing stops int keys at runtime; stored as strings, sorted as strings.
            details=cast(dict[str, object], {1: "one", 10: "ten", 9: "nine"}),
            occurred_at=at + timedelta(seconds=2),
        ),
        AuditEvent(
            operation="z",
            request_id="req-5",
            client_address=None,
            details={"contact": {"b": [("e", "\u2028")], "a": at}, "order_name": "#1"},
            occurred_at=at + timedelta(seconds=3),
        ),
    ]


async def test_appended_bytes_match_the_pinned_serialisation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Rows already stored must keep verifying: any change to what is hashed or stored,
    # down to one byte of JSON, fails here. The values were computed before the append
    # path was optimised; never update them to make a change pass.
    keys = itertools.count()
    monkeypatch.setattr(secrets, "token_bytes", lambda n: next(keys).to_bytes(n, "big"))
    fake = _CapturingConnection()

    records = await append(conn=cast(Connection, fake), events=_golden_events())

    # Every value sent, in order, whichever statements carry them (the personal rows
    # travelled in a second statement until 2026-11-30; this value was computed from that
    # code and holds for today's single statement).
    sent = [value for _, args in fake.executed for value in args]
    stored = hashlib.sha256(repr(sent).encode()).hexdigest()
    assert records[-1].hash == "52ba8e3739717dad5c6c4616519e00cab084c69e2dda7740366dfd9c5df4a07d"
    assert stored == "f5e2d6543400c825ab6f2e89896d90d01ae13005e258e7fcb028ea0152dca20b"
    assert [r.hash for r in records] == [chain_hash(r.prev_hash, r.content()) for r in records]


def test_linking_carries_every_event_field() -> None:
    # _link builds the chained AuditEvent field by field (cheaper than replace): a new field
    # must be added there too, and here.
    assert [f.name for f in fields(AuditEvent)] == [
        "operation",
        "request_id",
        "client_address",
        "order_id",
        "customer_request_id",
        "decision",
        "reason",
        "outcome",
        "admin_calls",
        "details",
        "occurred_at",
    ]


@pytest.mark.parametrize(
    ("details", "error"),
    [
        ({"at": datetime(2026, 1, 1)}, TypeError),  # noqa: DTZ001
        ({"x": object()}, TypeError),
        ({"x": math.nan}, ValueError),
        ({"comment": "x", 1: "y"}, TypeError),  # keys that cannot be sorted together
        ({"x": b"bytes"}, TypeError),
        ({"x": "\ud800"}, UnicodeEncodeError),  # a lone surrogate has no UTF-8
        ({"comment": "\ud800"}, UnicodeEncodeError),
    ],
)
async def test_append_refuses_details_that_are_not_json(
    details: dict[object, object], error: type[Exception]
) -> None:
    event = AuditEvent("x", "req-1", "203.0.113.7", details=cast(dict[str, object], details))
    fake = _CapturingConnection()

    with pytest.raises(error):
        await append(conn=cast(Connection, fake), events=[event])
    assert fake.executed == []


async def test_appended_chain_verifies(conn: asyncpg.Connection) -> None:
    event = AuditEvent(
        operation="requestCancellation",
        request_id="req-1",
        client_address=None,
        order_id="gid://shopify/Order/1",
        decision="cancelled",
        reason="ORDERED_BY_MISTAKE",
        admin_calls=(AdminCallRecord("OrderCancel", 10, 8),),
        details={"comment": "Bestilte feil størrelse", "at": datetime.now(UTC)},
    )
    await append(conn=conn, events=[event, _event(2)])
    await append(conn=conn, events=[_event(3)])

    result = await verify(conn=conn)
    assert (result.intact, result.checked, result.problem) == (True, 3, None)


async def test_append_links_consecutive_rows(conn: asyncpg.Connection) -> None:
    records = await append(conn=conn, events=[_event(n) for n in range(3)])

    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert records[2].hash == chain_hash(records[2].prev_hash, records[2].content())


async def test_occurred_at_never_goes_below_the_head(conn: asyncpg.Connection) -> None:
    later = datetime.now(UTC) + timedelta(minutes=5)
    await append(conn=conn, events=[_event(1, at=later)])

    (record,) = await append(conn=conn, events=[_event(2)])

    assert record.occurred_at == later


async def test_append_joins_the_callers_transaction(conn: asyncpg.Connection) -> None:
    transaction = conn.transaction()
    await transaction.start()
    await append(conn=conn, events=[_event(1)])
    await transaction.rollback()

    (record,) = await append(conn=conn, events=[_event(2)])

    assert record.seq == 1
    assert await conn.fetchval("SELECT count(*) FROM audit_events") == 1


async def test_concurrent_appends_from_two_pools_keep_one_chain(
    make_database: DatabaseFactory,
) -> None:
    dsn = await make_database()
    pools = [await create_pool(dsn, max_size=8) for _ in range(2)]

    async def writer(pool: asyncpg.Pool, task: int) -> None:
        for n in range(10):
            async with pool.acquire() as connection:
                await append(conn=connection, events=[_event(task * 100 + n)])

    try:
        await asyncio.gather(*(writer(pool, t) for pool in pools for t in range(20)))
        async with pools[0].acquire() as connection:
            seqs = [r["seq"] for r in await connection.fetch("SELECT seq FROM audit_events")]
            result = await verify(conn=connection)
    finally:
        for pool in pools:
            await pool.close()

    assert sorted(seqs) == list(range(1, 401))
    assert (result.intact, result.checked) == (True, 400)


async def test_verify_catches_an_edited_row(conn: asyncpg.Connection) -> None:
    await append(conn=conn, events=[_event(n) for n in range(4)])
    await _tamper(conn, "UPDATE audit_events SET decision = 'approved' WHERE seq = 3")

    result = await verify(conn=conn)

    assert (result.intact, result.first_broken_seq, result.checked) == (False, 3, 2)
    assert "content" in str(result.problem)


async def test_verify_catches_a_deleted_row(conn: asyncpg.Connection) -> None:
    await append(conn=conn, events=[_event(n) for n in range(4)])
    await _tamper(conn, "DELETE FROM audit_events WHERE seq = 2")

    result = await verify(conn=conn)

    assert (result.intact, result.first_broken_seq) == (False, 2)


async def test_verify_catches_a_deleted_newest_row(conn: asyncpg.Connection) -> None:
    await append(conn=conn, events=[_event(n) for n in range(4)])
    await _tamper(conn, "DELETE FROM audit_events WHERE seq = 4")

    result = await verify(conn=conn)

    assert (result.intact, result.first_broken_seq) == (False, 4)


async def test_verify_catches_a_broken_link(conn: asyncpg.Connection) -> None:
    records = await append(conn=conn, events=[_event(n) for n in range(4)])
    # A forged row that hashes correctly on its own but does not link to its predecessor.
    forged_prev = "f" * 64
    forged_hash = chain_hash(forged_prev, records[2].content())
    await _tamper(
        conn,
        "UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE seq = 3",
        forged_prev,
        forged_hash,
    )

    result = await verify(conn=conn)

    assert (result.intact, result.first_broken_seq) == (False, 3)
    assert "link" in str(result.problem)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET outcome = 'error'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "DELETE FROM audit_chain_head",
    ],
)
async def test_database_refuses_changes_to_the_log(
    conn: asyncpg.Connection, statement: str
) -> None:
    await append(conn=conn, events=[_event(1)])

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await conn.execute(statement)


async def test_database_refuses_truncating_a_partition(conn: asyncpg.Connection) -> None:
    (record,) = await append(conn=conn, events=[_event(1)])
    name = partition_name(record.occurred_at.year, record.occurred_at.month)

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await conn.execute(f"TRUNCATE {name}")


async def test_export_filters_by_order(conn: asyncpg.Connection) -> None:
    await append(conn=conn, events=[_event(n, order=f"order-{n % 2}") for n in range(5)])

    rows = [row async for row in export(conn=conn, order_id="order-1")]

    assert [row["seq"] for row in rows] == [2, 4]
    assert rows[0]["request_id"] == "req-1"
    assert isinstance(rows[0]["occurred_at"], str)


async def test_export_filters_by_time(conn: asyncpg.Connection) -> None:
    start = datetime(2026, 1, 10, tzinfo=UTC)
    await append(conn=conn, events=[_event(n, at=start + timedelta(days=n)) for n in range(5)])

    rows = [
        row
        async for row in export(
            conn=conn, since=start + timedelta(days=1), until=start + timedelta(days=3)
        )
    ]

    assert [row["seq"] for row in rows] == [2, 3]


async def test_append_creates_a_missing_month_partition(conn: asyncpg.Connection) -> None:
    far = datetime(2031, 7, 4, 12, tzinfo=UTC)

    await append(conn=conn, events=[_event(1, at=far)])

    assert "audit_events_2031_07" in await _partitions(conn)


async def test_ensure_partitions_creates_months_ahead(conn: asyncpg.Connection) -> None:
    await ensure_partitions(conn=conn, now=datetime(2030, 11, 20, tzinfo=UTC), months_ahead=2)

    expected = {"audit_events_2030_11", "audit_events_2030_12", "audit_events_2031_01"}
    assert expected <= await _partitions(conn)


async def test_concurrent_partition_creation_is_safe(make_database: DatabaseFactory) -> None:
    dsn = await make_database()
    pool = await create_pool(dsn, max_size=6)
    month = datetime(2032, 3, 1, tzinfo=UTC)

    async def create() -> None:
        async with pool.acquire() as connection:
            await ensure_partitions(conn=connection, now=month, months_ahead=3)

    try:
        await asyncio.gather(*(create() for _ in range(6)))
    finally:
        await pool.close()


async def test_dropping_old_partitions_keeps_the_chain_verifiable(
    conn: asyncpg.Connection,
) -> None:
    months = [datetime(2025, m, 15, tzinfo=UTC) for m in (1, 2, 3)]
    await append(conn=conn, events=[_event(n, at=at) for n, at in enumerate(months)])
    await append(conn=conn, events=[_event(9)])

    dropped = await drop_partitions_before(conn=conn, cutoff=datetime(2025, 3, 1, tzinfo=UTC))
    result = await verify(conn=conn)

    assert dropped == ["audit_events_2025_01", "audit_events_2025_02"]
    assert (result.intact, result.checked) == (True, 2)


async def test_retention_refuses_a_cutoff_in_the_future(conn: asyncpg.Connection) -> None:
    with pytest.raises(ValueError, match="future"):
        await drop_partitions_before(conn=conn, cutoff=datetime.now(UTC) + timedelta(days=1))


def test_partition_names_come_only_from_valid_months() -> None:
    assert partition_name(2026, 11) == "audit_events_2026_11"
    with pytest.raises(ValueError, match="no audit partition"):
        partition_name(2026, 13)
