"""The GraphQL plumbing shared by the naive BFF and the floor: the public SDL served by
graphql-core over Starlette, each document parsed and validated once.

Parsing and validating the order-page query costs graphql-core about 10 ms, more than
everything else the naive BFF does per request. Doing it once per document, as most GraphQL
servers can, keeps the baseline from being a straw man: what it measures is one Admin call per
request and no data cache, not graphql-core's parser.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from graphql import DocumentNode, GraphQLError, build_schema, execute, parse, validate
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from service.paths import PUBLIC_SDL

DOCUMENTS_KEPT = 64


def public_schema_routes(
    *, root: object, context: Callable[[Request], Any] = lambda _: None
) -> list[Route]:
    """`POST /graphql` answering from `root` (resolvers as its attributes), and `GET /healthz`."""
    schema = build_schema(PUBLIC_SDL.read_text(encoding="utf-8"))

    @functools.lru_cache(maxsize=DOCUMENTS_KEPT)
    def checked(query: str) -> tuple[DocumentNode, list[GraphQLError]]:
        document = parse(query)
        return document, validate(schema, document)

    async def serve_graphql(request: Request) -> Response:
        body = await request.json()
        try:
            document, errors = checked(body["query"])
        except GraphQLError as error:
            return JSONResponse({"errors": [error.formatted]}, status_code=400)
        if errors:
            return JSONResponse({"errors": [error.formatted for error in errors]}, 400)
        result = execute(
            schema,
            document,
            root_value=root,
            context_value=context(request),
            variable_values=body.get("variables"),
        )
        if inspect.isawaitable(result):
            result = await result
        return JSONResponse(result.formatted)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return [Route("/graphql", serve_graphql, methods=["POST"]), Route("/healthz", healthz)]
