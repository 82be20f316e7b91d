"""Customer requests in Postgres: one per order and kind, and where their Admin side stands."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from service import settlement
from service.eligibility import relevant_shipment
from service.models import CustomerRequest, Order, RequestKind, RequestStatus, Resolution
from service.storage.database import Connection


class AdminState(enum.StrEnum):
    """How far the Admin side of a request got; the reconciler finishes what is not DONE."""

    PENDING = "PENDING"  # intent written, nothing sent to Shopify yet
    SENT = "SENT"  # sent; the outcome is not final (e.g. a cancel job still running)
    DONE = "DONE"


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A request row with what the reconciler and the Admin actions need."""

    request: CustomerRequest
    order_name: str
    admin_state: AdminState
    admin_job_id: str | None
    customer_reason: str | None
    comment: str | None
    locale: str
    updated_at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)


_COLUMNS = """
id::text, kind, status, order_id, order_name, submitted_at, updated_at, customer_reason,
comment, locale, admin_state, admin_job_id, details, resolution
"""
_LIST_FOR_ORDER = (
    f"select {_COLUMNS} from customer_requests where order_id = $1 order by submitted_at, id"
)
_FIND = f"select {_COLUMNS} from customer_requests where order_id = $1 and kind = $2"
_GET = f"select {_COLUMNS} from customer_requests where id = $1::uuid"
_INSERT = f"""
insert into customer_requests
    (id, kind, status, order_id, order_name, submitted_at, updated_at,
     customer_reason, comment, locale, details)
values ($1::uuid, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10)
on conflict (order_id, kind) do nothing
returning {_COLUMNS}
"""
_UPDATE = f"""
update customer_requests
set status = $2, admin_state = $3, admin_job_id = coalesce($4, admin_job_id), updated_at = $5,
    resolution = coalesce($6, resolution)
where id = $1::uuid
returning {_COLUMNS}
"""
# Requests staff have yet to settle, for an order that just changed.
_AWAITING_STAFF = f"""
select {_COLUMNS} from customer_requests
where order_id = $1 and status = any($2::text[]) and admin_state = 'DONE'
order by submitted_at
"""
# Claiming leases a row by moving its updated_at to now: other replicas skip it until
# it is due again, and no transaction stays open while Shopify is called.
_CLAIM_DUE = f"""
update customer_requests set updated_at = $4
where id in (
    select id from customer_requests
    where (admin_state <> 'DONE' and updated_at < $1)
       or (status = 'PENDING_REVIEW' and updated_at < $2)
    order by updated_at
    limit $3
    for update skip locked
)
returning {_COLUMNS}
"""


def _stored(row: asyncpg.Record) -> StoredRequest:
    return StoredRequest(
        request=CustomerRequest(
            id=row["id"],
            kind=RequestKind(row["kind"]),
            status=RequestStatus(row["status"]),
            order_id=row["order_id"],
            submitted_at=row["submitted_at"],
            resolution=Resolution(row["resolution"]) if row["resolution"] else None,
        ),
        order_name=row["order_name"],
        admin_state=AdminState(row["admin_state"]),
        admin_job_id=row["admin_job_id"],
        customer_reason=row["customer_reason"],
        comment=row["comment"],
        locale=row["locale"],
        updated_at=row["updated_at"],
        details=row["details"] or {},
    )


Executor = asyncpg.Pool | Connection


async def list_for_order(*, conn: Executor, order_id: str) -> list[CustomerRequest]:
    """Every request made for the order, oldest first."""
    return [_stored(row).request for row in await conn.fetch(_LIST_FOR_ORDER, order_id)]


async def find(*, conn: Executor, order_id: str, kind: RequestKind) -> StoredRequest | None:
    """The order's request of this kind, if there is one."""
    row = await conn.fetchrow(_FIND, order_id, kind.value)
    return _stored(row) if row else None


async def get(*, conn: Executor, request_id: str) -> StoredRequest | None:
    """One request by id."""
    row = await conn.fetchrow(_GET, request_id)
    return _stored(row) if row else None


async def create(
    *,
    conn: Connection,
    kind: RequestKind,
    status: RequestStatus,
    order_id: str,
    order_name: str,
    now: datetime,
    customer_reason: str | None,
    comment: str | None,
    locale: str,
    details: Mapping[str, Any],
) -> StoredRequest | None:
    """Insert a new request; None when the order already has one of this kind (a lost race)."""
    row = await conn.fetchrow(
        _INSERT,
        str(uuid.uuid4()),
        kind.value,
        status.value,
        order_id,
        order_name,
        now,
        customer_reason,
        comment,
        locale,
        dict(details),
    )
    return _stored(row) if row else None


async def update(
    *,
    conn: Executor,
    request_id: str,
    status: RequestStatus,
    admin_state: AdminState,
    now: datetime,
    admin_job_id: str | None = None,
    resolution: Resolution | None = None,
) -> StoredRequest:
    """Move a request to a new status and Admin state (and, once staff settled it, its
    resolution)."""
    row = await conn.fetchrow(
        _UPDATE, request_id, status.value, admin_state.value, admin_job_id, now, resolution
    )
    if row is None:
        raise LookupError(f"no customer request {request_id}")
    return _stored(row)


async def awaiting_staff(*, conn: Executor, order_id: str) -> list[StoredRequest]:
    """The order's requests under review or open, whose Admin side is done: what a change
    staff made to the order may settle."""
    awaiting = [RequestStatus.PENDING_REVIEW.value, RequestStatus.OPEN.value]
    return [_stored(row) for row in await conn.fetch(_AWAITING_STAFF, order_id, awaiting)]


_OLDEST_UNFINISHED = """
select extract(epoch from $1 - min(submitted_at)) from customer_requests
where admin_state <> 'DONE'
"""


async def oldest_unfinished_age(*, conn: Executor, now: datetime) -> float:
    """Seconds the oldest request whose Shopify effect is not done has waited; 0 if none."""
    seconds = await conn.fetchval(_OLDEST_UNFINISHED, now)
    return max(0.0, float(seconds or 0.0))


async def claim_due(
    *,
    conn: Executor,
    settled_before: datetime,
    review_checked_before: datetime,
    limit: int,
    now: datetime,
) -> list[StoredRequest]:
    """Lease the requests the reconciler should look at; other replicas skip them meanwhile."""
    rows = await conn.fetch(_CLAIM_DUE, settled_before, review_checked_before, limit, now)
    return [_stored(row) for row in rows]


def details_for(order: Order) -> dict[str, object]:
    """What staff reports need of the order later, without asking Shopify again, and the
    order as it stood when the request came, against which staff's changes are judged."""
    parcel = relevant_shipment(order)
    return {
        "risk_levels": [level.value for level in order.risk_levels],
        "carrier": parcel.carrier if parcel else None,
        "tracking_number": parcel.tracking_number if parcel else None,
        **settlement.baseline(order),
    }
