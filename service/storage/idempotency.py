"""Client-chosen idempotency keys: the same key and input replay the first answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from service.models import (
    CustomerRequest,
    Eligibility,
    EligibilityReason,
    OrderFacts,
    Refusal,
    UserErrorCode,
    isoformat,
)
from service.storage.database import Connection

# Keys are kept at least this long (CONTRACT: a retry within a day replays).
RETENTION_HOURS = 48

_RECALL = """
select fingerprint, response from idempotency_keys
where operation = $1 and scope = $2 and key = $3
"""
_REMEMBER = """
insert into idempotency_keys (operation, scope, key, fingerprint, response, order_id)
values ($1, $2, $3, $4, $5::jsonb, $6)
on conflict (operation, scope, key) do nothing
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
    """A stable digest of an operation's input, or of the order and contact a key is scoped to."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


async def recall(
    *, conn: asyncpg.Pool | Connection, operation: str, scope: str, key: str, digest: str
) -> Replay | Reused | None:
    """What was answered before under this key, in this scope, if anything."""
    row = await conn.fetchrow(_RECALL, operation, scope, key)
    if row is None:
        return None
    if row["fingerprint"] != digest:
        return Reused()
    return Replay(dict(row["response"]))


async def remember(
    *,
    conn: asyncpg.Pool | Connection,
    operation: str,
    scope: str,
    key: str,
    digest: str,
    response: Mapping[str, object],
    order_id: str | None = None,
) -> None:
    """Store the answer; the first answer under a key, in a scope, wins. `order_id` lets the
    order's erasure find it (its scope is a digest of the order and the contact)."""
    # The pool's jsonb codec encodes the mapping (service.storage.database).
    await conn.execute(_REMEMBER, operation, scope, key, digest, dict(response), order_id)


async def forget_expired(*, conn: asyncpg.Pool | Connection) -> str:
    """Drop keys past their retention."""
    result: str = await conn.execute(_FORGET_OLD, RETENTION_HOURS)
    return result


def encode_answer(answer: CustomerRequest | Refusal) -> dict[str, object]:
    """The answer as stored under a key: a request by id, or the whole refusal."""
    if isinstance(answer, CustomerRequest):
        return {"request_id": answer.id}
    eligibility = answer.eligibility
    return {
        "refusal": {
            "code": answer.code.value,
            "reason": answer.reason.value if answer.reason else None,
            "field": list(answer.field) if answer.field else None,
            "available_from": isoformat(eligibility.available_from if eligibility else None),
            "until": isoformat(eligibility.until if eligibility else None),
            "cancellable": answer.facts.cancellable,
            "delivered": answer.facts.delivered,
        }
    }


def decode_refusal(stored: Mapping[str, Any]) -> Refusal:
    """A stored refusal, as it was first answered."""
    reason = EligibilityReason(stored["reason"]) if stored.get("reason") else None
    available_from, until = stored.get("available_from"), stored.get("until")
    eligibility = None
    if reason is not None:
        eligibility = Eligibility(
            eligible=False,
            reason=reason,
            available_from=datetime.fromisoformat(available_from) if available_from else None,
            until=datetime.fromisoformat(until) if until else None,
        )
    return Refusal(
        code=UserErrorCode(stored["code"]),
        reason=reason,
        field=tuple(stored["field"]) if stored.get("field") else None,
        eligibility=eligibility,
        facts=OrderFacts(
            cancellable=bool(stored.get("cancellable")), delivered=bool(stored.get("delivered"))
        ),
    )
