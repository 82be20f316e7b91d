"""`create_app(settings)`: routes, the guarded GraphQL endpoint, and a lifespan that owns every
resource, the metrics listener on its own port included."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api import rate_limited
from service.api.access_log import AccessLog
from service.api.endpoint import GraphQLEndpoint, identify
from service.api.guard import RequestGuard
from service.api.schema import build_schema
from service.client_address import LOOPBACK_HOSTS, parse_ip
from service.config import Settings
from service.demo_page import demo_page
from service.metrics import Metrics
from service.metrics_server import serving_metrics
from service.policy import Policy, load_policy
from service.runtime import Runtime, open_runtime, utc_now
from service.storage.database import check_ready
from service.web_assets import asset_routes
from service.webhooks.intake import WebhookIntake, shopify_webhook

CORS_MAX_AGE_SECONDS = 600


async def healthz(_: Request) -> Response:
    """Process alive; touches nothing, so a slow database never restarts pods."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    """Ready when Postgres answers and every migration is applied.

    Redis is not asked: it holds limits and cached snapshots, and while it is unreachable
    every replica serves with in-process limits and cache (`redis_breaker`). Failing
    readiness then would take every pod out of the Service at once, turning a Redis outage
    into a storefront outage; `ordergate_redis_available` is what to alert on.
    """
    ready = await check_ready(Runtime.of(request).pool)
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


async def dev_mail(request: Request) -> Response:
    """What the embedded mailbox of `ordergate dev` received: codes and receipts to read."""
    mailbox = Runtime.of(request).dev_mailbox
    if mailbox is None:
        return PlainTextResponse("No embedded mailbox: SMTP_URL is set.", status_code=404)
    # The page shows mail bodies: no script may run, and it is never framed.
    policy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    return HTMLResponse(mailbox.render_page(), headers={"Content-Security-Policy": policy})


# A storefront's own dev server (Hydrogen, Next.js, Vite: localhost on some port) against
# `ordergate dev`, so that the element's two lines work with no setting. Never in production,
# and never once ORDERGATE_CORS_ORIGINS names origins.
DEV_LOOPBACK_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?"


def _cors(settings: Settings) -> Middleware:
    loopback = not settings.is_production and not settings.cors_origins
    return Middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_origin_regex=DEV_LOOPBACK_ORIGINS if loopback else None,
        allow_methods=["GET", "POST"],
        allow_headers=["content-type", "accept-language", "x-request-id"],
        expose_headers=["x-request-id", "retry-after"],
        max_age=CORS_MAX_AGE_SECONDS,
    )


WILDCARD_HOSTS = frozenset({"0.0.0.0", "::"})


def _host_name(header: str) -> str:
    """The name of a Host header without its port: `[::1]:8000` → `::1`, `localhost.` →
    `localhost`."""
    if header.startswith("["):
        name = header[1 : header.find("]")] if "]" in header else ""
    else:
        name = header.rsplit(":", 1)[0] if header.count(":") == 1 else header
    return name.lower().rstrip(".")


class DevHostCheck:
    """`ordergate dev` answers only requests addressed to loopback or to ORDERGATE_HOST, so a
    page on another site that rebinds its own name to 127.0.0.1 (DNS rebinding) cannot read
    /dev/mail or the demo: its requests carry its own name as Host. Bound to all interfaces
    (0.0.0.0), any address typed as an IP is let through as well: a rebinding page never has
    one for its Host. In production the gateway in front decides which hosts reach ordergate.
    """

    def __init__(self, app: ASGIApp, *, configured: str) -> None:
        self.app = app
        self.allowed = LOOPBACK_HOSTS | {_host_name(configured)}
        self.any_ip = configured in WILDCARD_HOSTS

    def admits(self, header: str) -> bool:
        if _host_name(header) in self.allowed:
            return True
        address = parse_ip(header)
        return address is not None and (self.any_ip or address.is_loopback)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if not self.admits(header):
                response = PlainTextResponse("Invalid host header", status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _lifespan(
    settings: Settings,
    *,
    policy: Policy,
    metrics: Metrics,
    clock: Callable[[], datetime],
    sandbox_state: Path | None,
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """Opens the metrics listener, then the runtime; closes them in reverse."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The metrics listener opens first and closes last, so scrapes see the shutdown drain.
        async with (
            serving_metrics(
                metrics, host=settings.listen_host, port=settings.metrics_port
            ) as metrics_port,
            open_runtime(
                settings, policy=policy, metrics=metrics, clock=clock, sandbox_state=sandbox_state
            ) as runtime,
        ):
            app.state.metrics_port = metrics_port  # the bound port, None when off
            app.state.runtime = runtime
            sandbox = runtime.sandbox
            app.state.webhooks = WebhookIntake.for_app(
                settings,
                pool=runtime.pool,
                metrics=metrics,
                clock=clock,
                shop_domain=sandbox.shop_domain if sandbox else None,
                secret=sandbox.webhook_secret if sandbox else None,
            )
            yield

    return lifespan


def create_app(
    settings: Settings,
    *,
    policy: Policy | None = None,
    clock: Callable[[], datetime] = utc_now,
    sandbox_state: Path | None = None,
) -> Starlette:
    """The ASGI application; resources open when it starts and close when it stops.

    `sandbox_state`: where the built-in sandbox says where it listens (`ordergate dev` only,
    for `ordergate sandbox staff`).

    Settings and the policy file are checked here, before anything starts, so a bad
    configuration stops the process with a message instead of failing in the lifespan.
    """
    settings.check_production()
    checked_policy = load_policy(settings.policy_file) if policy is None else policy
    lifespan = _lifespan(
        settings,
        policy=checked_policy,
        metrics=Metrics(),
        clock=clock,
        sandbox_state=sandbox_state,
    )
    graphql = GraphQLEndpoint(
        build_schema(production=settings.is_production),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=not settings.is_production,
        hide_suggestions=settings.is_production,
    )
    routes = [
        Route(
            "/graphql",
            AccessLog(RequestGuard(graphql, admit=identify, settle=rate_limited.settle)),
            methods=["GET", "POST"],
        ),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/webhooks/shopify", shopify_webhook, methods=["POST"]),
        *asset_routes(dev=not settings.is_production),
    ]
    if not settings.is_production:
        routes.append(Route("/dev/mail", dev_mail))
        routes.append(Route("/", demo_page))
    middleware = [_cors(settings)]
    if not settings.is_production:
        middleware.insert(0, Middleware(DevHostCheck, configured=settings.listen_host))
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
