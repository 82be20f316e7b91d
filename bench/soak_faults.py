"""The soak's faults: a Shopify stand-in that can turn slow, fail or hang, and the schedule.

Postgres, Redis and SMTP faults are `tests/tcp_proxy.TcpProxy` (cut: refused and broken;
blackhole: accepted and silent). Shopify's are an HTTP proxy in front of the sandbox shop:
`slow` answers 3 s late, `error` answers 500 with a body that echoes the Admin token (so a
leak of an upstream error's text would show in the token count), `hang` forwards the call, so
Shopify acts, and never answers it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web

SLOW_SECONDS = 3.0
FORWARDED_HEADERS = ("Content-Type", "X-Shopify-Access-Token", "Accept")


class ShopifyFaults:
    """An HTTP proxy to the sandbox's Admin endpoint whose `mode` the schedule sets."""

    def __init__(self, upstream_origin: str, token: str) -> None:
        self._upstream = upstream_origin
        self._token = token
        self.mode = "normal"
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.origin = ""

    async def start(self) -> None:
        """Listen on an ephemeral loopback port."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.origin = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Stop listening."""
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        mode = self.mode
        if mode == "error":
            return web.Response(status=500, text=f"internal error, token {self._token}")
        body = await request.read()
        headers = {key: request.headers[key] for key in FORWARDED_HEADERS if key in request.headers}
        assert self._session is not None
        async with self._session.request(
            request.method, self._upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            payload = await answer.read()
            status, content_type = answer.status, answer.content_type
        if mode == "hang":
            await asyncio.sleep(3600)  # Shopify acted; the answer never comes
        if mode == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        return web.Response(status=status, body=payload, content_type=content_type)


@dataclass(frozen=True)
class Phase:
    """One stretch of the soak: `fault` ("normal" for none) from `start` for `seconds`."""

    fault: str
    start: float
    seconds: float


FAULTS = (
    "postgres_cut",
    "postgres_blackhole",
    "redis_cut",
    "redis_blackhole",
    "shopify_slow",
    "shopify_error",
    "shopify_hang",
    "smtp_down",
    "replica_sigkill",
)


def schedule(total_seconds: float, faults: Sequence[str] = FAULTS) -> list[Phase]:
    """Warm-up, then each fault followed by as long a recovery, evenly over `total_seconds`;
    the schedule repeats when the time allows more than one round."""
    stretch = max(3.0, total_seconds / (2 * len(faults) + 1))
    phases, at = [Phase("normal", 0.0, stretch)], stretch
    while at + 2 * stretch <= total_seconds + 0.001:
        for fault in faults:
            if at + 2 * stretch > total_seconds + 0.001:
                break
            phases += [Phase(fault, at, stretch), Phase("normal", at + stretch, stretch)]
            at += 2 * stretch
    return phases
