"""Personal data across ordergate's tables (CONTRACT §7): erased by order, for the whole shop
or by age, and gathered for one order. The audit chain is never touched: only the rows
apart from it (`audit_personal`) are deleted."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from service.storage.database import Connection

# The comment and the tracking number are the customer's; the rest of a request (its kind,
# status, reason, dates) is the merchant's record of what happened.
_ERASE_AUDIT = "delete from audit_personal where order_id = any($1::text[])"
_ERASE_REQUESTS = """
update customer_requests
set comment = null, details = details - 'tracking_number', erased_at = $2
where order_id = any($1::text[]) and (comment is not null or details ? 'tracking_number')
"""
_ERASE_KEYS = "delete from idempotency_keys where order_id = any($1::text[])"
_ERASE_MAIL = "delete from email_outbox where order_id = any($1::text[])"
_ERASE_CODES = "delete from verification_codes where order_id = any($1::text[])"

_ERASE_ALL_AUDIT = "delete from audit_personal"
_ERASE_ALL_REQUESTS = """
update customer_requests
set comment = null, details = details - 'tracking_number', erased_at = $1
where comment is not null or details ? 'tracking_number'
"""
_ERASE_ALL_KEYS = "delete from idempotency_keys"
_ERASE_ALL_MAIL = "delete from email_outbox"
_ERASE_ALL_CODES = "delete from verification_codes"

# Retention deletes in bounded batches, so no transaction holds many rows for long.
_ERASE_OLD_AUDIT = """
delete from audit_personal where seq in (
    select seq from audit_personal where occurred_at < $1 order by occurred_at limit $2
)
"""
_ERASE_OLD_REQUESTS = """
update customer_requests
set comment = null, details = details - 'tracking_number', erased_at = $3
where id in (
    select id from customer_requests
    where submitted_at < $1 and (comment is not null or details ? 'tracking_number')
    limit $2
)
"""
_ERASE_OLD_KEYS = """
delete from idempotency_keys where ctid in (
    select ctid from idempotency_keys where created_at < $1 limit $2
)
"""
_ERASE_OLD_MAIL = """
delete from email_outbox where id in (
    select id from email_outbox where created_at < $1 limit $2
)
"""
_ERASE_OLD_CODES = """
delete from verification_codes where id in (
    select id from verification_codes where created_at < $1 limit $2
)
"""

_KNOWN_ORDER = """
select exists (select 1 from customer_requests where order_id = $1)
    or exists (select 1 from audit_events where order_id = $1)
"""
_REQUESTS = """
select id::text, kind, status, order_name, submitted_at, updated_at, customer_reason,
       comment, locale, resolution, details, erased_at
from customer_requests where order_id = $1 order by submitted_at, id
"""
_MAIL = """
select id::text, kind, created_at, sent_at, attempts, sealed is not null as queued
from email_outbox where order_id = $1 order by created_at, id
"""
_CODES = """
select created_at, expires_at, used_at, attempts
from verification_codes where order_id = $1 order by created_at
"""
_KEYS = """
select operation, key, created_at from idempotency_keys
where order_id = $1 order by created_at
"""
_DELIVERIES = """
select topic, received_at, processed_at from webhook_inbox
where order_id = $1 order by received_at
"""


@dataclass(frozen=True, slots=True)
class Erased:
    """How many rows of each kind an erasure touched."""

    audit_rows: int = 0
    requests: int = 0
    idempotency_keys: int = 0
    emails: int = 0
    verification_codes: int = 0

    @property
    def total(self) -> int:
        """Rows erased in all."""
        return sum(getattr(self, f.name) for f in fields(self))

    def __add__(self, other: Erased) -> Erased:
        return Erased(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_details(self) -> dict[str, int]:
        """The counts, for the erasure's audit event."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _count(status: str) -> int:
    return int(status.split()[-1])


async def erase_orders(*, conn: Connection, order_ids: list[str], now: datetime) -> Erased:
    """Erase what identifies a person on these orders; inside the caller's transaction."""
    return Erased(
        audit_rows=_count(await conn.execute(_ERASE_AUDIT, order_ids)),
        requests=_count(await conn.execute(_ERASE_REQUESTS, order_ids, now)),
        idempotency_keys=_count(await conn.execute(_ERASE_KEYS, order_ids)),
        emails=_count(await conn.execute(_ERASE_MAIL, order_ids)),
        verification_codes=_count(await conn.execute(_ERASE_CODES, order_ids)),
    )


async def erase_everything(*, conn: Connection, now: datetime) -> Erased:
    """Erase every personal datum ordergate holds (`shop/redact`)."""
    return Erased(
        audit_rows=_count(await conn.execute(_ERASE_ALL_AUDIT)),
        requests=_count(await conn.execute(_ERASE_ALL_REQUESTS, now)),
        idempotency_keys=_count(await conn.execute(_ERASE_ALL_KEYS)),
        emails=_count(await conn.execute(_ERASE_ALL_MAIL)),
        verification_codes=_count(await conn.execute(_ERASE_ALL_CODES)),
    )


async def erase_older_than(
    *, conn: Connection, cutoff: datetime, now: datetime, limit: int
) -> Erased:
    """Erase at most `limit` rows of each kind from before `cutoff`; call again while any."""
    return Erased(
        audit_rows=_count(await conn.execute(_ERASE_OLD_AUDIT, cutoff, limit)),
        requests=_count(await conn.execute(_ERASE_OLD_REQUESTS, cutoff, limit, now)),
        idempotency_keys=_count(await conn.execute(_ERASE_OLD_KEYS, cutoff, limit)),
        emails=_count(await conn.execute(_ERASE_OLD_MAIL, cutoff, limit)),
        verification_codes=_count(await conn.execute(_ERASE_OLD_CODES, cutoff, limit)),
    )


async def known_order(*, conn: Connection, order_id: str) -> bool:
    """Whether ordergate holds anything on the order."""
    return bool(await conn.fetchval(_KNOWN_ORDER, order_id))


async def held_on_order(*, conn: Connection, order_id: str) -> dict[str, list[dict[str, Any]]]:
    """The order's rows outside the audit log, table by table, as JSON-able dicts."""
    return {
        "requests": [dict(row) for row in await conn.fetch(_REQUESTS, order_id)],
        "emails": [dict(row) for row in await conn.fetch(_MAIL, order_id)],
        "verification_codes": [dict(row) for row in await conn.fetch(_CODES, order_id)],
        "idempotency_keys": [dict(row) for row in await conn.fetch(_KEYS, order_id)],
        "webhook_deliveries": [dict(row) for row in await conn.fetch(_DELIVERIES, order_id)],
    }
