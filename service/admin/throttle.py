"""A cost gate mirroring Shopify's leaky bucket, so calls wait here instead of being throttled.

The arithmetic is pure and lives in `admin.cost`. `CostGate` keeps the bucket in this
process; `RedisCostGate` keeps it in Redis and decides in one Lua script (the same arithmetic,
written for Redis), so every replica spends from the same bucket, timed by Redis's clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.admin.cost import BucketState, ThrottleStatus, admit, observe, take
from service.admin.errors import ErrorKind, UpstreamUnavailable

logger = logging.getLogger("ordergate.admin")

# Points lookups must leave in the bucket, so a burst of lookups cannot starve cancellations.
DEFAULT_MUTATION_RESERVE = 100.0
# Sleeping less than this only spins; Shopify refills in whole points anyway.
_MIN_SLEEP = 0.01
# A bucket nobody has heard of for this long says nothing about the bucket now.
_STATE_TTL_SECONDS = 600


async def _wait_for_admission(
    attempt: Callable[[], Awaitable[float]],
    *,
    max_wait: float,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    operation: str | None,
) -> None:
    deadline = clock() + max_wait
    while True:
        wait = await attempt()
        if wait <= 0:
            return
        if clock() + wait > deadline:
            raise UpstreamUnavailable(ErrorKind.THROTTLED, operation=operation)
        await sleep(max(wait, _MIN_SLEEP))


class Gate(Protocol):
    """What the Admin client needs of a cost gate."""

    async def acquire(
        self, *, cost: float, is_mutation: bool, max_wait: float, operation: str | None = None
    ) -> None:
        """Wait until `cost` points are there, or raise `UpstreamUnavailable(THROTTLED)`."""

    async def update(self, status: ThrottleStatus) -> None:
        """Take in the bucket as a response reported it."""


class CostGate:
    """The shop's bucket as this process alone sees it."""

    def __init__(
        self,
        *,
        reserve: float = DEFAULT_MUTATION_RESERVE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._state: BucketState | None = None

    @property
    def state(self) -> BucketState | None:
        """The bucket as last estimated, for metrics and tests."""
        return self._state

    async def acquire(
        self, *, cost: float, is_mutation: bool, max_wait: float, operation: str | None = None
    ) -> None:
        """Wait until `cost` points are there, or raise `UpstreamUnavailable(THROTTLED)`."""
        reserve = 0.0 if is_mutation else self._reserve

        async def attempt() -> float:
            return self.try_take(cost=cost, reserve=reserve)

        await _wait_for_admission(
            attempt, max_wait=max_wait, clock=self._clock, sleep=self._sleep, operation=operation
        )

    def try_take(self, *, cost: float, reserve: float) -> float:
        """Take `cost` points if `reserve` more are there and return 0, else the wait."""
        # No await between reading and taking: the event loop makes this atomic.
        now = self._clock()
        wait = admit(self._state, cost=cost, now=now, reserve=reserve)
        if wait == 0:
            self._state = take(self._state, cost=cost, now=now)
        return wait

    async def update(self, status: ThrottleStatus) -> None:
        """Replace the estimate with what Shopify just reported."""
        self._state = observe(status, now=self._clock())


# `admit` and `take` of admin.cost, run inside Redis so reading and taking are one step.
# KEYS[1]: the bucket hash. ARGV: cost, reserve, ttl. Returns the wait in seconds as text,
# because Redis truncates Lua numbers to integers.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local s = redis.call('HMGET', KEYS[1], 'max', 'avail', 'rate', 'at')
if not s[1] then return '0' end
local max, avail, rate, at = tonumber(s[1]), tonumber(s[2]), tonumber(s[3]), tonumber(s[4])
local cost, reserve = tonumber(ARGV[1]), tonumber(ARGV[2])
if cost > max then return 'inf' end
local level = math.min(max, avail + rate * math.max(now - at, 0))
local needed = math.min(cost + reserve, max)
if needed <= level then
  redis.call('HSET', KEYS[1], 'avail', tostring(level - cost), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return '0'
end
if rate <= 0 then return 'inf' end
return tostring((needed - level) / rate)
"""

# KEYS[1]: the bucket hash. ARGV: maximum, available, restore rate, ttl.
_OBSERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'max', ARGV[1], 'avail', ARGV[2], 'rate', ARGV[3], 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


class RedisCostGate:
    """The shop's bucket shared by every replica through Redis."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        key: str = "ordergate:shopify-bucket",
        reserve: float = DEFAULT_MUTATION_RESERVE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._key = key
        self._reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._acquire = redis.register_script(_ACQUIRE)
        self._observe = redis.register_script(_OBSERVE)
        self._unavailable = False  # logged once per outage, not once per Admin call
        # While Redis is away the replica paces itself from what Shopify last reported, as
        # limits and the cache fall back: without it every call went to Shopify unpaced, got
        # THROTTLED, and lookups could starve the mutations the reserve is there for.
        self._local = CostGate(reserve=reserve, clock=clock, sleep=sleep)

    async def acquire(
        self, *, cost: float, is_mutation: bool, max_wait: float, operation: str | None = None
    ) -> None:
        """Wait until `cost` points are there, or raise `UpstreamUnavailable(THROTTLED)`."""
        reserve = 0.0 if is_mutation else self._reserve

        async def attempt() -> float:
            try:
                answer = await self._acquire(
                    keys=[self._key], args=[cost, reserve, _STATE_TTL_SECONDS]
                )
            except RedisError as exc:
                self._failed(exc)
                return self._local.try_take(cost=cost, reserve=reserve)
            self._answered()
            return float(answer)

        await _wait_for_admission(
            attempt, max_wait=max_wait, clock=self._clock, sleep=self._sleep, operation=operation
        )

    async def update(self, status: ThrottleStatus) -> None:
        """Replace the shared estimate (and this replica's own) with what Shopify reported."""
        await self._local.update(status)
        args: list[str | int] = [
            repr(status.maximum_available),
            repr(status.currently_available),
            repr(status.restore_rate),
            _STATE_TTL_SECONDS,
        ]
        try:
            await self._observe(keys=[self._key], args=args)
        except RedisError as exc:
            self._failed(exc)
        else:
            self._answered()

    def _failed(self, exc: RedisError) -> None:
        if not self._unavailable:
            self._unavailable = True
            logger.warning("cost gate unavailable error=%s", type(exc).__name__)

    def _answered(self) -> None:
        if self._unavailable:
            self._unavailable = False
            logger.info("cost gate back in Redis")
