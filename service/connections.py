"""Bounds on connections before the app sees a request: a deadline for each request to arrive,
and caps on open connections per peer and overall.

uvicorn has no deadline for a request head (one header byte a second holds a connection for
ever), and its `limit_concurrency` answers 503 to everyone once reached, so whoever holds
connections starves everyone else. `guarded_protocol` gives uvicorn's h11 protocol both bounds;
pass it as `uvicorn.Config(http=...)`.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from service.client_address import Network

REQUEST_DEADLINE_SECONDS = 10.0
MAX_CONNECTIONS_PER_PEER = 32
MAX_CONNECTIONS = 1000

# A host gets a whole IPv6 /64: counting single addresses would not bind it.
_IPV6_PEER_PREFIX = 64
_ARRIVED = frozenset({h11.DONE, h11.MUST_CLOSE, h11.CLOSED})


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a request may take to arrive, and how many connections may be open at once.

    `trusted_proxies` (the gateway) are exempt from `per_peer`, never from `total`.
    """

    request_deadline: float = REQUEST_DEADLINE_SECONDS
    per_peer: int = MAX_CONNECTIONS_PER_PEER
    total: int = MAX_CONNECTIONS
    trusted_proxies: tuple[Network, ...] = ()


def _peer_key(client: tuple[str, int] | None, trusted: Sequence[Network]) -> str | None:
    """What the per-peer cap counts by: the address, an IPv6 peer's /64; None when exempt."""
    if client is None:
        return None
    try:
        ip = ipaddress.ip_address(client[0])
    except ValueError:
        return client[0]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip.version == network.version and ip in network for network in trusted):
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network((ip, _IPV6_PEER_PREFIX), strict=False))
    return str(ip)


class _Tally:
    """The connections one server holds open, overall and per peer."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._open = 0
        self._by_peer: Counter[str] = Counter()

    def take(self, peer: str | None) -> bool:
        if self._open >= self.limits.total:
            return False
        if peer is not None:
            if self._by_peer[peer] >= self.limits.per_peer:
                return False
            self._by_peer[peer] += 1
        self._open += 1
        return True

    def release(self, peer: str | None) -> None:
        self._open -= 1
        if peer is not None:
            self._by_peer[peer] -= 1
            if self._by_peer[peer] <= 0:
                del self._by_peer[peer]


class _GuardedProtocol(H11Protocol):
    """uvicorn's h11 protocol, holding a slot of the tally and a deadline for each request."""

    tally: ClassVar[_Tally]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._deadline: asyncio.TimerHandle | None = None
        self._holds_slot = False
        self._peer: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._peer = _peer_key(self.client, self.tally.limits.trusted_proxies)
        if not self.tally.take(self._peer):
            # Refused as a full backlog would: closed before anything is read, parsed or
            # answered (an answer to a request not yet sent is one no client can rely on).
            transport.abort()
            return
        self._holds_slot = True
        self._start_deadline()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state in _ARRIVED:
            self._stop_deadline()  # the whole request is in; the app's own time is not limited

    def on_response_complete(self) -> None:
        # Started before uvicorn handles a pipelined request, which may already be complete.
        if not self.transport.is_closing():
            self._start_deadline()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadline()
        if self._holds_slot:
            self._holds_slot = False
            self.tally.release(self._peer)
        super().connection_lost(exc)

    def _start_deadline(self) -> None:
        self._stop_deadline()
        self._deadline = self.loop.call_later(
            self.tally.limits.request_deadline, self._deadline_passed
        )

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        # abort, not close: nothing is owed to this client, and close would wait on a peer
        # that does not read. A running app sees http.disconnect and answers nothing.
        self.transport.abort()


def guarded_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol bound by `limits`, for `uvicorn.Config(http=...)`.

    Each call makes a fresh tally: give every server its own protocol class.
    """
    shared = _Tally(limits)

    class GuardedProtocol(_GuardedProtocol):
        tally = shared

    return GuardedProtocol
