"""The GraphQL endpoint: Strawberry's ASGI app with ordergate's typed context, request ids,
the trusted client address and the 429 of CONTRACT §1."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from service.api import rate_limited
from service.api.context import Context
from service.client_address import client_address
from service.messages import negotiate
from service.runtime import Runtime

REQUEST_ID_HEADER = "x-request-id"


def request_id(request: Request) -> str:
    """The gateway's id when it is sane; anything else is replaced, never echoed."""
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    if 0 < len(supplied) <= 128 and supplied.isascii() and supplied.isprintable():
        return supplied
    return uuid.uuid4().hex


async def identify(request: Request) -> Response | None:
    """Who is asking, decided once per request; then the per-client limit."""
    peer = request.client.host if request.client else None
    forwarded = ", ".join(request.headers.getlist("x-forwarded-for")) or None
    request.state.client_address = client_address(
        peer, forwarded, Runtime.of(request).trusted_proxies
    )
    return await rate_limited.admit(request)


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI app, answering with ordergate's context and its 429."""

    async def get_context(self, request: Request, response: Response | Any) -> Context:  # type: ignore[override]
        runtime = Runtime.of(request)
        identifier = request_id(request)
        response.headers["X-Request-ID"] = identifier
        request.state.sub_response = response
        return Context(
            lookup=runtime.lookup,
            submissions=runtime.submissions,
            messages=runtime.messages,
            metrics=runtime.metrics,
            zone=runtime.zone,
            request_id=identifier,
            client_address=getattr(request.state, "client_address", None),
            locale=negotiate(request.headers.get("accept-language")),
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        limited = rate_limited.raised_in(result)
        if limited is None:
            return await super().process_result(request, result)
        return rate_limited.answer(request, request.state.sub_response, limited)
