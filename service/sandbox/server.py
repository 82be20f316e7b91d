"""The sandbox shop: a real loopback HTTP server speaking the Admin API slice ordergate uses.

Beside the Admin API it plays the shop's side of webhooks (signed deliveries of every change
to an order, to the URL it is given) and lets a developer act as the shop's staff:
`POST /sandbox/staff/<action>/<order>` or the `SandboxShop` methods of the same names.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from graphql import build_schema

from service.paths import ADMIN_SLICE
from service.sandbox.cost import LeakyBucket
from service.sandbox.credentials import GRANTED_SCOPES, Credentials
from service.sandbox.demo import DEMO_ORDERS, DemoOrder, seed_demo_orders
from service.sandbox.endpoint import AdminEndpoint, SandboxCall
from service.sandbox.generated import generate_orders
from service.sandbox.staff import (
    STAFF_ACTIONS,
    Staff,
    StaffActionRefused,
    StaffOutcome,
    UnknownOrder,
)
from service.sandbox.store import ShopStore
from service.sandbox.webhooks import DEFAULT_RETRY_DELAYS, WebhookSender

__all__ = [
    "DEMO_ORDERS",
    "SANDBOX_STATE_FILE",
    "STAFF_ACTIONS",
    "DemoOrder",
    "SandboxCall",
    "SandboxShop",
    "StaffActionRefused",
    "StaffOutcome",
    "UnknownOrder",
    "start_sandbox",
]

SANDBOX_SHOP_DOMAIN = "sandbox.myshopify.com"
# Written into ORDERGATE_DATA_DIR by `ordergate dev` so that `ordergate sandbox staff` finds
# the sandbox it runs on a random port; removed when the sandbox stops.
SANDBOX_STATE_FILE = "sandbox.json"
STAFF_PATH = "/sandbox/staff"

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
        webhooks: WebhookSender,
        staff: Staff,
        state_file: Path | None = None,
    ) -> None:
        self.origin = origin
        self.endpoint = f"{origin}/admin/api/{api_version}/graphql.json"
        self.token_url = f"{origin}/admin/oauth/access_token"
        self.staff_url = f"{origin}{STAFF_PATH}"
        self.api_version = api_version
        self.shop_domain = webhooks.shop_domain
        self.admin_token = credentials.admin_token
        self.client_id = credentials.client_id
        self.client_secret = credentials.client_secret
        self.store = store
        self.calls = calls
        self.webhooks = webhooks
        self._staff = staff
        self._runner = runner
        self._state_file = state_file

    @property
    def webhook_secret(self) -> str:
        """What webhooks are signed with: the one given, else the app's client secret."""
        return self.webhooks.secret

    def deliver_webhooks_to(self, url: str | None, *, secret: str | None = None) -> None:
        """Deliver later webhooks to `url` (e.g. ordergate's /webhooks/shopify once its port is
        known); None stops deliveries. `secret` replaces the signing secret when given."""
        self.webhooks.deliver_to(url, secret=secret)

    def cancel(self, order: str | int) -> StaffOutcome:
        """Staff cancel the order (refund, restock); webhooks orders/cancelled, orders/updated
        and refunds/create when money was refunded."""
        return self._staff.cancel(order)

    def release_hold(self, order: str | int) -> StaffOutcome:
        """Staff release the order's fulfilment holds; webhook orders/updated."""
        return self._staff.release_hold(order)

    def refund(self, order: str | int) -> StaffOutcome:
        """Staff refund the whole order; webhooks refunds/create, orders/updated."""
        return self._staff.refund(order)

    def ship_replacement(self, order: str | int) -> StaffOutcome:
        """Staff ship the items in a new parcel; webhooks fulfillments/create, orders/fulfilled
        (when it was not fulfilled yet), orders/updated."""
        return self._staff.ship_replacement(order)

    def mark_delivered(self, order: str | int) -> StaffOutcome:
        """The carrier delivers the latest parcel under way; webhooks fulfillment_events/create,
        fulfillments/update."""
        return self._staff.mark_delivered(order)

    def staff_action(self, action: str, order: str | int) -> StaffOutcome:
        """One of STAFF_ACTIONS by name."""
        return self._staff.run(action, order)

    def mutations(self, name: str | None = None) -> list[SandboxCall]:
        """The mutation requests received, optionally only those of one operation name."""
        return [
            call
            for call in self.calls
            if call.is_mutation and (name is None or call.operation_name == name)
        ]

    async def close(self) -> None:
        """Stop serving, drop pending jobs and deliveries, remove the state file."""
        self.store.close()
        await self._runner.cleanup()
        await self.webhooks.close()
        if self._state_file is not None:
            _remove_state(self._state_file, self.origin)


class _Handlers:
    """The HTTP side: token checks, the client-credentials grant, GraphQL requests, staff."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        endpoint: AdminEndpoint,
        calls: list[SandboxCall],
        staff: Staff,
        latency: tuple[float, float] = (0.0, 0.0),
        mutation_latency: float = 0.0,
    ) -> None:
        self._credentials = credentials
        self._endpoint = endpoint
        self._calls = calls
        self._staff = staff
        self._latency, self._jitter = latency
        self._mutation_latency = mutation_latency

    async def staff_action(self, request: web.Request) -> web.Response:
        """`POST /sandbox/staff/{action}/{order}`: act as the shop's staff (loopback only)."""
        if not _is_loopback(request.remote):
            return web.json_response({"error": "staff actions are for loopback only"}, status=403)
        action, order = request.match_info["action"], request.match_info["order"]
        if action not in STAFF_ACTIONS:
            error = f"unknown action {action!r}; one of {', '.join(STAFF_ACTIONS)}"
            return web.json_response({"error": error}, status=404)
        try:
            outcome = self._staff.run(action, order)
        except UnknownOrder:
            return web.json_response({"error": f"no order {order} in the sandbox"}, status=404)
        except StaffActionRefused as refused:
            return web.json_response({"error": str(refused)}, status=409)
        body = {"action": outcome.action, "order": outcome.order, "webhooks": list(outcome.topics)}
        return web.json_response(body)

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
            if answer.call.is_mutation and self._mutation_latency:
                # Shopify's own work on a mutation: done at once, answered this much later.
                await asyncio.sleep(self._mutation_latency)
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


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def _write_state(path: Path, shop: SandboxShop) -> None:
    """Where the running sandbox is, for `ordergate sandbox staff` (no secrets in it)."""
    state = {
        "url": shop.origin,
        "staff_url": shop.staff_url,
        "admin_endpoint": shop.endpoint,
        "shop_domain": shop.shop_domain,
        "pid": os.getpid(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def _remove_state(path: Path, origin: str) -> None:
    """Remove the state file unless another sandbox has written its own since."""
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("url") == origin:
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


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
    mutation_latency_seconds: float = 0.0,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    shop_domain: str = SANDBOX_SHOP_DOMAIN,
    state_file: Path | None = None,
    demo_id_offset: int = 0,
) -> SandboxShop:
    """Start a fresh sandbox shop on loopback, seeded with the demo orders relative to `clock()`
    (their ids `demo_id_offset` past the usual ones).

    For load tests: `generated_orders` more orders (see `generated.py`), and every Admin
    GraphQL answer delayed by `latency_seconds` ± `latency_jitter_seconds` (uniform), as
    Shopify's answers are by the network and its own work; every mutation's answer (e.g.
    orderCancel's) additionally `mutation_latency_seconds` later, its effect applied at once.

    Webhooks: with `webhook_url`, every change to an order is POSTed there as Shopify would
    (signed with `webhook_secret`, by default the sandbox's client secret, as Shopify signs
    with the app's; `X-Shopify-Shop-Domain: shop_domain`), retried after each of
    `webhook_retry_delays` on anything but a 2xx. `state_file`: where to write the sandbox's
    URL for `ordergate sandbox staff` (removed on close).
    """
    now = clock or _utc_now
    store = ShopStore(clock=now, job_delay_seconds=job_delay_seconds)
    credentials = Credentials(token_lifetime_seconds=token_lifetime_seconds)
    webhooks = WebhookSender(
        shop_domain=shop_domain,
        api_version=api_version,
        secret=webhook_secret or credentials.client_secret,
        url=webhook_url,
        retry_delays=webhook_retry_delays,
    )
    if seed_demo:
        seed_demo_orders(store, now(), id_offset=demo_id_offset)
    for order in generate_orders(generated_orders, now=now()):
        store.add_order(order)
    # After seeding: adding the demo orders is not a change Shopify would announce.
    store.on_webhook = webhooks.publish
    staff = Staff(store)
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
        staff=staff,
        latency=(latency_seconds, latency_jitter_seconds),
        mutation_latency=mutation_latency_seconds,
    )
    app = web.Application()
    app.router.add_post("/admin/api/{version}/graphql.json", handlers.graphql)
    app.router.add_post("/admin/oauth/access_token", handlers.access_token)
    app.router.add_post(STAFF_PATH + "/{action}/{order}", handlers.staff_action)
    runner, origin = await _serve(app, host=host, port=port)
    shop = SandboxShop(
        runner=runner,
        origin=origin,
        api_version=api_version,
        credentials=credentials,
        store=store,
        calls=calls,
        webhooks=webhooks,
        staff=staff,
        state_file=state_file,
    )
    if state_file is not None:
        _write_state(state_file, shop)
    return shop
