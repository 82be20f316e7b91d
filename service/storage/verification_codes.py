"""One-time verification codes in Postgres: kept only as a keyed hash, tried at most a few
times, used once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.storage.database import Connection

MAX_ATTEMPTS = 5

_RECENT = """
select count(*) as sent, max(created_at) as latest
from verification_codes where order_id = $1 and created_at > $2
"""
_INSERT = """
insert into verification_codes (id, order_id, digest, created_at, expires_at)
values ($1::uuid, $2, $3, $4, $5)
"""
# The newest code of the order that may still be tried, locked for this transaction so two
# tries of one code are counted one after the other.
_CURRENT = """
select id::text, digest, attempts from verification_codes
where order_id = $1 and used_at is null and expires_at > $2 and attempts < $3
order by created_at desc limit 1
for update
"""
_COUNT_FAILURE = "update verification_codes set attempts = attempts + 1 where id = $1::uuid"
_USE = """
update verification_codes set used_at = $2 where id = $1::uuid and used_at is null
returning id
"""
_FORGET_OLD = "delete from verification_codes where expires_at < $1"


@dataclass(frozen=True, slots=True)
class RecentCodes:
    """How many codes an order was sent since a moment, and when the latest was."""

    sent: int
    latest: datetime | None


@dataclass(frozen=True, slots=True)
class CurrentCode:
    """The code an order's customer may enter now."""

    id: str
    digest: str
    attempts: int


async def recent(*, conn: Connection, order_id: str, since: datetime) -> RecentCodes:
    """Codes sent for the order since `since`."""
    row = await conn.fetchrow(_RECENT, order_id, since)
    assert row is not None
    return RecentCodes(sent=row["sent"], latest=row["latest"])


async def create(
    *, conn: Connection, order_id: str, digest: str, now: datetime, ttl: timedelta
) -> str:
    """Store a new code's digest; the caller's transaction also queues the e-mail."""
    code_id = str(uuid.uuid4())
    await conn.execute(_INSERT, code_id, order_id, digest, now, now + ttl)
    return code_id


async def current(*, conn: Connection, order_id: str, now: datetime) -> CurrentCode | None:
    """The order's newest unused, unexpired code with tries left, locked until commit."""
    row = await conn.fetchrow(_CURRENT, order_id, now, MAX_ATTEMPTS)
    return CurrentCode(row["id"], row["digest"], row["attempts"]) if row else None


async def count_failure(*, conn: Connection, code_id: str) -> None:
    """One wrong try of the code."""
    await conn.execute(_COUNT_FAILURE, code_id)


async def use(*, conn: Connection, code_id: str, now: datetime) -> bool:
    """Mark the code used; False when another request used it first."""
    return await conn.fetchval(_USE, code_id, now) is not None


async def forget_expired(*, conn: Connection, now: datetime) -> None:
    """Drop codes that can no longer be used."""
    await conn.execute(_FORGET_OLD, now)
