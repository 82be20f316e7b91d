"""`create_app(settings)`: routes, the GraphQL endpoint, and a lifespan that owns every resource."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from service.api.schema import build_schema
from service.config import Settings
from service.context import Context
from service.database import check_ready
from service.messages import negotiate
from service.metrics import CONTENT_TYPE, Metrics
from service.orders import Caller
from service.runtime import Runtime, open_runtime, utc_now

REQUEST_ID_HEADER = "x-request-id"


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _request_id(request: Request) -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    # A gateway's id is kept when it is sane; anything else is replaced, never echoed.
    if 0 < len(supplied) <= 128 and supplied.isascii() and supplied.isprintable():
        return supplied
    return uuid.uuid4().hex


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI app with ordergate's typed context."""

    async def get_context(self, request: Request, response: Response | Any) -> Context:  # type: ignore[override]
        runtime = _runtime(request)
        request_id = _request_id(request)
        response.headers["X-Request-ID"] = request_id
        client = request.client.host if request.client else None
        return Context(
            desk=runtime.desk,
            messages=runtime.messages,
            metrics=runtime.metrics,
            caller=Caller(
                request_id=request_id,
                client_address=client,
                locale=negotiate(request.headers.get("accept-language")),
            ),
        )


async def healthz(_: Request) -> Response:
    """Process alive; touches nothing, so a slow database never restarts pods."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    """Ready when Postgres answers and every migration is applied."""
    ready = await check_ready(_runtime(request).pool)
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text exposition."""
    return Response(_runtime(request).metrics.render(), media_type=CONTENT_TYPE)


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Starlette:
    """The ASGI application; resources open when it starts and close when it stops."""
    settings.check_production()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(settings, metrics=metrics, clock=clock) as runtime:
            app.state.runtime = runtime
            yield

    graphql = GraphQLEndpoint(
        build_schema(production=settings.is_production),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=not settings.is_production,
    )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )
