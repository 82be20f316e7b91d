"""Personal data on request (CONTRACT §7): erase it for orders, for the whole shop or by age,
export everything held on an order, and answer Shopify's compliance webhooks. Every erasure is
an audit event of its own, written in the erasure's transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from service.models import AuditOperation, AuditOutcome
from service.orders.trail import Trail
from service.storage import audit, order_names, personal_data, storage_errors
from service.storage.personal_data import Erased
from service.webhooks.topics import compliance_orders

logger = logging.getLogger("ordergate.privacy")

RETENTION_BATCH = 5000


class Privacy:
    """Erasure and export over one pool; `on_erased(reason, rows)` counts what was erased.

    `forget(names)` drops the cached snapshots of erased orders (the order's e-mail address
    and phone, as Shopify returns them), so that no replica serves them after the erasure.
    """

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        clock: Callable[[], datetime],
        on_erased: Callable[[str, int], None] | None = None,
        forget: Callable[[list[str]], Awaitable[None]] | None = None,
        batch: int = RETENTION_BATCH,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._on_erased = on_erased
        self._forget = forget
        self._batch = batch

    async def erase_orders(self, order_ids: list[str], *, reason: str) -> Erased:
        """Erase the orders' personal data, one audit event per order, in one transaction."""
        trail, now, erased = Trail.background("privacy"), self._clock(), Erased()
        events = []
        async with storage_errors(), self._pool.acquire() as conn, conn.transaction():
            for order_id in order_ids:
                counts = await personal_data.erase_orders(conn=conn, order_ids=[order_id], now=now)
                events.append(_erased_event(trail, reason, counts, order_id=order_id))
                erased += counts
            # One append for them all: one lock of the chain head, one insert.
            await audit.append(conn=conn, events=events)
            names = await order_names.order_names_of(conn=conn, order_ids=order_ids)
        self._count(reason, erased)
        if self._forget is not None and names:
            await self._forget(names)
        return erased

    async def erase_shop(self, *, reason: str = "shop/redact") -> Erased:
        """Erase every personal datum held, for every order (`shop/redact`)."""
        trail, now = Trail.background("privacy"), self._clock()
        async with storage_errors(), self._pool.acquire() as conn, conn.transaction():
            erased = await personal_data.erase_everything(conn=conn, now=now)
            await audit.append(conn=conn, events=[_erased_event(trail, reason, erased)])
        self._count(reason, erased)
        return erased

    async def erase_expired(self, *, retention: timedelta) -> Erased:
        """Erase personal data older than `retention`, in bounded batches, each audited."""
        trail, erased = Trail.background("retention"), Erased()
        while True:
            now = self._clock()
            async with storage_errors(), self._pool.acquire() as conn, conn.transaction():
                batch = await personal_data.erase_older_than(
                    conn=conn, cutoff=now - retention, now=now, limit=self._batch
                )
                if batch.total:
                    event = _erased_event(trail, "retention", batch)
                    await audit.append(conn=conn, events=[event])
            erased += batch
            if max(batch.as_details().values()) < self._batch:
                break
        self._count("retention", erased)
        return erased

    async def record_data_request(self, order_ids: list[str], *, request_id: object) -> None:
        """Record a customer's data request for the operator (`ordergate privacy export`)."""
        trail = Trail.background("privacy")
        events = [
            trail.event(
                AuditOperation.PERSONAL_DATA_REQUESTED,
                outcome=AuditOutcome.OK,
                order_id=order_id,
                details={"data_request_id": str(request_id) if request_id is not None else None},
            )
            for order_id in order_ids
        ]
        async with storage_errors(), self._pool.acquire() as conn, conn.transaction():
            await audit.append(conn=conn, events=events)
        logger.warning(
            "customers/data_request recorded: answer it with `ordergate privacy export`",
            extra={"count": len(order_ids), "kind": "customers/data_request"},
        )

    async def comply(self, topic: str, payload: Mapping[str, Any]) -> None:
        """Do what a compliance webhook asks (its payload minimised at intake)."""
        if topic == "shop/redact":
            await self.erase_shop()
        elif topic == "customers/redact":
            await self.erase_orders(compliance_orders(payload), reason=topic)
        elif topic == "customers/data_request":
            orders = compliance_orders(payload)
            await self.record_data_request(orders, request_id=payload.get("data_request_id"))

    async def export(self, order_id: str) -> dict[str, Any]:
        """Everything ordergate holds on the order: requests, audit events, mail, codes, keys."""
        async with storage_errors(), self._pool.acquire() as conn, conn.transaction():
            held = await personal_data.held_on_order(conn=conn, order_id=order_id)
            events = [event async for event in audit.export(conn=conn, order_id=order_id)]
        return {"order_id": order_id, **held, "audit_events": events}

    def _count(self, reason: str, erased: Erased) -> None:
        if self._on_erased is not None and erased.total:
            self._on_erased(reason, erased.total)


def _erased_event(
    trail: Trail, reason: str, erased: Erased, *, order_id: str | None = None
) -> audit.AuditEvent:
    return trail.event(
        AuditOperation.PERSONAL_DATA_ERASED,
        outcome=AuditOutcome.OK,
        order_id=order_id,
        reason=reason,
        details=erased.as_details(),
    )
