"""Migration steps that need Python, run by `ordergate migrate` in the transaction of the
`.sql` file they are named after: `0008_erasable_audit` moves the personal data of existing
audit rows out of the chain and re-chains them (db/migrations/0008_erasable_audit.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import asyncpg

from service.storage.audit import (
    GENESIS_HASH,
    AuditRecord,
    canonical_json,
    chain_hash,
    event_from_row,
    seal_personal,
)
from service.storage.connection import Connection

BATCH = 5000

_LOCK_HEAD = "SELECT seq, hash FROM audit_chain_head FOR UPDATE"
_LEGACY_ROWS = """
SELECT seq, occurred_at, operation, request_id, client_address, order_id, customer_request_id,
       decision, reason, outcome, admin_calls::text AS admin_calls, details::text AS details,
       prev_hash, hash
FROM audit_events ORDER BY seq
"""
_REWRITE = """
UPDATE audit_events e
SET client_address = NULL, details = u.details::json, personal_digest = u.digest,
    prev_hash = u.prev_hash, hash = u.hash
FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[])
    AS u (seq, occurred_at, details, digest, prev_hash, hash)
WHERE e.seq = u.seq AND e.occurred_at = u.occurred_at
"""
_KEEP_PERSONAL = """
INSERT INTO audit_personal (seq, occurred_at, order_id, key, data)
SELECT seq, occurred_at, order_id, key, data::json
FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::bytea[], $5::text[])
    AS row (seq, occurred_at, order_id, key, data)
"""
_MOVE_HEAD = "UPDATE audit_chain_head SET hash = $1"
# Row triggers refuse UPDATE; ALTER TABLE takes an exclusive lock, so no other session sees
# them off, and the transaction turns them back on before anyone can write.
_TRIGGERS_OFF = "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"
_TRIGGERS_ON = "ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"


class LegacyChainBroken(RuntimeError):
    """The chain was already broken before the migration: re-chaining would hide it."""


def _legacy(row: asyncpg.Record) -> AuditRecord:
    return AuditRecord(
        row["seq"], row["occurred_at"], event_from_row(row), row["prev_hash"], row["hash"]
    )


class _Rechain:
    """Walks the old chain in seq order, checking each link, and builds the new one."""

    def __init__(self) -> None:
        self.old_prev: str | None = None
        self.new_prev: str | None = None
        self.rows: list[list[Any]] = [[] for _ in range(6)]
        self.personal: list[list[Any]] = [[] for _ in range(5)]

    def take(self, old: AuditRecord) -> None:
        first = self.old_prev is None
        if first and old.seq == 1 and old.prev_hash != GENESIS_HASH:
            raise LegacyChainBroken("row 1 does not start from the genesis hash")
        if not first and old.prev_hash != self.old_prev:
            raise LegacyChainBroken(f"row {old.seq} does not link to the row before")
        if chain_hash(old.prev_hash, old.content()) != old.hash:
            raise LegacyChainBroken(f"row {old.seq} does not match its hash")
        # The oldest kept row's link to rows retention dropped is the anchor: kept as it is.
        prev = old.prev_hash if first else self.new_prev
        assert prev is not None
        new, personal = seal_personal(replace(old, prev_hash=prev))
        new = replace(new, hash=chain_hash(prev, new.content()))
        self.old_prev, self.new_prev = old.hash, new.hash
        for column, value in zip(
            self.rows,
            (
                new.seq,
                new.occurred_at,
                canonical_json(dict(new.event.details)).decode(),
                new.personal_digest,
                new.prev_hash,
                new.hash,
            ),
            strict=True,
        ):
            column.append(value)
        if personal is not None:
            self.personal[0].append(personal.seq)
            self.personal[1].append(personal.occurred_at)
            self.personal[2].append(personal.order_id)
            self.personal[3].append(personal.key)
            self.personal[4].append(canonical_json(personal.data).decode())

    async def flush(self, conn: Connection) -> None:
        if self.rows[0]:
            await conn.execute(_REWRITE, *self.rows)
        if self.personal[0]:
            await conn.execute(_KEEP_PERSONAL, *self.personal)
        self.rows = [[] for _ in range(6)]
        self.personal = [[] for _ in range(5)]


async def rechain_personal(conn: Connection) -> int:
    """Moves every audit row's personal part out and re-chains; returns the rows rewritten.

    Runs inside the migration's transaction, holding the chain head: appends wait.
    """
    head = await conn.fetchrow(_LOCK_HEAD)
    assert head is not None, "audit_chain_head is empty"
    await conn.execute(_TRIGGERS_OFF)
    walk, count = _Rechain(), 0
    async for row in conn.cursor(_LEGACY_ROWS, prefetch=BATCH):
        walk.take(_legacy(row))
        count += 1
        if len(walk.rows[0]) >= BATCH:
            await walk.flush(conn)
    await walk.flush(conn)
    if walk.old_prev is not None and walk.old_prev != head["hash"]:
        raise LegacyChainBroken("rows after the last one are missing")
    if walk.new_prev is not None:
        await conn.execute(_MOVE_HEAD, walk.new_prev)
    await conn.execute(_TRIGGERS_ON)
    return count


STEPS: dict[str, Callable[[Connection], Awaitable[object]]] = {
    "0008_erasable_audit": rechain_personal,
}
"""Python steps by the migration file they finish, run in that file's transaction."""
