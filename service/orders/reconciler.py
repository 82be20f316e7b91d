"""Runs in every replica: finishes requests that a crash, an outage or a slow job left open."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg

from service.admin.errors import UpstreamUnavailable
from service.orders.lifecycle import Lifecycle
from service.orders.trail import Trail
from service.storage import idempotency, requests

logger = logging.getLogger("ordergate.reconciler")


class Reconciler:
    """Claims unfinished requests with SKIP LOCKED, so replicas share the work without overlap."""

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
        batch: int = 20,
    ) -> None:
        self._pool = pool
        self._lifecycle = lifecycle
        self._clock = clock
        self._interval = interval
        # A request younger than `settle` may still be in the hands of the request that made it.
        self._settle = settle
        self._review_recheck = review_recheck
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Look at every request that is due; returns how many were looked at."""
        now = self._clock()
        due = await requests.claim_due(
            conn=self._pool,
            settled_before=now - self._settle,
            review_checked_before=now - self._review_recheck,
            limit=self._batch,
            now=now,
        )
        for stored in due:
            try:
                await self._lifecycle.reconcile(stored=stored, trail=Trail.background("reconciler"))
            except UpstreamUnavailable as exc:
                # The lease taken by claim_due already postpones the next look.
                logger.warning("reconcile postponed", extra={"kind": str(exc.kind)})
        return len(due)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
                # Keys outlive their retention only until the next pass of any replica.
                await idempotency.forget_expired(conn=self._pool)
            except (asyncpg.PostgresError, OSError) as exc:
                logger.warning("reconciler pass failed", extra={"kind": type(exc).__name__})
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        """Run passes in the background until `close`."""
        self._task = asyncio.create_task(self._loop(), name="ordergate-reconciler")

    async def close(self) -> None:
        """Stop after the pass in progress, if any, is cancelled cleanly."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
