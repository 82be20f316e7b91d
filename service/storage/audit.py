"""The tamper-evident audit log: hash-chained append, verify, export, monthly partitions.

Personal data (the client's address, the caller's own request id) is stored apart from the
chained row, in `audit_personal`, with a random key of its own; the chained row holds
`personal_digest`, an HMAC of that data under that key. Erasing deletes the personal row and
its key: the chain still verifies, and the digest left behind cannot be brute-forced by
anyone, the holder of ORDERGATE_SECRET_KEY included (db/migrations/0008_erasable_audit.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from service.storage.connection import Connection

GENESIS_HASH = "0" * 64
PERSONAL_DETAIL_KEYS = frozenset({"client_request_id", "comment", "contact"})
"""Detail keys that may identify a person: stored apart from the chained row, erasable."""
_PERSONAL_KEY_BYTES = 32
_PARTITION_NAME = re.compile(r"^audit_events_(\d{4})_(\d{2})$")


@dataclass(frozen=True)
class AdminCallRecord:
    """One Shopify Admin call made while serving the operation, with its query cost."""

    operation: str
    requested_cost: int | None
    actual_cost: int | None


@dataclass(frozen=True)
class AuditEvent:
    """What happened: one storefront operation or one state change of a request."""

    operation: str
    request_id: str
    client_address: str | None
    order_id: str | None = None
    customer_request_id: str | None = None
    decision: str | None = None
    reason: str | None = None
    outcome: str = "ok"
    admin_calls: tuple[AdminCallRecord, ...] = ()
    details: Mapping[str, object] = field(default_factory=dict)
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class AuditRecord:
    """A stored audit row: the event, its place in the chain and its hashes."""

    seq: int
    occurred_at: datetime
    event: AuditEvent
    prev_hash: str
    hash: str
    personal_digest: str | None = None
    """HMAC of the personal part under its own key; None when the event carried none."""
    personal: Mapping[str, object] | None = None
    """The personal part while it is kept: `client_address` and personal `details`."""

    def content(self) -> dict[str, object]:
        """Everything the row's hash covers except `prev_hash`: the personal part only as
        its digest (a row without one hashes exactly as rows did before 0008)."""
        return _content(self.seq, self.occurred_at, self.event, self.personal_digest)

    def to_json(self) -> dict[str, object]:
        """The row as plain JSON values, as `ordergate audit export` prints it: the personal
        part put back while it is kept (`personal_erased` once it is not)."""
        data: dict[str, object] = json.loads(canonical_json(self.content()))
        if self.personal is not None:
            personal = json.loads(canonical_json(dict(self.personal)))
            data["client_address"] = personal.get("client_address")
            data["details"] = {**data["details"], **personal.get("details", {})}  # type: ignore[dict-item]
        data["personal_erased"] = self.personal_digest is not None and self.personal is None
        return {**data, "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking the chain; `first_broken_seq` names the first bad row."""

    intact: bool
    checked: int
    first_broken_seq: int | None = None
    problem: str | None = None


def _content(
    seq: int, occurred_at: datetime, event: AuditEvent, digest: str | None
) -> dict[str, object]:
    # AuditRecord.content, callable while linking before the record is built.
    content: dict[str, object] = {
        "seq": seq,
        "occurred_at": occurred_at,
        "operation": event.operation,
        "request_id": event.request_id,
        "client_address": event.client_address,
        "order_id": event.order_id,
        "customer_request_id": event.customer_request_id,
        "decision": event.decision,
        "reason": event.reason,
        "outcome": event.outcome,
        "admin_calls": [_admin_call_json(call) for call in event.admin_calls],
        "details": dict(event.details),
    }
    if digest is not None:
        content["personal_digest"] = digest
    return content


def _admin_call_json(call: AdminCallRecord) -> dict[str, object]:
    return {
        "operation": call.operation,
        "requested_cost": call.requested_cost,
        "actual_cost": call.actual_cost,
    }


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("audit timestamps must be timezone-aware")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-able in the audit log")


# Built once: json.dumps with any non-default option constructs a new encoder per call,
# a sizeable share of an append's CPU. Same options, so the same bytes.
_CANONICAL_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_json_default,
)


def _canonical_text(value: object) -> str:
    """`canonical_json` before UTF-8 encoding, for the columns that travel as text."""
    return _CANONICAL_ENCODER.encode(value)


def canonical_json(value: object) -> bytes:
    """The one serialisation that is hashed: sorted keys, compact, UTF-8, ISO UTC datetimes."""
    return _canonical_text(value).encode("utf-8")


def chain_hash(prev_hash: str, content: Mapping[str, object]) -> str:
    """sha256 over the previous link and the row's canonical content."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(content)).hexdigest()


def personal_digest(key: bytes, personal: Mapping[str, object]) -> str:
    """HMAC-SHA256 of the personal part under the row's own random key."""
    return hmac.new(key, canonical_json(dict(personal)), hashlib.sha256).hexdigest()


def split_personal(event: AuditEvent) -> tuple[AuditEvent, dict[str, object] | None]:
    """The event as chained (no client address, no personal details) and its personal part,
    None when it has none."""
    kept = {k: v for k, v in event.details.items() if k not in PERSONAL_DETAIL_KEYS}
    personal_details = {
        k: v for k, v in event.details.items() if k in PERSONAL_DETAIL_KEYS and v is not None
    }
    personal: dict[str, object] = {}
    if event.client_address is not None:
        personal["client_address"] = event.client_address
    if personal_details:
        personal["details"] = personal_details
    return replace(event, client_address=None, details=kept), personal or None


def _in_transaction(conn: Connection) -> AbstractAsyncContextManager[object]:
    # Join the caller's transaction so its intent and our rows commit together.
    return nullcontext() if conn.is_in_transaction() else conn.transaction()


# Lock the head first, then make sure the months the new rows fall in have partitions:
# a row's time is max(its own time, the head's), so greatest() names every month needed.
LOCK_HEAD_AND_ENSURE_PARTITIONS = """
WITH head AS MATERIALIZED (SELECT seq, hash, occurred_at FROM audit_chain_head FOR UPDATE)
SELECT seq, hash, occurred_at,
       (SELECT count(audit_ensure_partition(greatest(m, head.occurred_at)))
        FROM unnest($1::timestamptz[]) AS m) AS months
FROM head
"""
ENSURE_PARTITIONS = "SELECT audit_ensure_partition(m) FROM unnest($1::timestamptz[]) AS m"
# The chained rows, their personal rows (none: empty arrays) and the head, in one statement:
# one round trip per batch.
INSERT_AND_ADVANCE = """
WITH inserted AS (
    INSERT INTO audit_events (
        seq, occurred_at, operation, request_id, client_address, order_id,
        customer_request_id, decision, reason, outcome, admin_calls, details, prev_hash, hash,
        personal_digest
    )
    -- JSON travels as text so connection codecs cannot re-encode the hashed bytes.
    SELECT seq, occurred_at, operation, request_id, client_address, order_id,
           customer_request_id, decision, reason, outcome, admin_calls::json, details::json,
           prev_hash, hash, personal_digest
    FROM unnest(
        $1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
        $13::text[], $14::text[], $15::text[]
    ) AS row (
        seq, occurred_at, operation, request_id, client_address, order_id,
        customer_request_id, decision, reason, outcome, admin_calls, details, prev_hash, hash,
        personal_digest
    )
), kept_apart AS (
    INSERT INTO audit_personal (seq, occurred_at, order_id, key, data)
    SELECT seq, occurred_at, order_id, key, data::json
    FROM unnest($19::bigint[], $20::timestamptz[], $21::text[], $22::bytea[], $23::text[])
        AS row (seq, occurred_at, order_id, key, data)
)
UPDATE audit_chain_head SET seq = $16, hash = $17, occurred_at = $18
"""


@dataclass(frozen=True)
class _Personal:
    """A personal row to store beside its chained row."""

    seq: int
    occurred_at: datetime
    order_id: str | None
    key: bytes
    data: dict[str, object]


def seal_personal(record: AuditRecord) -> tuple[AuditRecord, _Personal | None]:
    """The record as chained, with the personal part moved out under a fresh random key."""
    kept, personal = split_personal(record.event)
    if personal is None:
        return replace(record, event=kept, personal_digest=None, personal=None), None
    personal = json.loads(canonical_json(personal))
    key = secrets.token_bytes(_PERSONAL_KEY_BYTES)
    row = _Personal(record.seq, record.occurred_at, kept.order_id, key, personal)
    digest = personal_digest(key, personal)
    return replace(record, event=kept, personal_digest=digest, personal=personal), row


@dataclass(frozen=True, slots=True)
class _Linked:
    """A chained record and the JSON text of its two JSON columns, serialised once."""

    record: AuditRecord
    admin_calls: str
    details: str


@dataclass(frozen=True, slots=True)
class _SealedPersonal:
    """A personal row and the JSON text of its data, the bytes its digest covers."""

    row: _Personal
    data: str


def _link(
    events: Sequence[AuditEvent], head: asyncpg.Record, now: datetime
) -> tuple[list[_Linked], list[_SealedPersonal]]:
    """The events as chained records after `head`; the same rows `seal_personal` and
    `chain_hash` would make, with each piece serialised once (append's hot path)."""
    seq, prev_hash, floor = head["seq"], head["hash"], head["occurred_at"]
    linked, personal_rows = [], []
    for event in events:
        seq += 1
        moment = (event.occurred_at or now).astimezone(UTC)
        # Time never runs backwards along the chain, so retention by month only cuts a prefix.
        occurred_at = max(moment, floor) if floor is not None else moment
        # The round trip refuses what is not JSON and makes the details plain JSON (tuples
        # to lists, datetimes to strings, keys to strings), as stored and as hashed.
        details = json.loads(_canonical_text(dict(event.details)))
        kept: dict[str, object] = {}
        personal_details: dict[str, object] = {}
        for name, value in details.items():
            if name not in PERSONAL_DETAIL_KEYS:
                kept[name] = value
            elif value is not None:
                personal_details[name] = value
        # split_personal's event, built directly: dataclasses.replace costs more than this.
        chained = AuditEvent(
            operation=event.operation,
            request_id=event.request_id,
            client_address=None,
            order_id=event.order_id,
            customer_request_id=event.customer_request_id,
            decision=event.decision,
            reason=event.reason,
            outcome=event.outcome,
            admin_calls=event.admin_calls,
            details=kept,
            occurred_at=occurred_at,
        )
        personal, digest = _seal(
            seq, occurred_at, event.order_id, event.client_address, personal_details
        )
        if personal is not None:
            personal_rows.append(personal)
        content = _content(seq, occurred_at, chained, digest)
        row_hash = chain_hash(prev_hash, content)
        record = AuditRecord(
            seq,
            occurred_at,
            chained,
            prev_hash,
            row_hash,
            personal_digest=digest,
            personal=personal.row.data if personal is not None else None,
        )
        admin_calls = _canonical_text(content["admin_calls"])
        linked.append(_Linked(record, admin_calls, _canonical_text(content["details"])))
        prev_hash, floor = row_hash, occurred_at
    return linked, personal_rows


def _seal(
    seq: int,
    occurred_at: datetime,
    order_id: str | None,
    client_address: str | None,
    details: dict[str, object],
) -> tuple[_SealedPersonal | None, str | None]:
    """seal_personal's personal row and digest for details already plain JSON."""
    personal: dict[str, object] = {}
    if client_address is not None:
        personal["client_address"] = client_address
    if details:
        personal["details"] = details
    if not personal:
        return None, None
    text = _canonical_text(personal)
    if client_address is not None and type(client_address) is not str:
        # Only a caller's non-str address can still change in a JSON round trip.
        personal = json.loads(text)
        text = _canonical_text(personal)
    key = secrets.token_bytes(_PERSONAL_KEY_BYTES)
    digest = hmac.digest(key, text.encode("utf-8"), "sha256").hex()
    return _SealedPersonal(_Personal(seq, occurred_at, order_id, key, personal), text), digest


def _columns(rows: list[_Linked]) -> list[list[Any]]:
    records = [row.record for row in rows]
    return [
        [r.seq for r in records],
        [r.occurred_at for r in records],
        [r.event.operation for r in records],
        [r.event.request_id for r in records],
        [r.event.client_address for r in records],
        [r.event.order_id for r in records],
        [r.event.customer_request_id for r in records],
        [r.event.decision for r in records],
        [r.event.reason for r in records],
        [r.event.outcome for r in records],
        [row.admin_calls for row in rows],
        [row.details for row in rows],
        [r.prev_hash for r in records],
        [r.hash for r in records],
        [r.personal_digest for r in records],
    ]


def _personal_columns(rows: list[_SealedPersonal]) -> list[list[Any]]:
    return [
        [sealed.row.seq for sealed in rows],
        [sealed.row.occurred_at for sealed in rows],
        [sealed.row.order_id for sealed in rows],
        [sealed.row.key for sealed in rows],
        [sealed.data for sealed in rows],
    ]


async def append(*, conn: Connection, events: Sequence[AuditEvent]) -> list[AuditRecord]:
    """Appends events to the chain, inside the caller's transaction when there is one."""
    if not events:
        return []
    now = datetime.now(UTC)
    for event in events:
        if event.occurred_at is not None and event.occurred_at.tzinfo is None:
            raise ValueError("AuditEvent.occurred_at must be timezone-aware")
    months = sorted({_add_months((e.occurred_at or now).astimezone(UTC), 0) for e in events})
    async with _in_transaction(conn):
        head = await conn.fetchrow(LOCK_HEAD_AND_ENSURE_PARTITIONS, months)
        if head is None:
            raise RuntimeError("audit_chain_head is empty: the audit migration did not run")
        linked, personal = _link(events, head, now)
        last = linked[-1].record
        await conn.execute(
            INSERT_AND_ADVANCE,
            *_columns(linked),
            last.seq,
            last.hash,
            last.occurred_at,
            *_personal_columns(personal),
        )
    return [row.record for row in linked]


SELECT_COLUMNS = """
SELECT e.seq, e.occurred_at, e.operation, e.request_id, e.client_address, e.order_id,
       e.customer_request_id, e.decision, e.reason, e.outcome,
       e.admin_calls::text AS admin_calls, e.details::text AS details, e.prev_hash, e.hash,
       e.personal_digest, p.key AS personal_key, p.data::text AS personal
FROM audit_events e LEFT JOIN audit_personal p ON p.seq = e.seq
"""
SELECT_ALL = SELECT_COLUMNS + "ORDER BY e.seq"
SELECT_FILTERED = (
    SELECT_COLUMNS
    + """WHERE ($1::text[] IS NULL OR e.order_id = any($1::text[]))
  AND ($2::timestamptz IS NULL OR e.occurred_at >= $2)
  AND ($3::timestamptz IS NULL OR e.occurred_at < $3)
ORDER BY e.seq"""
)
READ_HEAD = "SELECT seq, hash FROM audit_chain_head"


def event_from_row(row: asyncpg.Record) -> AuditEvent:
    """The event a stored row records (its client address as the row gives it)."""
    return AuditEvent(
        operation=row["operation"],
        request_id=row["request_id"],
        client_address=row["client_address"],
        order_id=row["order_id"],
        customer_request_id=row["customer_request_id"],
        decision=row["decision"],
        reason=row["reason"],
        outcome=row["outcome"],
        admin_calls=tuple(AdminCallRecord(**call) for call in json.loads(row["admin_calls"])),
        details=json.loads(row["details"]),
        occurred_at=row["occurred_at"],
    )


def _record(row: asyncpg.Record) -> AuditRecord:
    event = event_from_row(row)
    personal = json.loads(row["personal"]) if row["personal"] is not None else None
    return AuditRecord(
        row["seq"],
        row["occurred_at"],
        event,
        row["prev_hash"],
        row["hash"],
        personal_digest=row["personal_digest"],
        personal=personal,
    )


def _personal_problem(record: AuditRecord, key: bytes | None) -> str | None:
    """What is wrong between a row's digest and its kept personal part, if anything."""
    if record.personal is None:
        return None
    if record.personal_digest is None or key is None:
        return "personal data kept for a row that committed to none"
    if not hmac.compare_digest(personal_digest(key, record.personal), record.personal_digest):
        return "personal data does not match the row's digest"
    return None


def _snapshot(conn: Connection) -> AbstractAsyncContextManager[object]:
    # One snapshot for the head and every row, so concurrent appends cannot look like damage.
    if conn.is_in_transaction():
        return nullcontext()
    return conn.transaction(isolation="repeatable_read", readonly=True)


def _broken(checked: int, seq: int, problem: str) -> VerifyResult:
    return VerifyResult(intact=False, checked=checked, first_broken_seq=seq, problem=problem)


async def verify(*, conn: Connection) -> VerifyResult:
    """Walks the chain in seq order; the oldest retained row's prev_hash is the anchor."""
    checked, expected_seq, prev_hash = 0, None, None
    async with _snapshot(conn):
        head = await conn.fetchrow(READ_HEAD)
        async for row in conn.cursor(SELECT_ALL, prefetch=1000):
            record = _record(row)
            if expected_seq is not None and record.seq != expected_seq:
                return _broken(checked, expected_seq, f"row {expected_seq} is missing")
            if prev_hash is None and record.seq == 1 and record.prev_hash != GENESIS_HASH:
                return _broken(checked, 1, "the first row does not start from the genesis hash")
            if prev_hash is not None and record.prev_hash != prev_hash:
                return _broken(checked, record.seq, "prev_hash does not link to the row before")
            if chain_hash(record.prev_hash, record.content()) != record.hash:
                return _broken(checked, record.seq, "hash does not match the row's content")
            problem = _personal_problem(record, row["personal_key"])
            if problem is not None:
                return _broken(checked, record.seq, problem)
            checked, expected_seq, prev_hash = checked + 1, record.seq + 1, record.hash
    if head is not None and expected_seq is not None and head["hash"] != prev_hash:
        return _broken(checked, expected_seq, f"rows after {expected_seq - 1} are missing")
    return VerifyResult(intact=True, checked=checked)


async def export(
    *,
    conn: Connection,
    order_id: str | None = None,
    order_ids: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AsyncIterator[dict[str, object]]:
    """Audit rows as JSON-able dicts in seq order; `since` inclusive, `until` exclusive;
    only those of `order_id` or of any of `order_ids` when given."""
    orders = [order_id] if order_id is not None else None
    if order_ids is not None:
        orders = [*(orders or []), *order_ids]
    async with _snapshot(conn):
        async for row in conn.cursor(SELECT_FILTERED, orders, since, until, prefetch=1000):
            yield _record(row).to_json()


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


async def ensure_partitions(*, conn: Connection, now: datetime, months_ahead: int = 2) -> None:
    """Creates this month's partition and the next `months_ahead` ones unless they exist."""
    start = now.astimezone(UTC)
    months = [_add_months(start, offset) for offset in range(months_ahead + 1)]
    await conn.execute(ENSURE_PARTITIONS, months)


LIST_PARTITIONS = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'audit_events'::regclass ORDER BY c.relname
"""


def partition_name(year: int, month: int) -> str:
    """`audit_events_YYYY_MM`, built only from validated integers (it becomes an identifier)."""
    if not (isinstance(year, int) and isinstance(month, int)):
        raise TypeError("partition year and month must be integers")
    if not (1970 <= year <= 9999 and 1 <= month <= 12):
        raise ValueError(f"no audit partition for {year}-{month}")
    return f"audit_events_{year:04d}_{month:02d}"


DROP_PERSONAL_BEFORE = "DELETE FROM audit_personal WHERE occurred_at < $1"


async def drop_partitions_before(*, conn: Connection, cutoff: datetime) -> list[str]:
    """Drops whole monthly partitions that end at or before `cutoff`, and the personal rows
    of their events; returns their names. The chain head stays: `verify` anchors on the
    oldest row that remains."""
    if cutoff > datetime.now(UTC):
        raise ValueError("retention cutoff lies in the future")
    dropped, latest_end = [], None
    async with _in_transaction(conn):
        for row in await conn.fetch(LIST_PARTITIONS):
            match = _PARTITION_NAME.match(row["relname"])
            if match is None:
                continue
            year, month = int(match[1]), int(match[2])
            ends = _add_months(datetime(year, month, 1, tzinfo=UTC), 1)
            if ends <= cutoff:
                name = partition_name(year, month)
                # DDL cannot take $n parameters; the name comes from two checked integers.
                await conn.execute(f"DROP TABLE {name}")
                dropped.append(name)
                latest_end = ends if latest_end is None else max(latest_end, ends)
        if latest_end is not None:
            # One delete for every dropped month: each ends at or before the latest.
            await conn.execute(DROP_PERSONAL_BEFORE, latest_end)
    return dropped
