"""Client-chosen idempotency keys: the same key and input replay the first answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from service.database import Connection

# Keys are kept at least this long (CONTRACT: a retry within a day replays).
RETENTION_HOURS = 48

_RECALL = """
select fingerprint, response from idempotency_keys where operation = $1 and key = $2
"""
_REMEMBER = """
insert into idempotency_keys (operation, key, fingerprint, response)
values ($1, $2, $3, $4::jsonb)
on conflict (operation, key) do nothing
"""
_FORGET_OLD = """
delete from idempotency_keys where created_at < now() - make_interval(hours => $1)
"""


@dataclass(frozen=True, slots=True)
class Replay:
    """The stored answer for this key and input."""

    response: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reused:
    """The key was used before with a different input."""


def fingerprint(values: Mapping[str, object]) -> str:
    """A stable digest of an operation's input."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def recall(
    *, conn: asyncpg.Pool | Connection, operation: str, key: str, digest: str
) -> Replay | Reused | None:
    """What was answered before under this key, if anything."""
    row = await conn.fetchrow(_RECALL, operation, key)
    if row is None:
        return None
    if row["fingerprint"] != digest:
        return Reused()
    return Replay(dict(row["response"]))


async def remember(
    *,
    conn: asyncpg.Pool | Connection,
    operation: str,
    key: str,
    digest: str,
    response: Mapping[str, object],
) -> None:
    """Store the answer; the first answer under a key wins."""
    # The pool's jsonb codec encodes the mapping (service.database).
    await conn.execute(_REMEMBER, operation, key, digest, dict(response))


async def forget_expired(*, conn: asyncpg.Pool | Connection) -> str:
    """Drop keys past their retention."""
    result: str = await conn.execute(_FORGET_OLD, RETENTION_HOURS)
    return result
