"""Customer requests in Postgres: read them for an order (writes come with the mutations)."""

from __future__ import annotations

import asyncpg

from service.models import CustomerRequest, RequestKind, RequestStatus

_LIST_FOR_ORDER = """
select id::text, kind, status, order_id, submitted_at
from customer_requests
where order_id = $1
order by submitted_at, id
"""


def _request(row: asyncpg.Record) -> CustomerRequest:
    return CustomerRequest(
        id=row["id"],
        kind=RequestKind(row["kind"]),
        status=RequestStatus(row["status"]),
        order_id=row["order_id"],
        submitted_at=row["submitted_at"],
    )


async def list_for_order(*, conn: asyncpg.Pool | asyncpg.Connection, order_id: str) -> list[CustomerRequest]:
    """Every request made for the order, oldest first."""
    rows = await conn.fetch(_LIST_FOR_ORDER, order_id)
    return [_request(row) for row in rows]
