"""The batched background writer that appends lookup audit events without slowing lookups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import asyncpg

from service.storage.audit import AuditEvent, append, canonical_json

logger = logging.getLogger(__name__)

_MAX_BACKOFF = 5.0


class AuditWriter:
    """Queues events and appends them in batches; waits rather than drops when full."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_queue: int = 10_000,
        flush_interval: float = 0.1,
        max_batch: int = 500,
        on_flush: Callable[[int, float], None] | None = None,
    ) -> None:
        self._pool = pool
        self._queue: asyncio.Queue[AuditEvent] = asyncio.Queue(maxsize=max_queue)
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._batch: list[AuditEvent] = []
        self._closing = asyncio.Event()
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.on_flush = on_flush

    @property
    def depth(self) -> int:
        """Events accepted but not yet durable in Postgres."""
        return self._queue.qsize() + len(self._batch)

    async def start(self) -> None:
        """Starts the background flush loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def submit(self, event: AuditEvent) -> None:
        """Queues one event, waiting while the queue is full."""
        if self._closing.is_set():
            raise RuntimeError("the audit writer is closed")
        canonical_json(dict(event.details))  # a bad event fails its caller, not the batch
        await self._queue.put(event)
        self._arrived.set()

    async def close(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a drain budget
        """Writes everything queued, then stops; gives up after `timeout` seconds."""
        self._closing.set()
        self._arrived.set()
        if self._task is None:
            await self.start()
        assert self._task is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            logger.error("audit writer closed with %d events unwritten", self.depth)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._collect()
            if self._batch:
                await self._flush()
            elif self._closing.is_set():
                return

    async def _collect(self) -> None:
        # Wait for a first event, then linger up to flush_interval for more to batch with it.
        deadline = None
        while True:
            while not self._queue.empty() and len(self._batch) < self._max_batch:
                self._batch.append(self._queue.get_nowait())
            if self._batch and deadline is None:
                deadline = time.monotonic() + self._flush_interval
            if len(self._batch) >= self._max_batch or self._closing.is_set():
                return
            wait = self._flush_interval if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                return
            # An Event carries no item, so a timeout here can never lose an event.
            self._arrived.clear()
            try:
                async with asyncio.timeout(wait):
                    await self._arrived.wait()
            except TimeoutError:
                return

    async def _flush(self) -> None:
        backoff = 0.05
        while True:
            started = time.perf_counter()
            try:
                async with self._pool.acquire() as conn:
                    await append(conn=conn, events=self._batch)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                logger.exception("audit flush of %d events failed; retrying", len(self._batch))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            count, self._batch = len(self._batch), []
            if self.on_flush is not None:
                self.on_flush(count, time.perf_counter() - started)
            return
