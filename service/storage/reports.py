"""Merchant reports read from the request table and the audit log: why customers cancel,
why ordergate refused, and which parcels are reported missing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.models import (
    AuditDecision,
    AuditOperation,
    AuditOutcome,
    RequestKind,
    RequestStatus,
)
from service.storage.database import Connection

# One row per request, however often the customer asked: a repeat returns the request
# already there and is not a new one. Its reason is the one it was made with.
_CANCELLATION_REQUESTS = """
select coalesce(customer_reason, '-') as customer_reason, status, count(*) as count
from customer_requests
where kind = $3 and submitted_at >= $1 and submitted_at < $2
group by 1, 2
order by 1, 2
"""

# Orders refused as not eligible, by the reason; an order refused twice for one reason (a
# repeat, or a replayed idempotency key) counts once.
_CANCELLATION_REFUSALS = """
select reason, count(distinct order_id) as count
from audit_events
where operation = $3 and decision = $4 and outcome = $5
  and occurred_at >= $1 and occurred_at < $2
group by 1
order by 2 desc, 1
"""

_OPEN_NOT_RECEIVED = """
select order_name, submitted_at, details ->> 'carrier' as carrier,
       details ->> 'tracking_number' as tracking_number
from customer_requests
where kind = $2 and status = $3 and submitted_at >= $1
order by submitted_at
"""


@dataclass(frozen=True, slots=True)
class CancellationCount:
    """How many cancellation requests were made for this reason and stand at this status."""

    customer_reason: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class RefusalCount:
    """How many orders were refused a cancellation for this reason."""

    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class OpenReport:
    """A not-received report waiting for staff."""

    order_name: str
    age: timedelta
    carrier: str | None
    tracking_number: str | None


async def cancellation_counts(
    *, conn: Connection, since: datetime, until: datetime
) -> list[CancellationCount]:
    """Cancellation requests submitted in the period, by the customer's reason and their
    current status."""
    rows = await conn.fetch(_CANCELLATION_REQUESTS, since, until, RequestKind.CANCELLATION)
    return [CancellationCount(row["customer_reason"], row["status"], row["count"]) for row in rows]


async def cancellation_refusals(
    *, conn: Connection, since: datetime, until: datetime
) -> list[RefusalCount]:
    """Orders refused a cancellation in the period (not eligible), by the reason."""
    rows = await conn.fetch(
        _CANCELLATION_REFUSALS,
        since,
        until,
        AuditOperation.REQUEST_CANCELLATION,
        AuditDecision.REFUSED,
        AuditOutcome.NOT_ELIGIBLE,
    )
    return [RefusalCount(row["reason"] or "-", row["count"]) for row in rows]


async def open_not_received(
    *, conn: Connection, since: datetime, now: datetime
) -> list[OpenReport]:
    """Open not-received reports, oldest first."""
    rows = await conn.fetch(_OPEN_NOT_RECEIVED, since, RequestKind.NOT_RECEIVED, RequestStatus.OPEN)
    return [
        OpenReport(
            row["order_name"], now - row["submitted_at"], row["carrier"], row["tracking_number"]
        )
        for row in rows
    ]
