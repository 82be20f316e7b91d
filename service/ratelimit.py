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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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


@dataclass(frozen=True, slots=True)
class Step:
    """One window operation: take `entry` when the window has room, or, with no entry, only
    test for room."""

    key: str
    window: Window
    entry: str = ""


@dataclass(frozen=True, slots=True)
class Ran:
    """What a run of steps found. `refused`: the index of the first step whose window had no
    room (later steps did not run), with its `wait` in seconds; None when every step passed.
    `room`: entries the first step's window had left after it (0 when it was refused)."""

    refused: int | None
    wait: float
    room: int


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

    async def run(self, steps: Sequence[Step]) -> Ran:
        """The steps in order, as one atomic step, stopping at the first without room: a
        request's per-client count and its per-order check cost one Redis round trip."""

    async def give_back(self, key: str, entry: str) -> None:
        """Remove an entry taken before (a contact check that passed)."""


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

    async def run(self, steps: Sequence[Step]) -> Ran:
        """The steps in order, stopping at the first without room; nothing awaits between."""
        room = 0
        for index, step in enumerate(steps):
            self._sweep(step.window)
            entries = self._current(step.key, step.window)
            wait = self._wait(entries, step.window)
            if wait > 0:
                return Ran(refused=index, wait=wait, room=room)
            if step.entry:
                entries.append((self._clock(), step.entry))
            if index == 0:
                room = step.window.limit - len(entries)
        return Ran(refused=None, wait=0.0, room=room)

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


# KEYS: the windows' sorted sets. ARGV: limit, seconds, entry for each key, in order ('' only
# tests for room). Stops at the first window without room. Returns {index of that window or 0,
# its wait in seconds as text (Redis truncates Lua numbers to integers), room left in the
# first window after it}.
_RUN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local room = 0
for i = 1, #KEYS do
  local limit, seconds, entry = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), ARGV[3 * i]
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - seconds)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    return {i, tostring(tonumber(oldest[2]) + seconds - now), room}
  end
  if entry ~= '' then
    redis.call('ZADD', KEYS[i], now, entry)
    redis.call('EXPIRE', KEYS[i], math.ceil(seconds))
    count = count + 1
  end
  if i == 1 then room = limit - count end
end
return {0, '0', room}
"""


class RedisWindows:
    """Windows shared by every replica, timed by the Redis server's clock."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._run = redis.register_script(_RUN)

    async def run(self, steps: Sequence[Step]) -> Ran:
        """The steps in order in one script: one round trip however many windows."""
        args: list[str | int | float] = []
        for step in steps:
            args += [step.window.limit, step.window.seconds, step.entry]
        try:
            refused, wait, room = await self._run(keys=[step.key for step in steps], args=args)
        except RedisError as exc:
            raise LimitsUnavailable(exc) from None
        return Ran(refused=int(refused) - 1 if refused else None, wait=float(wait), room=room)

    async def give_back(self, key: str, entry: str) -> None:
        """Remove an entry taken before."""
        try:
            await self._redis.zrem(key, entry)
        except RedisError as exc:
            raise LimitsUnavailable(exc) from None


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

    async def run(self, steps: Sequence[Step]) -> Ran:
        """The steps in Redis, or in this process's stricter windows while it is away."""
        if self._breaker.available:
            try:
                return await self._shared.run(steps)
            except LimitsUnavailable as exc:
                if not self._breaker.failed(exc.error):
                    raise
        self._breaker.served_locally("limits")
        return await self._local.run([replace(step, window=_local(step.window)) for step in steps])

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


@dataclass(slots=True)
class ClientCount:
    """One request's entry in its client's per-client window, not yet taken while `pending`.

    Taken at the door (`RateLimits.settle`), or, while this replica last saw the client with
    room to spare, carried to the request's first per-order check and taken in the same
    Redis round trip; a count still pending when the request ends is settled then. Every
    request is counted exactly once either way: only where the count is taken moves.
    """

    key: str
    pending: bool = True
    # Whether `RateLimits.may_defer` let it wait: it runs ahead of its count until settled.
    deferred: bool = False


class RateLimits:
    """The two limits of CONTRACT §2 over one window store."""

    # Client keys whose room this replica remembers; forgotten all at once past this many.
    _REMEMBERED_CLIENTS = 4096

    def __init__(
        self, *, store: WindowStore, per_client: Window, per_order: Window, prefix: str
    ) -> None:
        self._store = store
        self._per_client = per_client
        self._per_order = per_order
        self._prefix = prefix
        # A client with fewer entries left than this is counted at the door, before its
        # document is parsed: a client near or past its limit cannot make the server parse
        # and run documents only to be refused afterwards. A quarter of the limit: a count
        # another replica spent meanwhile lets at most three quarters of a limit's requests
        # of this replica run up to their first order check before they are refused.
        self._spare = max(1, per_client.limit // 4)
        # What Redis last said each client had left, and how many of this replica's
        # requests run ahead of their count since (deferred, not counted yet): Redis's
        # figure does not know them, so a count taken meanwhile must not forget them.
        self._room: dict[str, int] = {}
        self._ahead: dict[str, int] = {}

    def _key(self, limit: str, identity: str) -> str:
        # Under `limit:`, apart from the order cache's `order:` keys for the same digests.
        return f"{self._prefix}:limit:{limit}:{_digest(identity)}"

    def client_count(self, address: str) -> ClientCount:
        """The per-client count of one request from `address`, not taken yet."""
        return ClientCount(self._key(CLIENT_LIMIT, _remembered_client_key(address)))

    def may_defer(self, count: ClientCount) -> bool:
        """Whether `count` may wait for the request's first per-order check: this replica
        last saw the client with room to spare. Each yes holds one entry of that room until
        its own count is taken, so concurrent requests cannot all wait on one stale figure,
        and a count Redis takes meanwhile (its figure knows nothing of them) does not free
        their entries again."""
        ahead = self._ahead.get(count.key, 0)
        if self._room.get(count.key, 0) - ahead < self._spare:
            return False
        self._ahead[count.key] = ahead + 1
        count.deferred = True
        return True

    async def settle(self, count: ClientCount) -> Verdict:
        """Take `count` now if it is still pending; refused once the per-client limit is spent."""
        if not count.pending:
            return Verdict(allowed=True)
        ran = await self._store.run((self._client_step(count),))
        self._counted(count, ran)
        return Verdict.after(ran.wait)

    async def hit_client(self, address: str) -> Verdict:
        """Count one request from `address`; refused once the per-client limit is spent."""
        return await self.settle(self.client_count(address))

    async def start_contact_check(
        self, order_name: str, *, count: ClientCount | None = None
    ) -> ContactCheck:
        """Count an attempt at `order_name`'s contact, or raise `RateLimited` when the order
        is locked by failed attempts from any address (or, with a pending `count`, when the
        client's limit is spent: then the order's window is left alone)."""
        key, entry = self._key(ORDER_LIMIT, order_name), _entry()
        verdict = Verdict.after(await self._with_count(count, Step(key, self._per_order, entry)))
        if not verdict.allowed:
            raise RateLimited(ORDER_LIMIT, verdict.retry_after)
        return ContactCheck(self._store, key, entry)

    async def order_locked(self, order_name: str, *, count: ClientCount | None = None) -> Verdict:
        """Whether `order_name` is locked by failed contact checks; takes nothing from the
        order's window. A pending `count` is taken in the same round trip (`RateLimited`
        when the client's limit is spent)."""
        step = Step(self._key(ORDER_LIMIT, order_name), self._per_order)
        return Verdict.after(await self._with_count(count, step))

    async def _with_count(self, count: ClientCount | None, step: Step) -> float:
        """`step`'s wait, after the request's pending client count if there is one, both in
        one call to the store."""
        if count is None or not count.pending:
            return (await self._store.run((step,))).wait
        ran = await self._store.run((self._client_step(count), step))
        self._counted(count, ran)
        if ran.refused == 0:
            raise RateLimited(CLIENT_LIMIT, Verdict.after(ran.wait).retry_after)
        return ran.wait

    def _client_step(self, count: ClientCount) -> Step:
        return Step(count.key, self._per_client, _entry())

    def _counted(self, count: ClientCount, ran: Ran) -> None:
        count.pending = False
        if count.deferred:
            count.deferred = False
            ahead = self._ahead.pop(count.key, 0) - 1
            if ahead > 0:
                self._ahead[count.key] = ahead
        if len(self._room) >= self._REMEMBERED_CLIENTS:
            self._room.clear()
        self._room[count.key] = 0 if ran.refused == 0 else ran.room


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
