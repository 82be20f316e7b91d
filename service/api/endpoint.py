"""The GraphQL endpoint: Strawberry's ASGI app with ordergate's typed context, request ids,
the trusted client address, the 429 of CONTRACT §1, and GraphQL over HTTP's media types."""

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
from service.api.guard import PARSED_BODY
from service.api.media_types import GRAPHQL_RESPONSE_JSON, response_media_type_for
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


def is_request_error(result: ExecutionResult) -> bool:
    """The document did not parse or validate, or its variables did not coerce: nothing ran.

    Such errors carry no path (a field's error does) and leave no data behind.
    """
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def _response_media_type(request: Request) -> str | None:
    """The media type the guard chose from `Accept` (it reads the header once), or, for a
    request it did not look at, the same choice made here."""
    chosen: str | None = getattr(request.state, "response_media_type", None)
    if chosen is not None:
        return chosen
    return response_media_type_for(request.headers.getlist("accept"))


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI app, answering with ordergate's context and its 429.

    The response is `application/graphql-response+json` when the client prefers it (the
    guard has answered 406 when it accepts neither type), and then a request error is HTTP
    400 without `data`; `application/json` keeps the legacy shape: 200 with `data: null`.
    """

    def __init__(self, *args: Any, hide_suggestions: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hide_suggestions = hide_suggestions

    def parse_json(self, data: str | bytes) -> object:
        """The body as JSON: the guard's parse of these very bytes when it made one."""
        parsed = PARSED_BODY.get()
        if parsed is not None and parsed[0] == data:
            return parsed[1]
        return super().parse_json(data)

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
            client_count=getattr(request.state, "client_count", None),
            locale=negotiate(request.headers.get("accept-language")),
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        limited = rate_limited.raised_in(result)
        if limited is not None:
            return rate_limited.answer(request, request.state.sub_response, limited)
        # A document that made no per-order check did not take the request's count yet.
        refused = await rate_limited.settled_result(request, request.state.sub_response)
        if refused is not None:
            return refused
        if self._hide_suggestions and result.errors:
            result.errors = [_without_suggestion(error) for error in result.errors]
        processed = await super().process_result(request, result)
        sub_response: Response = request.state.sub_response
        if _response_media_type(request) != GRAPHQL_RESPONSE_JSON:
            return processed
        sub_response.media_type = GRAPHQL_RESPONSE_JSON
        if is_request_error(result):
            sub_response.status_code = 400
            processed.pop("data", None)
        return processed

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """Strawberry's JSON response, labelled with the media type chosen for it."""
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        return response
