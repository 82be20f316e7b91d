"""The cost gate: pure bucket arithmetic as tables, the in-process gate, the Redis gate."""

from __future__ import annotations

import math
import time

import pytest
import redis.asyncio as aioredis

from service.admin.cost import BucketState, ThrottleStatus, admit, level, observe, take
from service.admin.errors import ErrorKind, UpstreamUnavailable
from service.admin.throttle import CostGate, RedisCostGate


def bucket(
    available: float, *, maximum: float = 1000, rate: float = 50, at: float = 0
) -> BucketState:
    return BucketState(maximum=maximum, available=available, restore_rate=rate, observed_at=at)


@pytest.mark.parametrize(
    ("state", "now", "expected"),
    [
        (bucket(100), 0, 100),
        (bucket(100), 2, 200),  # refills at the restore rate
        (bucket(900), 10, 1000),  # never beyond the maximum
        (bucket(100, at=5), 4, 100),  # a clock that went back refills nothing
        (bucket(-30), 1, 20),  # an over-spent estimate refills from below zero
    ],
)
def test_level(state: BucketState, now: float, expected: float) -> None:
    assert level(state, now=now) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("state", "cost", "now", "reserve", "expected"),
    [
        (None, 500, 0, 100, 0.0),  # an unknown bucket admits
        (bucket(1000), 10, 0, 0, 0.0),
        (bucket(10), 10, 0, 0, 0.0),  # exactly enough
        (bucket(0), 100, 0, 0, 2.0),  # 100 points at 50/s
        (bucket(0), 100, 1, 0, 1.0),  # half refilled already
        (bucket(150), 100, 0, 100, 1.0),  # a lookup must leave the reserve
        (bucket(150), 100, 0, 0, 0.0),  # a mutation may use it
        (bucket(1000), 1000, 0, 100, 0.0),  # the reserve never asks beyond a full bucket
        (bucket(500), 1000, 0, 100, 10.0),  # ... but a lookup that big waits for a full one
        (bucket(1000), 1001, 0, 0, math.inf),  # more than the bucket holds: never
        (bucket(0, rate=0), 10, 0, 0, math.inf),  # a bucket that never refills
    ],
)
def test_admit(
    state: BucketState | None, cost: float, now: float, reserve: float, expected: float
) -> None:
    assert admit(state, cost=cost, now=now, reserve=reserve) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("state", "cost", "now", "expected"),
    [
        (bucket(500), 100, 0, bucket(400)),
        (bucket(500), 100, 2, bucket(500, at=2)),  # refill first, then spend
        (None, 100, 0, None),
    ],
)
def test_take(
    state: BucketState | None, cost: float, now: float, expected: BucketState | None
) -> None:
    assert take(state, cost=cost, now=now) == expected


def test_observe_takes_shopifys_numbers_at_the_time_received() -> None:
    status = ThrottleStatus(maximum_available=2000, currently_available=1234, restore_rate=100)
    assert observe(status, now=7.5) == BucketState(2000, 1234, 100, 7.5)


class FakeTime:
    """A clock that only moves when the gate sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def status(available: float, *, maximum: float = 1000, rate: float = 50) -> ThrottleStatus:
    return ThrottleStatus(
        maximum_available=maximum, currently_available=available, restore_rate=rate
    )


async def test_gate_lets_a_call_go_at_once_when_points_are_there() -> None:
    fake = FakeTime()
    gate = CostGate(clock=fake.clock, sleep=fake.sleep)
    await gate.update(status(1000))
    await gate.acquire(cost=10, is_mutation=False, max_wait=1)
    assert fake.slept == []


async def test_gate_spends_the_points_it_admits() -> None:
    fake = FakeTime()
    gate = CostGate(clock=fake.clock, sleep=fake.sleep, reserve=0)
    await gate.update(status(100))
    await gate.acquire(cost=100, is_mutation=False, max_wait=10)
    await gate.acquire(cost=100, is_mutation=False, max_wait=10)
    assert fake.slept == [pytest.approx(2.0)]


async def test_gate_fails_as_throttled_when_the_wait_exceeds_the_bound() -> None:
    fake = FakeTime()
    gate = CostGate(clock=fake.clock, sleep=fake.sleep, reserve=0)
    await gate.update(status(0))
    with pytest.raises(UpstreamUnavailable) as raised:
        await gate.acquire(cost=100, is_mutation=False, max_wait=1.5, operation="OrderLookup")
    assert raised.value.kind is ErrorKind.THROTTLED
    assert raised.value.operation == "OrderLookup"
    assert fake.slept == []


async def test_mutation_goes_where_a_lookup_must_wait_for_the_reserve() -> None:
    fake = FakeTime()
    gate = CostGate(clock=fake.clock, sleep=fake.sleep, reserve=100)
    await gate.update(status(120))
    with pytest.raises(UpstreamUnavailable):
        await gate.acquire(cost=50, is_mutation=False, max_wait=0.5)
    await gate.acquire(cost=50, is_mutation=True, max_wait=0.5)
    assert fake.slept == []


async def test_a_throttled_answer_makes_the_next_attempt_wait_for_the_bucket() -> None:
    fake = FakeTime()
    gate = CostGate(clock=fake.clock, sleep=fake.sleep, reserve=0)
    await gate.update(status(10, rate=100))  # as a THROTTLED answer reports it
    await gate.acquire(cost=60, is_mutation=True, max_wait=5)
    assert sum(fake.slept) == pytest.approx(0.5)


@pytest.fixture
def gate_key(redis_prefix: str) -> str:
    """A bucket key of this test's own."""
    return f"{redis_prefix}:bucket"


async def test_redis_gate_admits_when_nothing_is_known(
    redis_client: aioredis.Redis,
    gate_key: str,
) -> None:
    gate = RedisCostGate(redis_client, key=gate_key)
    started = time.monotonic()
    await gate.acquire(cost=500, is_mutation=False, max_wait=0)
    assert time.monotonic() - started < 0.5


async def test_redis_gate_fails_as_throttled_past_the_bound(
    redis_client: aioredis.Redis,
    gate_key: str,
) -> None:
    gate = RedisCostGate(redis_client, key=gate_key, reserve=0)
    await gate.update(status(0, rate=50))
    with pytest.raises(UpstreamUnavailable) as raised:
        await gate.acquire(cost=100, is_mutation=True, max_wait=0.5)
    assert raised.value.kind is ErrorKind.THROTTLED


async def test_redis_gate_waits_for_the_refill_then_goes(
    redis_client: aioredis.Redis,
    gate_key: str,
) -> None:
    gate = RedisCostGate(redis_client, key=gate_key, reserve=0)
    await gate.update(status(0, rate=1000))
    started = time.monotonic()
    await gate.acquire(cost=200, is_mutation=True, max_wait=2)
    assert 0.15 <= time.monotonic() - started < 1.5


async def test_redis_gate_is_one_bucket_for_every_replica(
    redis_url: str,
    gate_key: str,
) -> None:
    first_client = aioredis.Redis.from_url(redis_url)
    second_client = aioredis.Redis.from_url(redis_url)
    try:
        first = RedisCostGate(first_client, key=gate_key, reserve=0)
        second = RedisCostGate(second_client, key=gate_key, reserve=0)
        await first.update(status(100, rate=1))
        await first.acquire(cost=100, is_mutation=True, max_wait=0)
        with pytest.raises(UpstreamUnavailable):
            await second.acquire(cost=100, is_mutation=True, max_wait=1)
    finally:
        await first_client.aclose()
        await second_client.aclose()


async def test_redis_gate_keeps_the_reserve_for_mutations(
    redis_client: aioredis.Redis,
    gate_key: str,
) -> None:
    gate = RedisCostGate(redis_client, key=gate_key, reserve=100)
    await gate.update(status(120, rate=1))
    with pytest.raises(UpstreamUnavailable):
        await gate.acquire(cost=50, is_mutation=False, max_wait=1)
    await gate.acquire(cost=50, is_mutation=True, max_wait=0)


async def test_redis_gate_refuses_a_call_bigger_than_the_bucket(
    redis_client: aioredis.Redis,
    gate_key: str,
) -> None:
    gate = RedisCostGate(redis_client, key=gate_key, reserve=0)
    await gate.update(status(1000, maximum=1000))
    with pytest.raises(UpstreamUnavailable):
        await gate.acquire(cost=1001, is_mutation=True, max_wait=60)


async def test_redis_gate_paces_the_replica_from_its_own_estimate_when_redis_is_down(
    refused_url: str,
) -> None:
    # Without Redis the gate falls back to what Shopify last told this replica, as limits and
    # the cache do. A soak without it: every call went to Shopify unpaced and 2,000 lookups a
    # minute were answered UPSTREAM_UNAVAILABLE (THROTTLED); lookups could take the reserve.
    port = refused_url.split(":")[2].split("/")[0]
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        gate = RedisCostGate(client, key="unused", reserve=100)
        await gate.acquire(cost=100, is_mutation=False, max_wait=0)  # nothing known: go
        await gate.update(status(150, rate=1))
        with pytest.raises(UpstreamUnavailable) as raised:
            await gate.acquire(cost=100, is_mutation=False, max_wait=0.5)  # the reserve holds
        assert raised.value.kind is ErrorKind.THROTTLED
        await gate.acquire(cost=100, is_mutation=True, max_wait=0)  # a mutation may use it
        with pytest.raises(UpstreamUnavailable):
            await gate.acquire(cost=100, is_mutation=True, max_wait=0.5)  # spent: 50 left
    finally:
        await client.aclose()


async def test_a_redis_outage_is_logged_once_not_once_per_call(
    refused_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A soak logged 1,259 warnings in six seconds of Redis outage, one per Admin call.
    port = refused_url.split(":")[2].split("/")[0]
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        gate = RedisCostGate(client, key="unused")
        for _ in range(20):
            await gate.acquire(cost=10, is_mutation=False, max_wait=0)
            await gate.update(status(1000))
    finally:
        await client.aclose()
    warnings = [r for r in caplog.records if r.getMessage().startswith("cost gate unavailable")]
    assert len(warnings) == 1
