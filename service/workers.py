"""What every background worker shares: one loop with bounded passes, backoff after a failure,
a liveness record and a lag figure for metrics, and a drain on close.

A worker is a pass (`async () -> Pass`) run by `WorkerLoop`: after a pass that found more work
at once, again at once; after an idle one, after `interval` or an early `wake()`; after a
failure (an exception, or a pass that says its dependency is `blocked`), after a pause that
doubles with each failure in a row. A dead dependency therefore sees one attempt per pause,
never a busy loop, and the worker picks up by itself when the dependency returns.

`WorkerMonitor` is what the metrics read. Its last-progress time is "now" while the worker
sleeps between healthy passes, and otherwise the moment it was last known healthy: during a
pass, or a run of failures, it falls behind, so `time() - last_progress` says how long the
worker has made no progress whatever its interval. Its lag is the age of the oldest item the
worker has yet to finish, as of the last pass that could read it and aging while passes fail
(or live, from `lag_source`).

A new worker adopts all of it in one line:
`WorkerLoop("retention", worker.run_pass, interval=3600, monitor=metrics.worker("retention"))`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

logger = logging.getLogger("ordergate.workers")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits that double after each failure, from `first` up to `cap` seconds."""

    first: float = 5.0
    cap: float = 600.0

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row (1 is the first)."""
        return min(self.cap, self.first * 2.0 ** min(max(failures - 1, 0), 32))


@dataclass(frozen=True, slots=True)
class Pass:
    """What one pass found.

    `more`: work is waiting now, run the next pass at once. `lag_seconds`: the age of the
    oldest item still to do (None: not measured). `blocked`: the kind of failure of a
    dependency the pass could not use (SMTP down, say), handled like an exception;
    `retry_in` then overrides the loop's own pause, for a worker that schedules retries itself.
    """

    more: bool = False
    lag_seconds: float | None = None
    blocked: str | None = None
    retry_in: float | None = None


class WorkerMonitor:
    """Liveness and lag of one worker, read by the metrics at scrape time."""

    def __init__(
        self,
        name: str,
        *,
        clock: Callable[[], float] = time.time,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self._clock = clock
        self._on_failure = on_failure
        self._idle = False
        self._last_progress = clock()
        self._lag = 0.0
        self._lag_measured_at = self._last_progress
        self.lag_source: Callable[[], float] | None = None
        self.attempts = 0  # passes started (or flushes tried)
        self.failures = 0  # failures in a row; 0 once a pass succeeds

    def started(self) -> None:
        """A pass (or a write) begins: healthy until now, not known to be from here on."""
        if self._idle:
            self._last_progress = self._clock()
        self._idle = False
        self.attempts += 1

    def progressed(self, lag_seconds: float | None = None) -> None:
        """A pass ended well; `lag_seconds` is what it measured, if anything."""
        self._last_progress = self._clock()
        self.failures = 0
        self.measured(lag_seconds)

    def measured(self, lag_seconds: float | None) -> None:
        """A pass read its lag (even one blocked by another dependency)."""
        if lag_seconds is not None:
            self._lag = max(0.0, lag_seconds)
            self._lag_measured_at = self._clock()

    def failed(self, kind: str) -> None:
        """A pass failed with `kind` (an exception's type, or what blocked it)."""
        self.failures += 1
        if self._on_failure is not None:
            self._on_failure(kind)

    def idle(self) -> None:
        """Waiting for work after a healthy pass: alive for as long as that lasts."""
        self._idle = True

    def last_progress(self) -> float:
        """Unix time the worker was last known to be making progress (now while idle)."""
        return self._clock() if self._idle else self._last_progress

    def lag(self) -> float:
        """Seconds the oldest item still to do has waited. While passes fail, what was
        waiting at the last measure is still waiting (nothing can finish it), so it ages."""
        if self.lag_source is not None:
            return self.lag_source()
        if self.failures and self._lag > 0:
            return self._lag + max(0.0, self._clock() - self._lag_measured_at)
        return self._lag


class WorkerLoop:
    """Runs `run_pass` in the background until `close`, as the module docstring says."""

    def __init__(
        self,
        name: str,
        run_pass: Callable[[], Awaitable[Pass]],
        *,
        interval: float,
        monitor: WorkerMonitor | None = None,
        backoff: Backoff = Backoff(first=1.0, cap=60.0),
        pass_timeout: float = 300.0,
        drain_seconds: float = 5.0,
    ) -> None:
        self.name = name
        self._run_pass = run_pass
        self._interval = interval
        self.monitor = monitor if monitor is not None else WorkerMonitor(name)
        self._backoff = backoff
        # A pass that hangs on a silent peer must end, or the worker would stop for good.
        self._pass_timeout = pass_timeout
        self._drain_seconds = drain_seconds
        self._wakeup = asyncio.Event()
        self.stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run passes in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"ordergate-{self.name}")

    def wake(self) -> None:
        """Run the next pass now rather than after the interval (not during a backoff)."""
        self._wakeup.set()

    async def close(self) -> None:
        """Start no new pass; let the one in progress finish within `drain_seconds` (a pass
        sees `stopping` and may stop early), then cancel it."""
        self.stopping.set()
        self._wakeup.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._drain_seconds)
        except TimeoutError:
            if self._drain_seconds > 0:
                logger.warning("worker did not drain in time", extra={"kind": self.name})
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _loop(self) -> None:
        while not self.stopping.is_set():
            self._wakeup.clear()  # work arriving during the pass wakes the next sleep
            done = await self._one_pass()
            if done is None or done.blocked is not None:
                retry_in = done.retry_in if done is not None else None
                await self._pause(retry_in, self.stopping)
            elif not done.more:
                self.monitor.idle()
                await self._pause(self._interval, self._wakeup)

    async def _one_pass(self) -> Pass | None:
        """Run one pass; None when it raised (logged and counted)."""
        self.monitor.started()
        try:
            async with asyncio.timeout(self._pass_timeout):
                done = await self._run_pass()
        # The loop must outlive any one failure, or the work would stop silently.
        except Exception as exc:
            kind = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            self.monitor.failed(kind)
            logger.warning("worker pass failed", extra={"kind": f"{self.name}:{kind}"})
            return None
        if done.blocked is not None:
            self.monitor.failed(done.blocked)
            self.monitor.measured(done.lag_seconds)
        else:
            self.monitor.progressed(done.lag_seconds)
        return done

    async def _pause(self, seconds: float | None, event: asyncio.Event) -> None:
        # After a failure only closing cuts the pause short: new work waits for the probe.
        if seconds is None:
            seconds = self._backoff.delay(self.monitor.failures)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()


class LoopWorker:
    """What every worker shows of the loop its passes run on (`self._loop`, set by the
    worker's constructor): its liveness and lag, `start`, and `close`, which drains as the
    loop was told to."""

    _loop: WorkerLoop

    @property
    def monitor(self) -> WorkerMonitor:
        """Its liveness and lag, for metrics and tests."""
        return self._loop.monitor

    def start(self) -> None:
        """Run passes in the background until `close`."""
        self._loop.start()

    async def close(self) -> None:
        """Stop, draining the pass in progress as the loop was told to."""
        await self._loop.close()
