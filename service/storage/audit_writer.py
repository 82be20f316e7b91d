"""The batched writer of audit events: group commit, so an answer waits for its own row.

`record` queues an event and returns once the batch holding it is committed, a few
milliseconds under normal running: events that arrive while one batch is being written go
into the next, so the wait stays short however many requests come at once. When Postgres
does not take the batch within `wait_bound`, `record` raises `StorageUnavailable` (the
caller answers UPSTREAM_UNAVAILABLE) and the event stays queued, written when the store
returns if the process lives that long (`depth` shows how many wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import asyncpg

from service.models import AuditOutcome
from service.storage import StorageUnavailable
from service.storage.audit import AuditEvent, append, canonical_json
from service.workers import WorkerMonitor

logger = logging.getLogger(__name__)

_MAX_BACKOFF = 5.0
# How long an answer waits for its audit row before it gives up and answers an outage.
DEFAULT_WAIT_BOUND = 2.0

# The event, the future its `record` waits on, and when it was queued (monotonic).
_Item = tuple[AuditEvent, "asyncio.Future[None] | None", float]


class AuditWriter:
    """Queues events and appends them in batches; waits rather than drops when full."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_queue: int = 10_000,
        flush_interval: float = 0.0,
        max_batch: int = 500,
        wait_bound: float = DEFAULT_WAIT_BOUND,
        on_flush: Callable[[int, float], None] | None = None,
        monitor: WorkerMonitor | None = None,
    ) -> None:
        self._pool = pool
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=max_queue)
        # 0: no lingering; a batch is what queued up while the previous one was written.
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._wait_bound = wait_bound
        self._batch: list[_Item] = []
        self._closing = asyncio.Event()
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.on_flush = on_flush
        self.monitor = monitor if monitor is not None else WorkerMonitor("audit_writer")
        self.monitor.lag_source = self.oldest_queued_seconds

    @property
    def depth(self) -> int:
        """Events accepted but not yet durable in Postgres."""
        return self._queue.qsize() + len(self._batch)

    def oldest_queued_seconds(self) -> float:
        """How long the oldest event not yet durable has waited (the batch being written
        holds the oldest: the queue only fills behind it)."""
        if not self._batch:
            return 0.0
        return max(0.0, time.monotonic() - self._batch[0][2])

    async def start(self) -> None:
        """Starts the background flush loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def submit(self, event: AuditEvent) -> None:
        """Queues one event, waiting while the queue is full; does not wait for its commit."""
        await self._put(event, None)

    async def record(self, event: AuditEvent) -> None:
        """Queues one event and returns once it is committed; `StorageUnavailable` when that
        does not happen within the bound (the event stays queued).

        An outage answer (`outcome` UPSTREAM_UNAVAILABLE) is queued without waiting: the store
        it would wait for is the one that failed, and the answer says so already.
        """
        if event.outcome == AuditOutcome.UPSTREAM_UNAVAILABLE:
            await self.submit(event)
            return
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._put(event, committed)
        try:
            async with asyncio.timeout(self._wait_bound):
                await asyncio.shield(committed)
        except TimeoutError:
            raise StorageUnavailable("audit row not committed in time") from None

    async def _put(self, event: AuditEvent, committed: asyncio.Future[None] | None) -> None:
        if self._closing.is_set():
            raise RuntimeError("the audit writer is closed")
        canonical_json(dict(event.details))  # a bad event fails its caller, not the batch
        await self._queue.put((event, committed, time.monotonic()))
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
        # Wait for a first event, then linger up to flush_interval (none by default) for more.
        deadline = None
        while True:
            # Cleared before the queue is read: an event put after the read sets it again.
            self._arrived.clear()
            while not self._queue.empty() and len(self._batch) < self._max_batch:
                self._batch.append(self._queue.get_nowait())
            if self._batch and deadline is None:
                deadline = time.monotonic() + self._flush_interval
            if len(self._batch) >= self._max_batch or self._closing.is_set():
                return
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return
            if not self._batch:
                self.monitor.idle()  # nothing to write is a healthy writer
            # An Event carries no item, so a timeout here can never lose an event.
            try:
                async with asyncio.timeout(wait):
                    await self._arrived.wait()
            except TimeoutError:
                return

    async def _flush(self) -> None:
        backoff = 0.05
        while True:
            started = time.perf_counter()
            self.monitor.started()
            try:
                async with self._pool.acquire() as conn:
                    await append(conn=conn, events=[item[0] for item in self._batch])
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.monitor.failed(type(exc).__name__)
                logger.warning(
                    "audit flush failed; retrying",
                    extra={"kind": type(exc).__name__, "count": len(self._batch)},
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            batch, self._batch = self._batch, []
            self.monitor.progressed()
            for _, committed, _ in batch:
                if committed is not None and not committed.done():
                    committed.set_result(None)
            count = len(batch)
            if self.on_flush is not None:
                self.on_flush(count, time.perf_counter() - started)
            return
