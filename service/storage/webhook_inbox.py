"""The webhook inbox: signed deliveries stored before the 200, leased by workers, kept once done.

A delivery is stored once per (topic, delivery id): a redelivery is a no-op. Workers lease
due rows with `FOR UPDATE SKIP LOCKED`, do their work after the lease's transaction has
committed, and mark the rows processed after the effect, so a crash at any point leaves the
row due again once its lease runs out. Processed rows stay (the personal-data work prunes them).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from service.storage.database import Connection

# A failure is recorded as a kind ("timeout", "UpstreamUnavailable"), never as text: an error's
# words may quote the payload.
_ERROR_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_UNKNOWN_ERROR = "unknown"

# The payload travels as text and is cast in SQL, so the codecs a connection may or may not
# have registered for jsonb never matter.
_STORE = """
insert into webhook_inbox (id, delivery_id, topic, order_id, payload, received_at, next_attempt_at)
values ($1::uuid, $2, $3, $4, $5::text::jsonb, $6, $6)
on conflict (topic, delivery_id) do nothing
"""
# Leasing moves leased_until ahead: other workers skip the row until the lease runs out, and
# no transaction stays open while the worker talks to Shopify.
_LEASE_DUE = """
update webhook_inbox set leased_until = $2
where id in (
    select id from webhook_inbox due
    where processed_at is null
      and parked_at is null
      and next_attempt_at <= $1
      and (leased_until is null or leased_until <= $1)
      -- A burst about one order is taken whole: only once its order has been quiet since $4,
      -- or when it has waited since before $5 whatever follows.
      and (
        order_id is null
        or received_at <= $5
        or not exists (
          select 1 from webhook_inbox newer
          where newer.order_id = due.order_id
            and newer.processed_at is null
            and newer.received_at > $4
        )
      )
    order by next_attempt_at, received_at
    limit $3
    for update skip locked
)
returning id::text, delivery_id, topic, order_id, payload::text as payload, received_at, attempts
"""
_MARK_PROCESSED = """
update webhook_inbox set processed_at = $2, leased_until = null
where id = any($1::uuid[]) and processed_at is null
"""
_MARK_FAILED = """
update webhook_inbox
set attempts = attempts + 1, next_attempt_at = $2, leased_until = null, last_error = $3
where id = $1::uuid and processed_at is null and parked_at is null
"""
_PARK = """
update webhook_inbox
set attempts = attempts + 1, parked_at = $2, leased_until = null, last_error = $3
where id = $1::uuid and processed_at is null and parked_at is null
"""
_LAG = """
select coalesce(extract(epoch from ($1::timestamptz - min(received_at))), 0)::float8
from webhook_inbox where processed_at is null and parked_at is null
"""

Executor = asyncpg.Pool | Connection


@dataclass(frozen=True, slots=True)
class InboxRow:
    """A leased delivery: which order it is about (order topics) or its payload (compliance
    topics); `attempts` counts the failed tries so far."""

    id: str
    delivery_id: str
    topic: str
    order_id: str | None
    payload: dict[str, Any] | None
    received_at: datetime
    attempts: int


async def store(
    *,
    conn: Executor,
    delivery_id: str,
    topic: str,
    order_id: str | None,
    payload: Mapping[str, Any] | None,
    received_at: datetime,
) -> bool:
    """Store a delivery, due at once; False when this topic and delivery id are stored already."""
    text = json.dumps(dict(payload)) if payload is not None else None
    status = await conn.execute(
        _STORE, str(uuid.uuid4()), delivery_id, topic, order_id, text, received_at
    )
    return _changed(status)


async def lease_due(
    *,
    conn: Executor,
    now: datetime,
    limit: int,
    lease_seconds: float,
    quiet: timedelta = timedelta(0),
    max_wait: timedelta = timedelta(seconds=2),
) -> list[InboxRow]:
    """Lease up to `limit` due rows, oldest first; other workers skip them until the lease ends.

    Due: neither processed nor parked, `next_attempt_at` reached, no lease running, and its
    order quiet for `quiet` (no newer delivery), unless the row has waited `max_wait`.
    """
    rows = await conn.fetch(
        _LEASE_DUE,
        now,
        now + timedelta(seconds=lease_seconds),
        limit,
        now - quiet,
        now - max_wait,
    )
    leased = [
        InboxRow(
            id=row["id"],
            delivery_id=row["delivery_id"],
            topic=row["topic"],
            order_id=row["order_id"],
            payload=json.loads(row["payload"]) if row["payload"] is not None else None,
            received_at=row["received_at"],
            attempts=row["attempts"],
        )
        for row in rows
    ]
    return sorted(leased, key=lambda row: (row.received_at, row.id))


async def mark_processed(*, conn: Executor, ids: list[str], now: datetime) -> int:
    """Record that these rows' effects are done; returns how many were not recorded before."""
    if not ids:
        return 0
    return _count(await conn.execute(_MARK_PROCESSED, ids, now))


async def mark_failed(*, conn: Executor, id: str, retry_at: datetime, error_kind: str) -> bool:
    """Count a failed attempt of kind `error_kind`; the row is due again at `retry_at`."""
    return _changed(await conn.execute(_MARK_FAILED, id, retry_at, _kind(error_kind)))


async def park(*, conn: Executor, id: str, now: datetime, error_kind: str) -> bool:
    """Give up on a poison row: it counts this last failed attempt and is never leased again."""
    return _changed(await conn.execute(_PARK, id, now, _kind(error_kind)))


async def lag(*, conn: Executor, now: datetime) -> float:
    """Seconds the oldest row neither processed nor parked has waited; 0 when there is none."""
    seconds = await conn.fetchval(_LAG, now)
    return max(0.0, float(seconds or 0.0))


def _kind(error_kind: str) -> str:
    return error_kind if _ERROR_KIND.match(error_kind) else _UNKNOWN_ERROR


def _count(status: str) -> int:
    return int(status.split()[-1])


def _changed(status: str) -> bool:
    return _count(status) != 0
