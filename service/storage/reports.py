"""Merchant reports read from the audit log and the request table: why customers cancel,
and which parcels are reported missing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.models import AuditDecision, AuditOperation, RequestKind, RequestStatus
from service.storage.database import Connection

_CANCELLATIONS = """
with submissions as (
    select coalesce(details ->> 'customer_reason', '-') as customer_reason,
           outcome, customer_request_id
    from audit_events
    where operation = $3 and occurred_at >= $1 and occurred_at < $2
),
finals as (
    select distinct on (customer_request_id) customer_request_id, outcome
    from audit_events
    where operation = $4 and decision = $5
    order by customer_request_id, seq desc
)
select s.customer_reason, coalesce(f.outcome, s.outcome) as outcome, count(*) as count
from submissions s left join finals f using (customer_request_id)
group by 1, 2
order by 1, 2
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
    """How many cancellation requests gave this reason and ended this way."""

    customer_reason: str
    outcome: str
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
    """Cancellation requests by the customer's reason and their latest outcome."""
    rows = await conn.fetch(
        _CANCELLATIONS,
        since,
        until,
        AuditOperation.REQUEST_CANCELLATION,
        AuditOperation.STATUS_CHANGED,
        AuditDecision.CANCELLATION,
    )
    return [CancellationCount(row["customer_reason"], row["outcome"], row["count"]) for row in rows]


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
