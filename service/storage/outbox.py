"""The e-mail outbox: mail written with what caused it, leased by workers, erased once delivered."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.storage.database import Connection

CHANNEL = "email_outbox"
"""Postgres NOTIFY channel: a committed enqueue wakes the workers listening on it."""

# A failure is recorded as a kind ("connection", "timeout"), never as text: an SMTP server's
# answer may quote the recipient's address.
_ERROR_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_UNKNOWN_ERROR = "unknown"

_ENQUEUE = """
with queued as (
    insert into email_outbox (id, kind, sealed, order_id, created_at, next_attempt_at)
    values ($1::uuid, $2, $3, $4, $5, $5)
    returning id
)
select pg_notify($6, id::text) from queued
"""
# Leasing moves leased_until ahead: other workers skip the row until the lease runs out, and
# no transaction stays open while the SMTP server is talked to.
_LEASE_DUE = """
update email_outbox set leased_until = $2
where id in (
    select id from email_outbox
    where sent_at is null
      and next_attempt_at <= $1
      and (leased_until is null or leased_until <= $1)
    order by next_attempt_at
    limit $3
    for update skip locked
)
returning id::text, kind, sealed, order_id, attempts, created_at, leased_until
"""
_MARK_SENT = """
update email_outbox set sealed = null, sent_at = $2, leased_until = null, last_error = null
where id = $1::uuid and sent_at is null
"""
_MARK_FAILED = """
update email_outbox
set attempts = attempts + 1, next_attempt_at = $3, leased_until = null, last_error = $2
where id = $1::uuid and sent_at is null
"""
_RELEASE = """
update email_outbox set leased_until = null where id = any($1::uuid[]) and sent_at is null
"""
_STATS = """
select count(*)::int as pending,
       coalesce(extract(epoch from ($1::timestamptz - min(created_at))), 0)::float8 as oldest
from email_outbox where sent_at is null
"""
_PRUNE_SENT = "delete from email_outbox where sent_at < $1"


@dataclass(frozen=True, slots=True)
class LeasedMail:
    """A due mail a worker now holds until `leased_until`; `attempts` counts failures so far."""

    id: str
    kind: str
    sealed: bytes
    order_id: str | None
    attempts: int
    created_at: datetime
    leased_until: datetime


class OutboxStats(NamedTuple):
    """Mail not yet delivered, and how long the oldest of it has waited."""

    pending: int
    oldest_pending_age_seconds: float


Executor = asyncpg.Pool | Connection


async def enqueue(
    *, conn: Connection, kind: str, sealed: bytes, order_id: str | None, now: datetime
) -> str:
    """Queue a sealed mail inside the caller's transaction; due at once. Returns its id."""
    mail_id = str(uuid.uuid4())
    await conn.execute(_ENQUEUE, mail_id, kind, sealed, order_id, now, CHANNEL)
    return mail_id


async def lease_due(
    *, conn: Executor, now: datetime, limit: int, lease_seconds: float
) -> list[LeasedMail]:
    """Lease up to `limit` due mails, oldest due first; other workers skip them meanwhile."""
    leased_until = now + timedelta(seconds=lease_seconds)
    rows = await conn.fetch(_LEASE_DUE, now, leased_until, limit)
    mails = [LeasedMail(**dict(row)) for row in rows]
    return sorted(mails, key=lambda mail: (mail.created_at, mail.id))


async def mark_sent(*, conn: Executor, mail_id: str, now: datetime) -> bool:
    """Record the delivery and erase the message; False if it was already recorded."""
    return _changed(await conn.execute(_MARK_SENT, mail_id, now))


async def mark_failed(*, conn: Executor, mail_id: str, error_kind: str, retry_at: datetime) -> bool:
    """Record a failed attempt of kind `error_kind` and when to try again."""
    kind = error_kind if _ERROR_KIND.match(error_kind) else _UNKNOWN_ERROR
    return _changed(await conn.execute(_MARK_FAILED, mail_id, kind, retry_at))


async def release(*, conn: Executor, mail_ids: list[str]) -> None:
    """Give back leased mails that were not tried, so any worker may take them at once."""
    if mail_ids:
        await conn.execute(_RELEASE, mail_ids)


async def stats(*, conn: Executor, now: datetime) -> OutboxStats:
    """How many mails wait for delivery, and the age in seconds of the oldest (0 if none)."""
    row = await conn.fetchrow(_STATS, now)
    if row is None:  # an aggregate always returns a row; this keeps the types honest
        return OutboxStats(0, 0.0)
    return OutboxStats(row["pending"], max(0.0, row["oldest"]))


async def prune_sent(*, conn: Executor, sent_before: datetime) -> int:
    """Forget delivered mails sent before `sent_before`; returns how many."""
    status = await conn.execute(_PRUNE_SENT, sent_before)
    return int(status.split()[-1])


class OutboxListener:
    """Holds one pool connection that LISTENs on `CHANNEL` and calls `on_mail` per enqueue."""

    def __init__(self, pool: asyncpg.Pool, on_mail: Callable[[], None]) -> None:
        self._pool = pool
        self._on_mail = on_mail
        self._conn: PoolConnectionProxy | None = None

    @property
    def listening(self) -> bool:
        """True while the connection is open; Postgres restarting closes it."""
        if self._conn is None:
            return False
        try:
            return not self._conn.is_closed()
        except asyncpg.InterfaceError:
            # The pool took the broken connection back (a lost Postgres): listen on a new one.
            return False

    async def open(self) -> None:
        """Start listening, on a fresh connection if the last one was lost."""
        if self.listening:
            return
        await self.close()
        # Bounded: with the pool exhausted, the worker polls rather than waits for a connection.
        conn = await self._pool.acquire(timeout=5.0)
        try:
            await conn.add_listener(CHANNEL, self._notified)
        except BaseException:
            await self._pool.release(conn)
            raise
        self._conn = conn

    async def close(self) -> None:
        """Stop listening and give the connection back to the pool."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            # A connection that broke meanwhile has no listener left to remove.
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await conn.remove_listener(CHANNEL, self._notified)
        finally:
            # A connection the pool already took back cannot be released twice.
            with contextlib.suppress(asyncpg.InterfaceError):
                await self._pool.release(conn)

    def _notified(self, *_: object) -> None:
        self._on_mail()


def _changed(status: str) -> bool:
    return status.split()[-1] != "0"
