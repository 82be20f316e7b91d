"""Per-client and per-order moving-window limits, in Redis when configured, else in process.

Both limits count in a moving window of timestamped entries. Taking an entry and testing the
limit are one atomic step (one Lua script in Redis, no await in between in process), so
concurrent requests can never all slip under a limit that each of them alone would meet.

A contact check on an order takes an entry *before* Shopify is asked and gives it back when
the contact matched: only failed checks stay counted, and sixteen concurrent guesses at an
order with one try left get one try, not sixteen.

Redis holds limits, not truth: while it is unreachable (`redis_breaker.RedisBreaker` open),
`FallbackWindows` counts in this process instead of refusing every request.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from limits import parse
from redis.exceptions import RedisError

CLIENT_LIMIT = "client"
ORDER_LIMIT = "order"
# One customer behind IPv6 usually holds a whole /64; counting single addresses would let
# them rotate through 2**64 identities.
_IPV6_CLIENT_PREFIX = 64


@dataclass(frozen=True, slots=True)
class Window:
    """At most `limit` entries in any `seconds`-long window."""

    limit: int
    seconds: float

    @classmethod
    def parse(cls, notation: str) -> Window:
        """`30/minute`, `10/hour`, `5 per 2 seconds`: the `limits` package's notation."""
        item = parse(notation)
        return cls(limit=item.amount, seconds=float(item.get_expiry()))


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a limit lets the caller through, and if not, how many seconds until it does."""

    allowed: bool
    retry_after: int = 0

    @classmethod
    def after(cls, wait: float) -> Verdict:
        """Allowed when `wait` is 0; else refused for `wait` seconds, rounded up, at least 1."""
        if wait <= 0:
            return cls(allowed=True)
        # "Retry now" would only meet the limit again.
        return cls(allowed=False, retry_after=max(1, math.ceil(wait)))


class RateLimited(Exception):
    """A limit refused the request; becomes HTTP 429 with `Retry-After: retry_after`."""

    def __init__(self, limit: str, retry_after: int) -> None:
        self.limit = limit
        self.retry_after = retry_after
        super().__init__(f"{limit} limit reached; retry after {retry_after} s")


class LimitsUnavailable(Exception):
    """The limit store (Redis) could not be reached; `FallbackWindows` counts in process
    instead, so only a bare `RedisWindows` lets this reach a request (then a 503)."""

    def __init__(self, error: RedisError) -> None:
        self.error = error
        super().__init__(type(error).__name__)


class WindowStore(Protocol):
    """Where entries are counted: Redis for every replica, or this process alone."""

    async def take(self, key: str, window: Window, entry: str) -> float:
        """Add `entry` when the window has room and return 0, else the seconds until it has."""

    async def give_back(self, key: str, entry: str) -> None:
        """Remove an entry taken before (a contact check that passed)."""

    async def wait(self, key: str, window: Window) -> float:
        """Seconds until the window has room (0: it has); takes nothing."""


class MemoryWindows:
    """Windows kept in this process; the event loop makes each call atomic."""

    # Every this many takes, windows nobody touched for a while are forgotten, so addresses
    # seen once do not stay in memory for the life of the process.
    _SWEEP_EVERY = 4096

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, deque[tuple[float, str]]] = {}
        self._longest = 0.0
        self._takes = 0

    def _current(self, key: str, window: Window) -> deque[tuple[float, str]]:
        entries = self._entries.setdefault(key, deque())
        horizon = self._clock() - window.seconds
        while entries and entries[0][0] <= horizon:
            entries.popleft()
        return entries

    def _wait(self, entries: deque[tuple[float, str]], window: Window) -> float:
        if len(entries) < window.limit:
            return 0.0
        return entries[0][0] + window.seconds - self._clock()

    async def take(self, key: str, window: Window, entry: str) -> float:
        """Add `entry` when the window has room and return 0, else the seconds until it has."""
        self._sweep(window)
        entries = self._current(key, window)
        wait = self._wait(entries, window)
        if wait <= 0:
            entries.append((self._clock(), entry))
        return wait

    def _sweep(self, window: Window) -> None:
        self._longest = max(self._longest, window.seconds)
        self._takes += 1
        if self._takes % self._SWEEP_EVERY:
            return
        horizon = self._clock() - self._longest
        stale = [
            key
            for key, entries in self._entries.items()
            if not entries or entries[-1][0] <= horizon
        ]
        for key in stale:
            del self._entries[key]

    async def give_back(self, key: str, entry: str) -> None:
        """Remove an entry taken before."""
        entries = self._entries.get(key)
        if entries is not None:
            self._entries[key] = deque(item for item in entries if item[1] != entry)

    async def wait(self, key: str, window: Window) -> float:
        """Seconds until the window has room; takes nothing."""
        return self._wait(self._current(key, window), window)


def _quiet(entries: deque[tuple[float, str]], horizon: float) -> bool:
    return not entries or entries[-1][0] <= horizon


# KEYS[1]: the window's sorted set. ARGV: limit, seconds, entry ('' only tests for room).
# Returns the wait in seconds as text, because Redis truncates Lua numbers to integers.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit, seconds = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - seconds)
if redis.call('ZCARD', KEYS[1]) < limit then
  if ARGV[3] ~= '' then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('EXPIRE', KEYS[1], math.ceil(seconds))
  end
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + seconds - now)
"""


class RedisWindows:
    """Windows shared by every replica, timed by the Redis server's clock."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._take = redis.register_script(_TAKE)

    async def take(self, key: str, window: Window, entry: str) -> float:
        """Add `entry` when the window has room and return 0, else the seconds until it has."""
        try:
            answer = await self._take(keys=[key], args=[window.limit, window.seconds, entry])
        except RedisError as exc:
            raise LimitsUnavailable(exc) from None
        return float(answer)

    async def give_back(self, key: str, entry: str) -> None:
        """Remove an entry taken before."""
        try:
            await self._redis.zrem(key, entry)
        except RedisError as exc:
            raise LimitsUnavailable(exc) from None

    async def wait(self, key: str, window: Window) -> float:
        """Seconds until the window has room; takes nothing."""
        return await self.take(key, window, "")


class Breaker(Protocol):
    """What `FallbackWindows` needs of `redis_breaker.RedisBreaker`."""

    @property
    def available(self) -> bool:
        """Whether Redis should be used now."""

    def failed(self, error: BaseException) -> bool:
        """Report a failed call; True when the breaker is (now) open."""

    def served_locally(self, use: str) -> None:
        """Count one operation served without Redis."""


# In process, each limit allows this fraction of its entries (at least one), per replica.
FALLBACK_SHARE = 0.5


def _local(window: Window) -> Window:
    return Window(limit=max(1, math.floor(window.limit * FALLBACK_SHARE)), seconds=window.seconds)


class FallbackWindows:
    """Redis windows while the breaker is closed; this process's windows while it is open.

    The in-process windows are stricter: each limit allows half its entries (at least one),
    counted by this replica alone and starting empty. With two replicas a client meets about
    the shared limit in total; with one, half of it; with more, each replica's half adds up,
    which is the price of serving at all. Half keeps the per-order lock (the guard against
    guessing contacts) tight while Redis is away, and still leaves customers, who look an
    order up a few times, well under the per-client limit. Entries taken in Redis before
    the outage are not known here, nor are entries taken here known to Redis afterwards:
    the windows are short, and the error is bounded by one window's worth.
    """

    def __init__(self, shared: WindowStore, local: WindowStore, breaker: Breaker) -> None:
        self._shared = shared
        self._local = local
        self._breaker = breaker

    async def take(self, key: str, window: Window, entry: str) -> float:
        """Add `entry` when the window has room and return 0, else the seconds until it has."""
        if self._breaker.available:
            try:
                return await self._shared.take(key, window, entry)
            except LimitsUnavailable as exc:
                if not self._breaker.failed(exc.error):
                    raise
        self._breaker.served_locally("limits")
        return await self._local.take(key, _local(window), entry)

    async def give_back(self, key: str, entry: str) -> None:
        """Remove an entry taken before, wherever it was taken."""
        await self._local.give_back(key, entry)
        if self._breaker.available:
            try:
                await self._shared.give_back(key, entry)
            except LimitsUnavailable as exc:
                # The entry expires with its window; failing the caller would not help.
                if not self._breaker.failed(exc.error):
                    raise

    async def wait(self, key: str, window: Window) -> float:
        """Seconds until the window has room; takes nothing."""
        if self._breaker.available:
            try:
                return await self._shared.wait(key, window)
            except LimitsUnavailable as exc:
                if not self._breaker.failed(exc.error):
                    raise
        self._breaker.served_locally("limits")
        return await self._local.wait(key, _local(window))


def _entry() -> str:
    # A window entry needs only to be unique: 128 random bits, without uuid4's object (a
    # noticeable share of a cached lookup's CPU).
    return os.urandom(16).hex()


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


@functools.lru_cache(maxsize=4096)
def _remembered_client_key(address: str) -> str:
    # Addresses repeat from request to request; parsing each again was measurable.
    return client_key(address)


@dataclass(frozen=True, slots=True)
class ContactCheck:
    """One counted attempt at an order's contact; `discard()` un-counts it."""

    _store: WindowStore
    _key: str
    _entry: str

    async def discard(self) -> None:
        """Un-count this attempt: the contact matched, or no contact was checked at all."""
        await self._store.give_back(self._key, self._entry)


class RateLimits:
    """The two limits of CONTRACT §2 over one window store."""

    def __init__(
        self, *, store: WindowStore, per_client: Window, per_order: Window, prefix: str
    ) -> None:
        self._store = store
        self._per_client = per_client
        self._per_order = per_order
        self._prefix = prefix

    def _key(self, limit: str, identity: str) -> str:
        # Under `limit:`, apart from the order cache's `order:` keys for the same digests.
        return f"{self._prefix}:limit:{limit}:{_digest(identity)}"

    async def hit_client(self, address: str) -> Verdict:
        """Count one request from `address`; refused once the per-client limit is spent."""
        key = self._key(CLIENT_LIMIT, _remembered_client_key(address))
        return Verdict.after(await self._store.take(key, self._per_client, _entry()))

    async def start_contact_check(self, order_name: str) -> ContactCheck:
        """Count an attempt at `order_name`'s contact, or raise `RateLimited` when the order
        is locked by failed attempts from any address."""
        key, entry = self._key(ORDER_LIMIT, order_name), _entry()
        verdict = Verdict.after(await self._store.take(key, self._per_order, entry))
        if not verdict.allowed:
            raise RateLimited(ORDER_LIMIT, verdict.retry_after)
        return ContactCheck(self._store, key, entry)

    async def order_locked(self, order_name: str) -> Verdict:
        """Whether `order_name` is locked by failed contact checks; counts nothing."""
        key = self._key(ORDER_LIMIT, order_name)
        return Verdict.after(await self._store.wait(key, self._per_order))


def open_rate_limits(
    *,
    redis: aioredis.Redis | None,
    per_client: str,
    per_order: str,
    prefix: str = "ordergate",
    breaker: Breaker | None = None,
) -> RateLimits:
    """Limits shared by every replica through `redis`, or kept in this process when it is None.

    With a `breaker`, the limits are kept in this process (stricter: `FallbackWindows`)
    while it is open; without one, an unreachable Redis raises `LimitsUnavailable`.
    `per_client` and `per_order` use `limits` notation, e.g. "30/minute". The caller owns
    `redis` and closes it; the limits hold no other resource.
    """
    store: WindowStore
    if redis is None:
        store = MemoryWindows()
    elif breaker is None:
        store = RedisWindows(redis)
    else:
        store = FallbackWindows(RedisWindows(redis), MemoryWindows(), breaker)
    return RateLimits(
        store=store,
        per_client=Window.parse(per_client),
        per_order=Window.parse(per_order),
        prefix=prefix,
    )
