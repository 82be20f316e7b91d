"""One log line per HTTP request to `/graphql`, 429s included: the server's request id, the
client's, the client address, root field and outcome, status and time taken.

Never the query, its variables, a contact or a comment: a document is attacker text, and a
storefront's documents carry customers' e-mail addresses as literals.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("ordergate.access")

REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_ID_LIMIT = 128


@dataclass(slots=True)
class RequestRecord:
    """What one HTTP request did, filled in as it is served; in the ASGI scope's state."""

    request_id: str
    client_request_id: str | None
    operations: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    kind: str | None = None  # which dependency failed, when one did

    def note(self, operation: str, outcome: str, *, kind: str | None = None) -> None:
        """Record a root field's outcome."""
        self.operations.append(operation)
        self.outcomes.append(outcome)
        self.kind = kind or self.kind


def client_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The caller's own id, kept only for correlation: never the audit key, since a client
    could plant another request's id there. Printable ASCII of at most 128 characters."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            if 0 < len(text) <= _CLIENT_ID_LIMIT and text.isascii() and text.isprintable():
                return text
            return None
    return None


def new_request_id() -> str:
    """A random (version 4) UUID as 32 hex digits, as `uuid.uuid4().hex` gives, without
    building the UUID object: that was a noticeable share of a cached lookup's CPU."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


def record_of(state: dict[str, object]) -> RequestRecord | None:
    """The record of the request whose scope state this is, if the access log made one."""
    record = state.get("access")
    return record if isinstance(record, RequestRecord) else None


class AccessLog:
    """ASGI wrapper: gives each request the server's own id and logs it once when done."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        record = RequestRecord(new_request_id(), client_request_id(scope["headers"]))
        state = scope.setdefault("state", {})
        state["access"] = record
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = record.request_id
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            logger.info(
                "request",
                extra={
                    "request_id": record.request_id,
                    "client_request_id": record.client_request_id,
                    "client_address": state.get("client_address"),
                    "operation": ",".join(record.operations) or None,
                    "outcome": ",".join(record.outcomes) or None,
                    "kind": record.kind,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
