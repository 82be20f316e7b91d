"""A real loopback HTTP server that receives webhooks the way ordergate's endpoint would."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PATH = "/webhooks/shopify"


@dataclass(frozen=True)
class Received:
    """One POST as it arrived: headers and the raw body."""

    headers: Mapping[str, str]
    body: bytes

    @property
    def topic(self) -> str:
        return self.headers["X-Shopify-Topic"]

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """Whether X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body."""
        expected = hmac.new(secret.encode(), self.body, hashlib.sha256).digest()
        given = base64.b64decode(self.headers.get("X-Shopify-Hmac-Sha256", ""))
        return hmac.compare_digest(given, expected)


@dataclass
class Receiver:
    """Answers `statuses` in turn (then 200), after `delay` seconds each."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append(Received(dict(request.headers), body))
        self.arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status)

    def topics(self) -> list[str]:
        return [each.topic for each in self.received]


@asynccontextmanager
async def running_receiver(**options: Any) -> AsyncIterator[Receiver]:
    """A receiver on 127.0.0.1 at PATH until the block ends."""
    receiver = Receiver(**options)
    app = web.Application()
    app.router.add_post(PATH, receiver.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}{PATH}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
