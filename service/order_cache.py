"""Short-lived order snapshots (Redis when configured, else in process), one load per key at once.

"No such order" is cached like an order, for the same time: otherwise an unknown number
would answer slower than a known one with a wrong contact (a timing oracle), and differently
during a Shopify outage. Lookups read through this cache; mutations never do. Whoever
changes an order, or one of its requests, drops its entry. A load that was in flight when
its key was dropped is returned to its callers but not stored, so a drop is never undone by
an older snapshot.

Redis holds snapshots, not truth: while it is unreachable (the `RedisBreaker` open), the
cache reads and writes this process's dict, and a Redis call that fails opens the breaker
instead of failing the lookup. Keys dropped meanwhile are dropped in Redis too when it is
back, before anything is read there, so a snapshot from before the outage is never served.

In front of Redis each replica keeps the snapshots it read or loaded (decoded, no round trip),
but only while it is subscribed to the drops every replica publishes: a drop anywhere reaches
every replica's copy. Any gap in that subscription (a lost connection, the breaker opening)
empties the copy, and a read that overlapped a drop is not kept, so a replica never serves
longer than Redis would. While Redis is away, snapshots live at most `DEFAULT_TTL_SECONDS`:
drops are not heard across replicas then.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from service.models import OrderSnapshot
from service.order_json import snapshot_from_json, snapshot_to_json
from service.redis_breaker import RedisBreaker

logger = logging.getLogger("ordergate.cache")

CacheEvent = Literal["hit", "miss", "coalesced"]
DEFAULT_TTL_SECONDS = 10.0
_MAX_LOCAL_ENTRIES = 10_000
_RESUBSCRIBE_SECONDS = 1.0
# An idle subscription is pinged this often; heard from not at all for `_SILENT_AFTER`, it is
# taken for lost (a dropped idle connection gives no error) and the copies in process go.
_PING_EVERY_SECONDS = 5.0
_SILENT_AFTER_SECONDS = 15.0

# KEYS: version key, value key. ARGV: version seen before loading, value, ttl in ms.
# Stores only if nobody dropped the key since the load began.
_STORE_IF_CURRENT = """
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""


class _Absent(enum.Enum):
    """Nothing cached under a key (as opposed to a cached "no such order", which is None)."""

    MISS = enum.auto()


# KEYS: version key, value key. The version, the value and the value's remaining life in ms
# (negative when it has none), so a copy kept in process expires with the one in Redis.
_READ = """
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('PTTL', KEYS[2])}
"""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclasses.dataclass(eq=False)
class _Flight:
    """One load in progress; `dropped` is set when its key is dropped meanwhile."""

    task: asyncio.Task[OrderSnapshot | None] | None = None
    dropped: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class InProcess:
    """A snapshot this process holds (None: "no such order"), served without any await."""

    snapshot: OrderSnapshot | None


class OrderCache:
    """Order snapshots by canonical order name, with concurrent loads of one name shared."""

    def __init__(
        self,
        *,
        redis: aioredis.Redis | None,
        ttl: float = DEFAULT_TTL_SECONDS,
        prefix: str = "ordergate",
        on_event: Callable[[CacheEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        breaker: RedisBreaker | None = None,
        ping_every: float = _PING_EVERY_SECONDS,
        silent_after: float = _SILENT_AFTER_SECONDS,
    ) -> None:
        self._redis = redis
        self._ping_every, self._silent_after = ping_every, silent_after
        self._breaker = breaker
        self._dropped_locally: set[str] = set()  # dropped while Redis was away
        self._ttl = ttl
        self._prefix = prefix
        self._on_event = on_event
        self._clock = clock
        self._local: dict[str, tuple[float, OrderSnapshot | None]] = {}  # while Redis is away
        # In front of Redis, by digest:
        self._hot: dict[str, tuple[float, OrderSnapshot | None]] = {}
        self._listening = False  # subscribed: the hot copies hear every drop
        self._resubscribe = False
        self._drops_heard = 0  # a read that overlapped a drop is not kept hot
        self._listener: asyncio.Task[None] | None = None
        self._flights: dict[str, _Flight] = {}
        self._store_if_current = redis.register_script(_STORE_IF_CURRENT) if redis else None
        self._read_script = redis.register_script(_READ) if redis else None

    async def start(self) -> None:
        """Subscribe to the drops of every replica, so snapshots can be kept in process."""
        if self._redis is not None and self._listener is None:
            self._listener = asyncio.create_task(self._listen(self._redis))

    @property
    def listening(self) -> bool:
        """Whether drops from every replica are heard, so snapshots are kept in process."""
        return self._listening

    async def close(self) -> None:
        """Stop listening; the cache keeps working through Redis alone."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self._forget_hot()

    async def get_or_load(
        self, key: str, load: Callable[[], Awaitable[OrderSnapshot | None]]
    ) -> OrderSnapshot | None:
        """The cached snapshot for `key`, or the one `load` returns (shared with concurrent
        callers).

        None (no such order) is cached too, for the same time-to-live.
        """
        flight = self._flights.get(key)
        if flight is None:
            hot = self._read_hot(key)
            if hot is not _Absent.MISS:
                self._event("hit")
                return hot
            cached, version = await self._read(key)
            if cached is not _Absent.MISS:
                self._event("hit")
                return cached
            flight = self._flights.get(key)  # another caller may have started while we read
        if flight is not None:
            self._event("coalesced")
        else:
            self._event("miss")
            # The version read with the miss: a drop after it makes the load's store a no-op.
            flight = self._start(key, load, version)
        assert flight.task is not None
        # Shielded: one caller giving up must not cancel the load the others wait for.
        return await asyncio.shield(flight.task)

    def in_process(self, key: str) -> InProcess | None:
        """The snapshot for `key` when this process holds it now (counted as a hit), else
        None: then `get_or_load` asks Redis or loads."""
        if key in self._flights:
            return None
        hot = self._read_hot(key)
        if hot is _Absent.MISS:
            return None
        self._event("hit")
        return InProcess(hot)

    async def drop(self, key: str) -> None:
        """Forget `key` everywhere, including a load of it now in flight."""
        flight = self._flights.get(key)
        if flight is not None:
            flight.dropped = True
        self._local.pop(key, None)
        self._hot.pop(_digest(key), None)
        self._drops_heard += 1
        redis = self._shared()
        if redis is None:
            if self._redis is not None and len(self._dropped_locally) < _MAX_LOCAL_ENTRIES:
                self._dropped_locally.add(key)
            return
        try:
            await self._drop_shared(redis, key)
        except RedisError as exc:
            if self._tripped(exc):
                self._dropped_locally.add(key)
            else:
                # The entry still expires within the TTL; failing the caller would not help.
                logger.warning("order cache drop failed error=%s", type(exc).__name__)

    async def _drop_shared(self, redis: aioredis.Redis, key: str) -> None:
        version_key, value_key = self._keys(key)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(version_key)
            pipe.expire(version_key, max(int(self._ttl * 60), 60))
            pipe.delete(value_key)
            pipe.publish(self._channel, _digest(key))  # after the delete: every hot copy goes
            await pipe.execute()

    @property
    def _channel(self) -> str:
        return f"{self._prefix}:order-dropped"

    async def _listen(self, redis: aioredis.Redis) -> None:
        """Hear every replica's drops; resubscribe after any gap, emptying the hot copies."""
        while True:
            if self._breaker is not None and not self._breaker.available:
                # The pool refuses anyway while the breaker is open: wait for its probe.
                await asyncio.sleep(_RESUBSCRIBE_SECONDS)
                continue
            self._resubscribe, lost = False, False
            pubsub = redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                await self._hear(pubsub)
            except (RedisError, OSError) as exc:
                logger.warning("order cache subscription lost error=%s", type(exc).__name__)
                lost = True
            finally:
                self._forget_hot()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            if lost:
                await asyncio.sleep(_RESUBSCRIBE_SECONDS)

    async def _hear(self, pubsub: PubSub) -> None:
        """Messages until a resubscription is due; RedisConnectionError when Redis is silent."""
        clock = asyncio.get_running_loop().time
        heard = pinged = clock()
        while not self._resubscribe:
            wait = min(_RESUBSCRIBE_SECONDS, self._ping_every)
            message = await pubsub.get_message(timeout=wait)
            now = clock()
            if message is not None:
                heard = now
                self._heard(message)
            elif now - heard > self._silent_after:
                raise RedisConnectionError("order cache subscription silent")
            elif now - max(heard, pinged) >= self._ping_every:
                pinged = now
                await pubsub.ping()  # answered by a "pong" message

    def _heard(self, message: dict[str, Any]) -> None:
        if message.get("type") == "subscribe":
            self._listening = True  # only now is every later drop sure to arrive
        elif message.get("type") == "message":
            data = message.get("data")
            self._drops_heard += 1
            self._hot.pop(data.decode() if isinstance(data, bytes) else str(data), None)

    def _forget_hot(self) -> None:
        self._listening = False
        self._hot.clear()

    def _hot_usable(self) -> bool:
        if not self._listening:
            return False
        if self._breaker is not None and not self._breaker.available:
            # Drops are not heard while Redis is away: resubscribe when it is back.
            self._forget_hot()
            self._resubscribe = True
            return False
        return True

    def _read_hot(self, key: str) -> OrderSnapshot | _Absent | None:
        if not self._hot_usable():
            return _Absent.MISS
        digest = _digest(key)
        entry = self._hot.get(digest)
        if entry is None:
            return _Absent.MISS
        if entry[0] <= self._clock():
            del self._hot[digest]
            return _Absent.MISS
        return entry[1]

    def _keep_hot(
        self, key: str, snapshot: OrderSnapshot | None, *, drops_before: int, ttl: float
    ) -> None:
        """Keep a snapshot read or stored in Redis for the `ttl` it has left there, unless a
        drop was heard meanwhile."""
        if drops_before != self._drops_heard or not self._hot_usable():
            return
        if len(self._hot) >= _MAX_LOCAL_ENTRIES:
            self._hot.pop(next(iter(self._hot)))
        self._hot[_digest(key)] = (self._clock() + ttl, snapshot)

    def _shared(self) -> aioredis.Redis | None:
        """Redis when there is one and the breaker says it is usable now."""
        if self._breaker is not None and not self._breaker.available:
            return None
        return self._redis

    def _tripped(self, error: RedisError) -> bool:
        """Whether `error` opened the breaker (then the breaker has logged it)."""
        return self._breaker is not None and self._breaker.failed(error)

    async def _replay_drops(self, redis: aioredis.Redis) -> None:
        """Drop in Redis what was dropped while it was away, before reading it again."""
        while self._dropped_locally:
            key = next(iter(self._dropped_locally))
            await self._drop_shared(redis, key)
            self._dropped_locally.discard(key)

    def _start(
        self, key: str, load: Callable[[], Awaitable[OrderSnapshot | None]], version: str
    ) -> _Flight:
        flight = _Flight()
        flight.task = asyncio.create_task(self._load(key, load, flight, version))
        # Retrieve the outcome even when every caller has gone, so no error is left unread.
        flight.task.add_done_callback(lambda task: task.cancelled() or task.exception())
        self._flights[key] = flight
        return flight

    async def _load(
        self,
        key: str,
        load: Callable[[], Awaitable[OrderSnapshot | None]],
        flight: _Flight,
        version: str,
    ) -> OrderSnapshot | None:
        try:
            snapshot = await load()
            if not flight.dropped:
                await self._write(key, snapshot, version)
            return snapshot
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]

    def _keys(self, key: str) -> tuple[str, str]:
        digest = _digest(key)
        return f"{self._prefix}:order-version:{digest}", f"{self._prefix}:order:{digest}"

    async def _read(self, key: str) -> tuple[OrderSnapshot | _Absent | None, str]:
        """The cached snapshot, and the key's version read with it in one round trip."""
        redis = self._shared()
        if redis is None:
            return self._read_local(key), ""
        version = ""
        try:
            await self._replay_drops(redis)
            drops_before = self._drops_heard
            assert self._read_script is not None
            raw_version, raw, life_ms = await self._read_script(keys=list(self._keys(key)))
            version = raw_version.decode() if isinstance(raw_version, bytes) else ""
            if raw is None:
                return _Absent.MISS, version
            snapshot = snapshot_from_json(raw)
            if isinstance(life_ms, int) and life_ms > 0:
                self._keep_hot(key, snapshot, drops_before=drops_before, ttl=life_ms / 1000)
            return snapshot, version
        except RedisError as exc:
            if self._tripped(exc):
                return self._read_local(key), ""
            logger.warning("order cache read failed error=%s", type(exc).__name__)
            return _Absent.MISS, ""
        except (ValueError, KeyError, TypeError):
            logger.warning("order cache entry unreadable; treated as a miss")
            return _Absent.MISS, version

    def _read_local(self, key: str) -> OrderSnapshot | _Absent | None:
        if self._breaker is not None:
            self._breaker.served_locally("cache")
        entry = self._local.get(key)
        if entry is None or entry[0] <= self._clock():
            self._local.pop(key, None)
            return _Absent.MISS
        return entry[1]

    def _write_local(self, key: str, snapshot: OrderSnapshot | None) -> None:
        if len(self._local) >= _MAX_LOCAL_ENTRIES:
            self._local.pop(next(iter(self._local)))
        # Without Redis no drop reaches the other replicas: a short life, whatever the TTL.
        ttl = self._ttl if self._redis is None else min(self._ttl, DEFAULT_TTL_SECONDS)
        self._local[key] = (self._clock() + ttl, snapshot)

    async def _write(self, key: str, snapshot: OrderSnapshot | None, version: str) -> None:
        redis = self._shared()
        if redis is None:
            self._write_local(key, snapshot)
            return
        assert self._store_if_current is not None
        version_key, value_key = self._keys(key)
        value = snapshot_to_json(snapshot)
        args: list[str | int] = [version, value, max(int(self._ttl * 1000), 1)]
        drops_before = self._drops_heard
        try:
            if await self._store_if_current(keys=[version_key, value_key], args=args):
                self._keep_hot(key, snapshot, drops_before=drops_before, ttl=self._ttl)
        except RedisError as exc:
            if self._tripped(exc):
                self._write_local(key, snapshot)
            else:
                logger.warning("order cache write failed error=%s", type(exc).__name__)

    def _event(self, event: CacheEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)
