"""Per-client and per-order moving-window limits, in Redis when configured, else in process."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

CLIENT_LIMIT = "client"
ORDER_LIMIT = "order"
# One customer behind IPv6 usually holds a whole /64; counting single addresses would let
# them rotate through 2**64 identities.
_IPV6_CLIENT_PREFIX = 64


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a limit lets the caller through, and if not, how many seconds until it does."""

    allowed: bool
    retry_after: int = 0


class RateLimited(Exception):
    """A limit refused the request; becomes HTTP 429 with `Retry-After: retry_after`."""

    def __init__(self, limit: str, retry_after: int) -> None:
        self.limit = limit
        self.retry_after = retry_after
        super().__init__(f"{limit} limit reached; retry after {retry_after} s")


class LimitsUnavailable(Exception):
    """The limit store (Redis) could not be reached; the request must not go ahead."""


def _digest(value: str) -> str:
    # Order names and addresses never appear in Redis keys as themselves.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def client_key(address: str) -> str:
    """The identity an address is counted under: itself, or its /64 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, _IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


class RateLimits:
    """The two limits of CONTRACT §2 over one `limits` storage."""

    def __init__(
        self,
        *,
        storage: MemoryStorage | RedisStorage,
        per_client: RateLimitItem,
        per_order: RateLimitItem,
        prefix: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_client = per_client
        self._per_order = per_order
        self._prefix = prefix
        self._clock = clock

    async def hit_client(self, address: str) -> Verdict:
        """Count one request from `address`; refused once the per-client limit is spent."""
        ids = (self._prefix, CLIENT_LIMIT, _digest(client_key(address)))
        try:
            if await self._limiter.hit(self._per_client, *ids):
                return Verdict(allowed=True)
            return Verdict(allowed=False, retry_after=await self._wait(self._per_client, ids))
        except RedisError as exc:
            raise LimitsUnavailable(type(exc).__name__) from None

    async def order_locked(self, order_name: str) -> Verdict:
        """Whether lookups of `order_name` are locked by failed contact checks; consumes nothing."""
        ids = (self._prefix, ORDER_LIMIT, _digest(order_name))
        try:
            if await self._limiter.test(self._per_order, *ids):
                return Verdict(allowed=True)
            return Verdict(allowed=False, retry_after=await self._wait(self._per_order, ids))
        except RedisError as exc:
            raise LimitsUnavailable(type(exc).__name__) from None

    async def record_failed_contact(self, order_name: str) -> None:
        """Count one failed contact check against `order_name`, from whatever address."""
        ids = (self._prefix, ORDER_LIMIT, _digest(order_name))
        try:
            await self._limiter.hit(self._per_order, *ids)
        except RedisError as exc:
            raise LimitsUnavailable(type(exc).__name__) from None

    async def check_order(self, order_name: str) -> None:
        """`order_locked`, raising `RateLimited` when the order is locked."""
        verdict = await self.order_locked(order_name)
        if not verdict.allowed:
            raise RateLimited(ORDER_LIMIT, verdict.retry_after)

    async def _wait(self, item: RateLimitItem, ids: tuple[str, ...]) -> int:
        stats = await self._limiter.get_window_stats(item, *ids)
        # Whole seconds, rounded up, and never 0: "retry now" would only meet the limit again.
        return max(1, math.ceil(stats.reset_time - self._clock()))


def open_rate_limits(
    *,
    redis: aioredis.Redis | None,
    per_client: str,
    per_order: str,
    prefix: str = "ordergate",
) -> RateLimits:
    """Limits shared by every replica through `redis`, or kept in this process when it is None.

    `per_client` and `per_order` use `limits` notation, e.g. "30/minute". The caller owns
    `redis` and closes it; the limits hold no other resource.
    """
    storage: MemoryStorage | RedisStorage
    if redis is None:
        storage = MemoryStorage()
    else:
        storage = RedisStorage(
            "redis://",
            implementation="redispy",
            key_prefix=prefix,
            # limits types its options narrowly but hands them to redis-py, which takes a pool.
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
    return RateLimits(
        storage=storage,
        per_client=parse(per_client),
        per_order=parse(per_order),
        prefix=prefix,
    )
