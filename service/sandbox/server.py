"""The sandbox shop: a real loopback HTTP server speaking the Admin API slice ordergate uses."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from graphql import build_schema

from service.paths import ADMIN_SLICE
from service.sandbox.cost import LeakyBucket
from service.sandbox.credentials import GRANTED_SCOPES, Credentials
from service.sandbox.demo import DEMO_ORDERS, DemoOrder, seed_demo_orders
from service.sandbox.endpoint import AdminEndpoint, SandboxCall
from service.sandbox.generated import generate_orders
from service.sandbox.store import ShopStore

__all__ = ["DEMO_ORDERS", "DemoOrder", "SandboxCall", "SandboxShop", "start_sandbox"]

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SandboxShop:
    """A running sandbox: its URLs and credentials, the calls it saw, and its store."""

    def __init__(
        self,
        *,
        runner: web.AppRunner,
        origin: str,
        api_version: str,
        credentials: Credentials,
        store: ShopStore,
        calls: list[SandboxCall],
    ) -> None:
        self.endpoint = f"{origin}/admin/api/{api_version}/graphql.json"
        self.token_url = f"{origin}/admin/oauth/access_token"
        self.admin_token = credentials.admin_token
        self.client_id = credentials.client_id
        self.client_secret = credentials.client_secret
        self.store = store
        self.calls = calls
        self._runner = runner

    def mutations(self, name: str | None = None) -> list[SandboxCall]:
        """The mutation requests received, optionally only those of one operation name."""
        return [
            call
            for call in self.calls
            if call.is_mutation and (name is None or call.operation_name == name)
        ]

    async def close(self) -> None:
        """Stop serving and drop pending jobs."""
        self.store.close()
        await self._runner.cleanup()


class _Handlers:
    """The HTTP side: token checks, the client-credentials grant, GraphQL requests."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        endpoint: AdminEndpoint,
        calls: list[SandboxCall],
        latency: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        self._credentials = credentials
        self._endpoint = endpoint
        self._calls = calls
        self._latency, self._jitter = latency

    async def _network_delay(self) -> None:
        """Stand in for the round trip to Shopify, which a loopback server does not have."""
        if self._latency or self._jitter:
            delay = self._latency + random.uniform(-self._jitter, self._jitter)
            await asyncio.sleep(max(delay, 0.0))

    async def graphql(self, request: web.Request) -> web.Response:
        """`POST /admin/api/{version}/graphql.json`."""
        await self._network_delay()
        version = request.match_info["version"]
        if not _VERSION.match(version):
            return web.json_response({"errors": "Not Found"}, status=404)
        if not self._credentials.accepts(request.headers.get("X-Shopify-Access-Token")):
            return web.json_response({"errors": INVALID_TOKEN}, status=401)
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"errors": "Invalid JSON in request body"}, status=400)
        answer = self._endpoint.handle(body)
        if answer.call is not None:
            self._calls.append(answer.call)
        headers = {"X-Shopify-API-Version": version}
        return web.json_response(answer.body, status=answer.status, headers=headers)

    async def access_token(self, request: web.Request) -> web.Response:
        """`POST /admin/oauth/access_token`: the client-credentials grant."""
        form = await _form(request)
        if form.get("grant_type") != "client_credentials":
            error = {
                "error": "unsupported_grant_type",
                "error_description": "Use client_credentials.",
            }
            return web.json_response(error, status=400)
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if not self._credentials.client_matches(str(client_id), str(client_secret)):
            error = {
                "error": "invalid_client",
                "error_description": "Client authentication failed.",
            }
            return web.json_response(error, status=401)
        return web.json_response(
            {
                "access_token": self._credentials.grant(),
                "scope": GRANTED_SCOPES,
                "expires_in": self._credentials.token_lifetime_seconds,
            }
        )


async def _form(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return {}
        return body if isinstance(body, dict) else {}
    return dict(await request.post())


async def _serve(app: web.Application, *, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Serve `app` on host:port (0 picks a free port); the runner and the bound origin."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


async def start_sandbox(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], datetime] | None = None,
    bucket_size: float = 2000.0,
    restore_rate: float = 100.0,
    token_lifetime_seconds: int = 86399,
    api_version: str = "2026-10",
    job_delay_seconds: float = 0.3,
    seed_demo: bool = True,
    generated_orders: int = 0,
    latency_seconds: float = 0.0,
    latency_jitter_seconds: float = 0.0,
) -> SandboxShop:
    """Start a fresh sandbox shop on loopback, seeded with the demo orders relative to `clock()`.

    For load tests: `generated_orders` more orders (see `generated.py`), and every Admin
    GraphQL answer delayed by `latency_seconds` ± `latency_jitter_seconds` (uniform), as
    Shopify's answers are by the network and its own work.
    """
    now = clock or _utc_now
    store = ShopStore(clock=now, job_delay_seconds=job_delay_seconds)
    if seed_demo:
        seed_demo_orders(store, now())
    for order in generate_orders(generated_orders, now=now()):
        store.add_order(order)
    credentials = Credentials(token_lifetime_seconds=token_lifetime_seconds)
    endpoint = AdminEndpoint(
        schema=build_schema(ADMIN_SLICE.read_text(encoding="utf-8")),
        store=store,
        bucket=LeakyBucket(size=bucket_size, restore_rate=restore_rate),
        clock=now,
    )
    calls: list[SandboxCall] = []
    handlers = _Handlers(
        credentials=credentials,
        endpoint=endpoint,
        calls=calls,
        latency=(latency_seconds, latency_jitter_seconds),
    )
    app = web.Application()
    app.router.add_post("/admin/api/{version}/graphql.json", handlers.graphql)
    app.router.add_post("/admin/oauth/access_token", handlers.access_token)
    runner, origin = await _serve(app, host=host, port=port)
    return SandboxShop(
        runner=runner,
        origin=origin,
        api_version=api_version,
        credentials=credentials,
        store=store,
        calls=calls,
    )
