"""The GraphQL endpoint: Strawberry's ASGI app with ordergate's typed context, request ids,
the trusted client address and the 429 of CONTRACT §1."""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from service.api import rate_limited
from service.api.access_log import record_of
from service.api.context import Context
from service.client_address import client_address
from service.messages import negotiate
from service.runtime import Runtime
from service.web_assets import graphiql_page


async def identify(request: Request) -> Response | None:
    """Who is asking, decided once per request; then the per-client limit."""
    peer = request.client.host if request.client else None
    forwarded = ", ".join(request.headers.getlist("x-forwarded-for")) or None
    request.state.client_address = client_address(
        peer, forwarded, Runtime.of(request).trusted_proxies
    )
    return await rate_limited.admit(request)


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    """The error without "Did you mean 'orderNumber'?": in production the schema is not for
    strangers to map out, by field, argument or type name."""
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI app, answering with ordergate's context and its 429."""

    def __init__(self, *args: Any, hide_suggestions: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hide_suggestions = hide_suggestions

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the wheel's own assets (dev only: production sets no IDE)."""
        return graphiql_page()

    async def get_context(self, request: Request, response: Response | Any) -> Context:  # type: ignore[override]
        runtime = Runtime.of(request)
        record = record_of(request.scope["state"])
        assert record is not None, "/graphql is served behind the access log"
        request.state.sub_response = response
        return Context(
            lookup=runtime.lookup,
            submissions=runtime.submissions,
            messages=runtime.messages,
            metrics=runtime.metrics,
            zone=runtime.zone,
            record=record,
            client_address=getattr(request.state, "client_address", None),
            locale=negotiate(request.headers.get("accept-language")),
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        limited = rate_limited.raised_in(result)
        if limited is None:
            if self._hide_suggestions and result.errors:
                result.errors = [_without_suggestion(error) for error in result.errors]
            return await super().process_result(request, result)
        return rate_limited.answer(request, request.state.sub_response, limited)
