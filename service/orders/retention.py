"""Runs in every replica: erases personal data older than the policy's `retention_days`, the
same way an erasure request does (CONTRACT §7). Replicas may overlap harmlessly: an erasure
of what another replica erased a moment ago finds nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import asyncpg

from service.orders.privacy import Privacy
from service.storage import StorageUnavailable

logger = logging.getLogger("ordergate.retention")

_BACKOFF_CAP = 600.0


class RetentionWorker:
    """A retention pass every `interval` seconds until `close`; after a failure it retries
    sooner, doubling from `retry` up to the interval."""

    def __init__(
        self,
        *,
        privacy: Privacy,
        retention: timedelta,
        interval: float = 3600.0,
        retry: float = 5.0,
    ) -> None:
        self._privacy = privacy
        self._retention = retention
        self._interval = interval
        self._retry = retry
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """One pass; returns the rows erased."""
        erased = await self._privacy.erase_expired(retention=self._retention)
        if erased.total:
            logger.info("personal data past retention erased", extra={"count": erased.total})
        return erased.total

    async def _loop(self) -> None:
        delay = self._retry
        while True:
            try:
                await self.run_once()
                delay, wait = self._retry, self._interval
            except (asyncpg.PostgresError, OSError, StorageUnavailable) as exc:
                logger.warning("retention pass failed", extra={"kind": type(exc).__name__})
                wait, delay = delay, min(delay * 2, self._interval, _BACKOFF_CAP)
            await asyncio.sleep(wait)

    def start(self) -> None:
        """Run passes in the background until `close`."""
        self._task = asyncio.create_task(self._loop(), name="ordergate-retention")

    async def close(self) -> None:
        """Stop; a pass in progress is cancelled and its transaction rolled back."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
