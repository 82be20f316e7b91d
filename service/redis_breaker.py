"""Whether Redis is usable now: a circuit breaker the limits and the order cache consult.

Redis holds limits and cached snapshots, never the truth, so an unreachable Redis must not
refuse storefronts. Closed (the normal state), Redis is used. The first connection or
timeout error a user reports opens the breaker: one warning is logged, the availability
gauge drops to 0, users serve from what this process holds (`ratelimit.FallbackWindows`,
the order cache's local dict), and `GuardedPool` refuses connections without touching the
network, so a dead or silent Redis costs no more waits and opens no more connections.

While open, one probe at a time pings Redis over its own connection with a short timeout,
after 1 s, then 2, 4, ... up to 30 s between probes: at most one connection per probe. The
first answer closes the breaker (one info line, gauge back to 1) and Redis is used again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("ordergate.redis")

FIRST_PROBE_DELAY_SECONDS = 1.0
MAX_PROBE_DELAY_SECONDS = 30.0
PROBE_TIMEOUT_SECONDS = 0.5

# What says Redis cannot be reached. A ResponseError (a script or a command refused) comes
# from a Redis that answers: it fails that one call, but does not open the breaker.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


class RedisBreaker:
    """Closed while Redis answers; open, and probing with backoff, after it failed."""

    def __init__(
        self,
        probe: Callable[[], Awaitable[object]],
        *,
        first_delay: float = FIRST_PROBE_DELAY_SECONDS,
        max_delay: float = MAX_PROBE_DELAY_SECONDS,
        probe_timeout: float = PROBE_TIMEOUT_SECONDS,
        on_change: Callable[[bool], None] | None = None,
        on_fallback: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._probe_timeout = probe_timeout
        self._on_change = on_change
        self._on_fallback = on_fallback
        self._clock = clock
        self._available = True
        self._opened_at = 0.0
        self._prober: asyncio.Task[None] | None = None
        self.probes = 0  # probes sent since start, for tests and the closing log line
        if on_change is not None:
            on_change(True)

    @property
    def available(self) -> bool:
        """Whether Redis should be used now."""
        return self._available

    def failed(self, error: BaseException) -> bool:
        """Report a failed Redis call; opens the breaker when `error` says Redis is
        unreachable. Returns whether it did (or was open already)."""
        if not isinstance(error, UNREACHABLE):
            return False
        if self._available:
            self._available = False
            self._opened_at = self._clock()
            logger.warning(
                "redis unavailable; limits and order cache kept in process error=%s",
                type(error).__name__,
            )
            if self._on_change is not None:
                self._on_change(False)
            self._prober = asyncio.get_running_loop().create_task(self._probe_until_back())
        return True

    def served_locally(self, use: str) -> None:
        """Count one operation of `use` ("limits", "cache") served without Redis."""
        if self._on_fallback is not None:
            self._on_fallback(use)

    async def _probe_until_back(self) -> None:
        delay = self._first_delay
        while True:
            await asyncio.sleep(delay)
            self.probes += 1
            try:
                await asyncio.wait_for(self._probe(), self._probe_timeout)
            except (RedisError, OSError, TimeoutError) as exc:
                logger.debug("redis probe failed error=%s", type(exc).__name__)
                delay = min(delay * 2, self._max_delay)
                continue
            break
        self._available = True
        logger.info(
            "redis available again after %.1f s; limits and order cache shared again",
            self._clock() - self._opened_at,
        )
        if self._on_change is not None:
            self._on_change(True)

    async def close(self) -> None:
        """Stop probing (at shutdown)."""
        prober, self._prober = self._prober, None
        if prober is not None:
            prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await prober


class GuardedPool(aioredis.ConnectionPool):
    """A bounded pool that makes a caller wait its turn (up to `timeout` seconds), and that
    refuses at once, without a connection, while the breaker is open.

    Every user of the client (limits, cache, the Admin cost gate) then fails fast instead of
    waiting on a socket, and reconnecting requests cannot storm a Redis that is down.

    The bound is a semaphore in front of redis-py's plain pool, not its
    `BlockingConnectionPool`: that one takes a condition, starts a timeout and waits on a
    predicate for every command, even with idle connections on hand, and was the largest
    single frame of a cached lookup's profile. A free slot here costs no await at all; the
    timeout is armed only when every connection is out.
    """

    def __init__(
        self,
        *,
        breaker: RedisBreaker,
        max_connections: int = 50,
        timeout: float = 20,
        **kwargs: Any,
    ) -> None:
        super().__init__(max_connections=max_connections, **kwargs)
        self.breaker = breaker
        self._slots = asyncio.Semaphore(max_connections)
        self._wait_seconds = timeout
        # The connections handed out, each holding a slot; redis-py's pool may release a
        # connection it failed to connect before the caller ever had it.
        self._holding: set[AbstractConnection] = set()

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        if not self.breaker.available:
            raise RedisConnectionError("redis circuit open")
        await self._take_slot()
        try:
            if not self.breaker.available:  # opened while this caller waited for its turn
                raise RedisConnectionError("redis circuit open")
            # redis-py leaves this untyped.
            connection: AbstractConnection = await super().get_connection(  # type: ignore[no-untyped-call]
                *args, **kwargs
            )
        except BaseException:
            self._slots.release()
            raise
        self._holding.add(connection)
        return connection

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # returns at once: a slot is free
            return
        try:
            async with asyncio.timeout(self._wait_seconds):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise RedisConnectionError("No connection available.") from exc

    async def release(self, connection: AbstractConnection) -> None:
        try:
            await super().release(connection)
        finally:
            if connection in self._holding:
                self._holding.discard(connection)
                self._slots.release()
