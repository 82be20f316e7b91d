"""Bounds on connections before the app sees a request: a deadline for each request to arrive,
and caps on open connections per peer and overall.

uvicorn has no deadline for a request head (one header byte a second holds a connection for
ever), and its `limit_concurrency` answers 503 to everyone once reached, so whoever holds
connections starves everyone else. `guarded_protocol` gives uvicorn's httptools protocol (the
C parser: h11, pure Python, cost about a tenth of a cached lookup) both bounds, and the cap on
a request head that h11 had built in; pass it as `uvicorn.Config(http=...)`.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from service.client_address import Network

REQUEST_DEADLINE_SECONDS = 10.0
MAX_CONNECTIONS_PER_PEER = 32
MAX_CONNECTIONS = 1000

# A host gets a whole IPv6 /64: counting single addresses would not bind it.
_IPV6_PEER_PREFIX = 64
# Request line and headers together; the app's guard applies the same figure to a head that
# arrives whole (service/api/guard.py MAX_HEAD_BYTES, which the server config passes here).
DEFAULT_MAX_HEAD_BYTES = 16 * 1024
# Per header and for the request line: the ": ", CRLF and method/version bytes the parser's
# callbacks do not hand over, so the count stays close to the bytes on the wire.
_LINE_OVERHEAD = 4


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a request may take to arrive, and how many connections may be open at once.

    `trusted_proxies` (the gateway) are exempt from `per_peer`, never from `total`.
    `max_head_bytes`: a head still incomplete past this many bytes is answered 400.
    """

    request_deadline: float = REQUEST_DEADLINE_SECONDS
    per_peer: int = MAX_CONNECTIONS_PER_PEER
    total: int = MAX_CONNECTIONS
    trusted_proxies: tuple[Network, ...] = ()
    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES


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


class _GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, holding a slot of the tally, a deadline for each request,
    and a bound on the bytes of a head that has not finished arriving."""

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
        self._head_bytes = 0
        self._in_head = False
        self._counting_raw = False

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

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            # The parser hands a header over only once it is whole: while a head keeps
            # arriving, its bytes are counted as they come.
            self._counting_raw = True
            self._head_bytes += len(data)
        super().data_received(data)
        # As h11 did: a head that arrives whole is the app guard's to refuse (431); one
        # still arriving past the bound is not buffered further.
        if self._in_head and self._head_bytes > self.tally.limits.max_head_bytes:
            self._in_head = False
            if not self.transport.is_closing():
                self.send_400_response("Request head too large.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._counting_raw = True, False
        self._head_bytes = _LINE_OVERHEAD * 3

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if not self._counting_raw:
            self._head_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        if not self._counting_raw:
            self._head_bytes += len(name) + len(value) + _LINE_OVERHEAD

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self.cycle.response_complete:
            # Answered before its body was in: the wait is now for the next request.
            self._start_deadline()
        else:
            self._stop_deadline()  # the whole request is in; the app's own time is not limited

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._start_deadline()
        super().on_response_complete()
        # A pipelined request uvicorn starts now may have arrived whole already.
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            self._stop_deadline()

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


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol bound by `limits`, for `uvicorn.Config(http=...)`.

    Each call makes a fresh tally: give every server its own protocol class.
    """
    shared = _Tally(limits)

    class GuardedProtocol(_GuardedProtocol):
        tally = shared

    return GuardedProtocol
