"""`create_app(settings)`: routes, the guarded GraphQL endpoint, and a lifespan that owns every
resource."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from service.api.hardening import (
    RequestGuard,
    graphql_error,
    rate_limited_body,
    rate_limited_response,
)
from service.api.schema import build_schema
from service.client_address import client_address
from service.config import Settings
from service.context import Context
from service.database import check_ready
from service.merchant_policy import Policy, load_policy
from service.messages import negotiate
from service.metrics import CONTENT_TYPE, Metrics
from service.orders import Caller
from service.ratelimit import CLIENT_LIMIT, LimitsUnavailable, RateLimited
from service.runtime import Runtime, open_runtime, utc_now

REQUEST_ID_HEADER = "x-request-id"
CORS_MAX_AGE_SECONDS = 600


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _request_id(request: Request) -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    # A gateway's id is kept when it is sane; anything else is replaced, never echoed.
    if 0 < len(supplied) <= 128 and supplied.isascii() and supplied.isprintable():
        return supplied
    return uuid.uuid4().hex


def _client_address(request: Request) -> str | None:
    peer = request.client.host if request.client else None
    forwarded = ", ".join(request.headers.getlist("x-forwarded-for")) or None
    return client_address(peer, forwarded, _runtime(request).trusted_proxies)


def _rate_limited_message(request: Request, *, limit: str, retry_after: int) -> str:
    """Counts the rejection and says it in the customer's language."""
    runtime = _runtime(request)
    runtime.metrics.rate_limited.labels(limit).inc()
    locale = negotiate(request.headers.get("accept-language"))
    return runtime.messages.rate_limited(locale, retry_after_seconds=retry_after)


async def admit(request: Request) -> Response | None:
    """The per-client limit, decided before anything else happens for the request."""
    runtime = _runtime(request)
    address = request.state.client_address = _client_address(request)
    try:
        verdict = await runtime.limits.hit_client(address or "unknown")
    except LimitsUnavailable:
        return graphql_error(503, "Service temporarily unavailable.", "UPSTREAM_UNAVAILABLE")
    if verdict.allowed:
        return None
    message = _rate_limited_message(request, limit=CLIENT_LIMIT, retry_after=verdict.retry_after)
    return rate_limited_response(retry_after=verdict.retry_after, message=message)


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI app with ordergate's typed context and the 429 of CONTRACT §1."""

    async def get_context(self, request: Request, response: Response | Any) -> Context:  # type: ignore[override]
        runtime = _runtime(request)
        request_id = _request_id(request)
        response.headers["X-Request-ID"] = request_id
        request.state.sub_response = response
        return Context(
            desk=runtime.desk,
            messages=runtime.messages,
            metrics=runtime.metrics,
            caller=Caller(
                request_id=request_id,
                client_address=getattr(request.state, "client_address", None),
                locale=negotiate(request.headers.get("accept-language")),
            ),
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        limited = next(
            (
                error.original_error
                for error in result.errors or ()
                if isinstance(error.original_error, RateLimited)
            ),
            None,
        )
        if limited is None:
            return await super().process_result(request, result)
        response: Response = request.state.sub_response
        response.status_code = 429
        response.headers["Retry-After"] = str(limited.retry_after)
        message = _rate_limited_message(
            request, limit=limited.limit, retry_after=limited.retry_after
        )
        return rate_limited_body(retry_after=limited.retry_after, message=message)  # type: ignore[return-value]


async def healthz(_: Request) -> Response:
    """Process alive; touches nothing, so a slow database never restarts pods."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    """Ready when Postgres answers and every migration is applied, and Redis answers."""
    runtime = _runtime(request)
    ready = await check_ready(runtime.pool)
    if ready and runtime.redis is not None:
        try:
            await runtime.redis.ping()
        except (RedisError, OSError):
            ready = False
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text exposition."""
    return Response(_runtime(request).metrics.render(), media_type=CONTENT_TYPE)


def create_app(
    settings: Settings,
    *,
    policy: Policy | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Starlette:
    """The ASGI application; resources open when it starts and close when it stops.

    Settings and the policy file are checked here, before anything starts, so a bad
    configuration stops the process with a message instead of failing in the lifespan.
    """
    settings.check_production()
    if policy is None:
        policy = load_policy(settings.policy_file)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(settings, policy=policy, metrics=metrics, clock=clock) as runtime:
            app.state.runtime = runtime
            yield

    graphql = GraphQLEndpoint(
        build_schema(production=settings.is_production),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=not settings.is_production,
    )
    return Starlette(
        routes=[
            Route("/graphql", RequestGuard(graphql, admit=admit), methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["content-type", "accept-language", "x-request-id"],
                expose_headers=["x-request-id", "retry-after"],
                max_age=CORS_MAX_AGE_SECONDS,
            )
        ],
        lifespan=lifespan,
    )
