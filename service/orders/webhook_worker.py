"""Runs in every replica: processes the webhook inbox after commit, marks rows done after
their effect, retries with backoff and parks a delivery that keeps failing.

Rows are leased with SKIP LOCKED, so replicas never process the same delivery at once; a
process killed between the 200 and the effect leaves its rows due again when their lease
ends. Deliveries about one order in one pass share one re-read of the order, and an order's
deliveries are only taken once it has been quiet for `settle` (at most 2 s after the first),
so a burst of webhooks for one order is read once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import asyncpg

from service.admin.errors import UpstreamUnavailable
from service.orders.privacy import Privacy
from service.orders.staff_decisions import StaffDecisions
from service.storage import StorageUnavailable, webhook_inbox
from service.storage.webhook_inbox import InboxRow
from service.workers import Backoff, LoopWorker, Pass, WorkerLoop, WorkerMonitor

logger = logging.getLogger("ordergate.webhooks")

MAX_ATTEMPTS = 10
_RETRIES = Backoff(first=2.0, cap=600.0)


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try of a delivery that failed `attempts` times: 2 s, doubling
    up to ten minutes."""
    return timedelta(seconds=_RETRIES.delay(attempts))


class WebhookWorker(LoopWorker):
    """Delivery passes in the background until `close`."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        decisions: StaffDecisions,
        clock: Callable[[], datetime],
        privacy: Privacy | None = None,
        interval: float = 0.5,
        settle: timedelta = timedelta(milliseconds=300),
        batch: int = 200,
        on_processed: Callable[[int, float], None] | None = None,
        on_parked: Callable[[], None] | None = None,
        monitor: WorkerMonitor | None = None,
        drain_seconds: float = 5.0,
    ) -> None:
        self._pool = pool
        self._decisions = decisions
        self._privacy = privacy
        self._clock = clock
        self._interval = interval
        self._settle = settle
        self._batch = batch
        self._on_processed = on_processed
        self._on_parked = on_parked
        # Closing lets the pass in progress finish (a few Admin reads) within `drain_seconds`,
        # so a stop does not leave its rows to wait out their lease; past that it is
        # cancelled, and its rows come due again when the lease ends.
        self._loop = WorkerLoop(
            "webhooks",
            self.run_pass,
            interval=interval,
            monitor=monitor,
            drain_seconds=drain_seconds,
        )

    async def run_once(self) -> int:
        """One pass over the due deliveries; returns how many it leased."""
        now = self._clock()
        rows = await webhook_inbox.lease_due(
            conn=self._pool, now=now, limit=self._batch, lease_seconds=60, quiet=self._settle
        )
        by_order: dict[str | None, list[InboxRow]] = defaultdict(list)
        for row in rows:
            by_order[row.order_id].append(row)
        for order_id, deliveries in by_order.items():
            if order_id is None:
                # Compliance deliveries name no order of their own: each is its own work.
                for row in deliveries:
                    await self._process(None, [row])
            else:
                await self._process(order_id, deliveries)
        return len(rows)

    async def _process(self, order_id: str | None, deliveries: Sequence[InboxRow]) -> None:
        try:
            if order_id is not None:
                await self._decisions.order_changed(order_id)
            elif self._privacy is not None:
                for row in deliveries:
                    await self._privacy.comply(row.topic, row.payload or {})
        except (UpstreamUnavailable, StorageUnavailable, asyncpg.PostgresError, OSError) as exc:
            await self._failed(deliveries, type(exc).__name__)
            return
        now = self._clock()
        await webhook_inbox.mark_processed(
            conn=self._pool, ids=[row.id for row in deliveries], now=now
        )
        if self._on_processed is not None:
            lag = max((now - row.received_at).total_seconds() for row in deliveries)
            self._on_processed(len(deliveries), lag)

    async def _failed(self, deliveries: Sequence[InboxRow], error_kind: str) -> None:
        now = self._clock()
        for row in deliveries:
            attempts = row.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                await webhook_inbox.park(conn=self._pool, id=row.id, now=now, error_kind=error_kind)
                logger.error("webhook delivery parked", extra={"kind": error_kind})
                if self._on_parked is not None:
                    self._on_parked()
            else:
                retry_at = now + retry_delay(attempts)
                await webhook_inbox.mark_failed(
                    conn=self._pool, id=row.id, retry_at=retry_at, error_kind=error_kind
                )

    async def run_pass(self) -> Pass:
        """One pass of the background loop, and the inbox's lag after it."""
        leased = await self.run_once()
        lag = await webhook_inbox.lag(conn=self._pool, now=self._clock())
        # A full batch means more is waiting: go on at once, else wait for the next pass.
        return Pass(more=leased >= self._batch, lag_seconds=lag)
