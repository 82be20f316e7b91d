"""Runs in every replica: erases personal data older than the policy's `retention_days`, the
same way an erasure request does (CONTRACT §7). Replicas may overlap harmlessly: an erasure
of what another replica erased a moment ago finds nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

from service.orders.privacy import Privacy
from service.workers import Backoff, LoopWorker, Pass, WorkerLoop, WorkerMonitor

logger = logging.getLogger("ordergate.retention")


class RetentionWorker(LoopWorker):
    """A retention pass every `interval` seconds until `close`, on the shared worker loop:
    after a failure it retries sooner, doubling from `retry` up to the interval (at most ten
    minutes, at least `retry`). `close` cancels a pass in progress: its transaction rolls back."""

    def __init__(
        self,
        *,
        privacy: Privacy,
        retention: timedelta,
        interval: float = 3600.0,
        retry: float = 5.0,
        monitor: WorkerMonitor | None = None,
    ) -> None:
        self._privacy = privacy
        self._retention = retention
        # Closing cancels a pass in progress: each batch is its own transaction, rolled back.
        self._loop = WorkerLoop(
            "retention",
            self.run_pass,
            interval=interval,
            monitor=monitor,
            # Never sooner than `retry`, however short the interval: no busy loop.
            backoff=Backoff(first=retry, cap=max(retry, min(interval, 600.0))),
            drain_seconds=0,
        )

    async def run_once(self) -> int:
        """One pass; returns the rows erased."""
        erased = await self._privacy.erase_expired(retention=self._retention)
        if erased.total:
            logger.info("personal data past retention erased", extra={"count": erased.total})
        return erased.total

    async def run_pass(self) -> Pass:
        """One pass of the background loop (nothing is left waiting: no lag to measure)."""
        await self.run_once()
        return Pass(lag_seconds=0.0)
