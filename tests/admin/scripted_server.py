"""A scripted loopback HTTP server standing in for Shopify: queued replies, recorded requests."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from service.admin.auth import StaticToken, TokenProvider
from service.admin.client import AdminCall, AdminClient
from service.admin.operations import OperationRegistry

GRAPHQL_PATH = "/admin/api/2026-10/graphql.json"
TOKEN_PATH = "/admin/oauth/access_token"
STATIC_TOKEN = "shpat_static_0123456789abcdef"


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a dict or list body is sent as JSON, a str as it is."""

    status: int = 200
    body: object = None
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body parsed as a form."""
        return dict(parse_qsl(self.body.decode()))


Responder = Callable[[Recorded], Reply]


class ScriptedServer:
    """Answers each path from its queue of replies, then from its responder, else 500."""

    def __init__(self) -> None:
        self.base_url = ""
        self.requests: list[Recorded] = []
        self._queues: dict[str, deque[Reply]] = {}
        self.responders: dict[str, Responder] = {}

    @property
    def endpoint(self) -> str:
        """The Admin GraphQL endpoint URL."""
        return self.base_url + GRAPHQL_PATH

    @property
    def token_url(self) -> str:
        """The client-credentials token URL."""
        return self.base_url + TOKEN_PATH

    def script(self, path: str, *replies: Reply) -> None:
        """Queues replies for `path`, answered in order."""
        self._queues.setdefault(path, deque()).extend(replies)

    def requests_to(self, path: str) -> list[Recorded]:
        """The requests received on `path`, oldest first."""
        return [request for request in self.requests if request.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Records the request and sends the scripted reply."""
        recorded = Recorded(request.path, dict(request.headers), await request.read())
        self.requests.append(recorded)
        queue = self._queues.get(request.path)
        if queue:
            reply = queue.popleft()
        elif request.path in self.responders:
            reply = self.responders[request.path](recorded)
        else:
            reply = Reply(status=500, body="no scripted reply")
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if isinstance(reply.body, dict | list):
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        text = "" if reply.body is None else str(reply.body)
        return web.Response(text=text, status=reply.status, headers=reply.headers)


@dataclass
class ClientFactory:
    """Builds AdminClients against the scripted server, collecting every AdminCall."""

    session: aiohttp.ClientSession
    server: ScriptedServer
    registry: OperationRegistry
    calls: list[AdminCall] = field(default_factory=list)

    def __call__(
        self,
        *,
        auth: TokenProvider | None = None,
        endpoint: str | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        throttle_wait_limit: float = 5.0,
    ) -> AdminClient:
        """A client; a static token and the scripted endpoint unless told otherwise."""
        return AdminClient(
            self.session,
            endpoint=endpoint or self.server.endpoint,
            auth=auth or StaticToken(SecretStr(STATIC_TOKEN)),
            operations=self.registry,
            timeout=timeout or aiohttp.ClientTimeout(total=5, connect=2),
            on_call=self.calls.append,
            throttle_wait_limit=throttle_wait_limit,
        )


@asynccontextmanager
async def running_scripted_server() -> AsyncIterator[ScriptedServer]:
    """A fresh scripted server listening on 127.0.0.1 until the block ends."""
    scripted = ScriptedServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", scripted.handle)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    scripted.base_url = f"http://{host}:{port}"
    try:
        yield scripted
    finally:
        await runner.cleanup()
