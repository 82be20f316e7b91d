"""The loop every background worker runs on: backoff instead of a busy loop, liveness and lag,
a bounded pass, a drain on close. Passes here are plain coroutines; no I/O."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from service.metrics import Metrics
from service.workers import Backoff, Pass, WorkerLoop, WorkerMonitor

FAST = Backoff(first=0.1, cap=0.4)


class Dependency:
    """A pass against a dependency that is down until `up` is set; counts its attempts."""

    def __init__(self, lag: float = 0.0) -> None:
        self.up = False
        self.attempts = 0
        self.lag = lag

    async def run_pass(self) -> Pass:
        self.attempts += 1
        if not self.up:
            raise ConnectionRefusedError("down")
        return Pass(lag_seconds=self.lag)


async def until(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.02)


async def test_a_dead_dependency_gets_backoff_not_a_busy_loop_and_recovery_is_automatic() -> None:
    dependency = Dependency(lag=3.0)
    loop = WorkerLoop("test", dependency.run_pass, interval=0.01, backoff=FAST)
    loop.start()
    try:
        await asyncio.sleep(1.0)
        # 0.1 + 0.2 + 0.4 + 0.4: five attempts in a second; a busy loop would make thousands,
        # a loop at its 10 ms interval a hundred.
        assert 3 <= dependency.attempts <= 6
        assert loop.monitor.failures == dependency.attempts
        dependency.up = True
        await until(lambda: loop.monitor.failures == 0, seconds=1.0)
        assert loop.monitor.lag() == 3.0
    finally:
        await loop.close()


async def test_liveness_falls_behind_while_failing_and_is_now_while_idle() -> None:
    dependency = Dependency()
    loop = WorkerLoop("test", dependency.run_pass, interval=0.05, backoff=FAST)
    loop.start()
    try:
        await asyncio.sleep(0.6)
        assert time.time() - loop.monitor.last_progress() >= 0.5
        dependency.up = True
        await until(lambda: time.time() - loop.monitor.last_progress() < 0.1)
        await asyncio.sleep(0.3)  # idle between healthy passes: still alive
        assert time.time() - loop.monitor.last_progress() < 0.1
    finally:
        await loop.close()


def test_lag_ages_while_passes_fail_and_only_if_something_was_waiting() -> None:
    now = [1000.0]
    monitor = WorkerMonitor("test", clock=lambda: now[0])
    monitor.started()
    monitor.progressed(lag_seconds=5.0)
    now[0] += 10
    assert monitor.lag() == 5.0  # healthy: as measured
    monitor.started()
    monitor.failed("OSError")
    assert monitor.lag() == 15.0  # the same item, ten seconds older
    monitor.progressed(lag_seconds=0.0)
    monitor.failed("OSError")
    now[0] += 10
    assert monitor.lag() == 0.0


async def test_a_blocked_pass_waits_its_own_retry_and_counts_as_a_failure() -> None:
    attempts: list[float] = []

    async def smtp_down() -> Pass:
        attempts.append(time.monotonic())
        return Pass(blocked="smtp", retry_in=0.3, lag_seconds=1.0)

    metrics = Metrics()
    loop = WorkerLoop("outbox", smtp_down, interval=0.01, monitor=metrics.worker("outbox"))
    loop.start()
    loop.wake()  # new work does not cut a backoff short
    await asyncio.sleep(0.7)
    await loop.close()
    assert len(attempts) == 3
    assert min(b - a for a, b in itertools.pairwise(attempts)) >= 0.3
    rendered = metrics.render().decode()
    assert 'ordergate_worker_failures_total{kind="smtp",worker="outbox"} 3.0' in rendered
    assert 'ordergate_worker_lag_seconds{worker="outbox"}' in rendered
    assert 'ordergate_worker_last_progress_timestamp_seconds{worker="outbox"}' in rendered


async def test_a_pass_that_finds_more_runs_again_at_once() -> None:
    left = [50]

    async def drain_backlog() -> Pass:
        left[0] -= 1
        return Pass(more=left[0] > 0)

    loop = WorkerLoop("test", drain_backlog, interval=60.0)
    loop.start()
    await until(lambda: left[0] == 0, seconds=1.0)
    await loop.close()


async def test_a_hanging_pass_is_bounded_and_the_worker_goes_on() -> None:
    calls = [0]

    async def hangs_once() -> Pass:
        calls[0] += 1
        if calls[0] == 1:
            await asyncio.Event().wait()  # a peer that never answers
        return Pass()

    loop = WorkerLoop("test", hangs_once, interval=0.05, pass_timeout=0.2, backoff=FAST)
    loop.start()
    await until(lambda: calls[0] >= 2, seconds=2.0)
    await loop.close()
    assert loop.monitor.failures == 0


@pytest.mark.parametrize(("work", "drain", "finished"), [(0.2, 2.0, True), (5.0, 0.2, False)])
async def test_close_lets_the_pass_in_progress_finish_within_the_drain_budget(
    work: float, drain: float, finished: bool
) -> None:
    started, done = asyncio.Event(), asyncio.Event()

    async def slow_pass() -> Pass:
        started.set()
        await asyncio.sleep(work)
        done.set()
        return Pass()

    loop = WorkerLoop("test", slow_pass, interval=60.0, drain_seconds=drain)
    loop.start()
    await started.wait()
    began = time.monotonic()
    await loop.close()
    assert done.is_set() is finished
    assert time.monotonic() - began < min(work, drain) + 0.5
