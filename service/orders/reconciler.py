"""Runs in every replica: finishes requests that a crash, an outage or a slow job left open."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg

from service.admin.errors import UpstreamUnavailable
from service.orders.lifecycle import Lifecycle
from service.orders.trail import Trail
from service.storage import idempotency, requests
from service.storage.requests import StoredRequest
from service.workers import LoopWorker, Pass, WorkerLoop, WorkerMonitor

logger = logging.getLogger("ordergate.reconciler")

DEFAULT_CONCURRENCY = 8


class Reconciler(LoopWorker):
    """Claims unfinished requests with SKIP LOCKED, so replicas share the work without overlap,
    and reconciles up to `concurrency` of them at once: each Shopify call may take seconds.
    `close` cancels the pass in progress and every request in it cleanly (their lease makes
    them due again)."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        lifecycle: Lifecycle,
        clock: Callable[[], datetime],
        interval: float = 5.0,
        settle: timedelta = timedelta(seconds=30),
        # Webhooks bring staff's decisions within seconds; this re-check is the safety net
        # for a webhook that never came.
        review_recheck: timedelta = timedelta(minutes=10),
        concurrency: int = DEFAULT_CONCURRENCY,
        batch: int | None = None,
        monitor: WorkerMonitor | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("the reconciler needs a concurrency of at least 1")
        self._pool = pool
        self._lifecycle = lifecycle
        self._clock = clock
        self._interval = interval
        # A request younger than `settle` may still be in the hands of the request that made it.
        # It is also the lease a claim takes: a claimed row comes due again after it.
        self._settle = settle
        self._review_recheck = review_recheck
        # By default a pass claims no more than it starts at once, so no claimed row waits
        # for a slot while its lease runs out and another replica takes it up as well.
        self._batch = batch if batch is not None else concurrency
        self._slots = asyncio.Semaphore(concurrency)
        # Closing cancels the pass in flight at once (drain 0): every request it held keeps
        # its lease and comes due again, for this replica's successor or another replica.
        self._loop = WorkerLoop(
            "reconciler", self.run_pass, interval=interval, monitor=monitor, drain_seconds=0
        )

    async def run_once(self) -> int:
        """Look at every request that is due, up to a batch, `concurrency` at a time;
        returns how many were looked at. One request failing does not stop the others."""
        now = self._clock()
        due = await requests.claim_due(
            conn=self._pool,
            settled_before=now - self._settle,
            review_checked_before=now - self._review_recheck,
            limit=self._batch,
            now=now,
        )
        # Cancelling the pass (close) cancels every request in flight; their leases run out
        # and they come due again, for this replica or another.
        async with asyncio.TaskGroup() as group:
            for stored in due:
                group.create_task(self._reconcile(stored))
        return len(due)

    async def _reconcile(self, stored: StoredRequest) -> None:
        async with self._slots:
            try:
                await self._lifecycle.reconcile(stored=stored, trail=Trail.background("reconciler"))
            except UpstreamUnavailable as exc:
                # The lease taken by claim_due already postpones the next look.
                logger.warning("reconcile postponed", extra={"kind": str(exc.kind)})
            except (asyncpg.PostgresError, OSError) as exc:
                logger.warning("reconcile failed", extra={"kind": type(exc).__name__})
            except Exception:
                # A bug met by one request must not end the pass, nor the worker, for all.
                logger.exception(
                    "reconcile failed unexpectedly", extra={"kind": stored.request.kind.value}
                )

    async def run_pass(self) -> Pass:
        """One pass of the background loop: the due requests, expired idempotency keys,
        and the lag (how long the oldest unfinished request has waited)."""
        full = await self.run_once() >= self._batch
        # Keys outlive their retention only until the next pass of any replica.
        await idempotency.forget_expired(conn=self._pool)
        lag = await requests.oldest_unfinished_age(conn=self._pool, now=self._clock())
        # A full batch means more may be due: claim the next at once.
        return Pass(more=full, lag_seconds=lag)
