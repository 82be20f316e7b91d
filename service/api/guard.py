"""Refuses malformed HTTP before Strawberry reads it: header count, method, media types (what
the body is, what the client accepts back), and the body's size, shape and arrival time.

`RequestGuard` wraps the GraphQL endpoint; `admit`, when given, runs first on every request
(the per-client limit) and may answer in the request's place; `settle` takes a per-client
count `admit` left pending, when the guard refuses the request or the endpoint is done.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.media_types import GRAPHQL_RESPONSE_JSON, JSON, response_media_type_for
from service.api.validation import MAX_TOKENS

MAX_BODY_BYTES = 32 * 1024
MAX_HEADERS = 100
# Request target and headers together. The server (service/connections.py) applies the same
# figure only to a head that arrives in pieces; one read passes whole, so it is checked here too.
MAX_HEAD_BYTES = 16 * 1024
BODY_DEADLINE_SECONDS = 5.0
MAX_JSON_NESTING = 32
_BODY_KEYS = frozenset({"query", "variables", "operationName", "extensions"})

Admission = Callable[[Request], Awaitable[Response | None]]


def error_body(message: str, code: str) -> dict[str, Any]:
    """An HTTP error's body in GraphQL's shape, so clients read every refusal the same way."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def graphql_error(status: int, message: str, code: str) -> JSONResponse:
    """An HTTP error in GraphQL's shape."""
    return JSONResponse(error_body(message, code), status_code=status)


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _bad(message: str) -> _Refused:
    return _Refused(graphql_error(400, message, "BAD_REQUEST"))


def _nesting(value: object) -> int:
    """How deeply containers nest in a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


# The body the guard read and parsed for the request running in this context, so the
# endpoint does not parse it again (GraphQLEndpoint.parse_json).
PARSED_BODY: ContextVar[tuple[bytes, dict[str, Any]] | None] = ContextVar(
    "ordergate_parsed_body", default=None
)


def _check_json_body(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
        body = json.loads(text)
    except UnicodeDecodeError:
        raise _bad("The request body is not valid UTF-8.") from None
    except (ValueError, RecursionError):
        raise _bad("The request body is not valid JSON.") from None
    if isinstance(body, list):
        raise _bad("Batched requests are not supported; send one operation per request.")
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    if _nesting(body) > MAX_JSON_NESTING:
        raise _bad("The request body is nested too deeply.")
    unknown = sorted(set(body) - _BODY_KEYS)
    if unknown:
        raise _bad(f"Unknown request field: {unknown[0][:40]!r}.")
    if not isinstance(body.get("query"), str):
        raise _bad("The request must carry a GraphQL document in `query`.")
    if not isinstance(body.get("operationName"), str | None):
        raise _bad("`operationName` must be a string.")
    for key in ("variables", "extensions"):
        if not isinstance(body.get(key), dict | None):
            raise _bad(f"`{key}` must be an object.")
    return body


def _check_head(scope: Scope, *, max_headers: int) -> None:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    if len(headers) > max_headers:
        message = f"A request may carry at most {max_headers} headers."
        raise _Refused(graphql_error(431, message, "HEADERS_TOO_LARGE"))
    size = len(scope.get("raw_path") or b"") + len(scope["query_string"])
    size += sum(len(name) + len(value) for name, value in headers)
    if size > MAX_HEAD_BYTES:
        message = f"The request target and headers exceed {MAX_HEAD_BYTES} bytes."
        raise _Refused(graphql_error(431, message, "HEADERS_TOO_LARGE"))


def _check_accept(request: Request) -> None:
    """A GraphQL request whose `Accept` admits neither response type is 406 (GraphQL over
    HTTP, "Accept"). A GET without `query` is the IDE's page, not a GraphQL request.
    The type chosen is kept in the request's state for the endpoint to answer in."""
    if request.method == "GET" and "query" not in request.query_params:
        return
    media_type = response_media_type_for(request.headers.getlist("accept"))
    if media_type is None:
        message = f"Accept {GRAPHQL_RESPONSE_JSON} or {JSON}."
        raise _Refused(graphql_error(406, message, "NOT_ACCEPTABLE"))
    request.state.response_media_type = media_type


def _has_mutation(query: str) -> bool:
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return False  # Strawberry reports the syntax error itself
    return any(
        isinstance(definition, OperationDefinitionNode)
        and definition.operation is OperationType.MUTATION
        for definition in document.definitions
    )


class RequestGuard:
    """ASGI wrapper for the GraphQL endpoint: refuses bad HTTP before Strawberry sees it.

    `admit`, when given, runs first on every request (the per-client limit) and may answer
    in the request's place; `settle` takes what `admit` left pending (service/api/
    rate_limited.py).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        admit: Admission | None = None,
        settle: Admission | None = None,
        max_body: int = MAX_BODY_BYTES,
        max_headers: int = MAX_HEADERS,
        body_deadline: float = BODY_DEADLINE_SECONDS,
    ) -> None:
        self._app = app
        self._admit = admit
        self._settle = settle
        self._max_body = max_body
        self._max_headers = max_headers
        self._body_deadline = body_deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request = Request(scope)
        try:
            receive = await self._check(request, receive)
        except _Refused as refused:
            # Refused here, the request still counts toward its client's limit, and past
            # the limit the 429 answers, as it would have at the door.
            settled = await self._settle(request) if self._settle is not None else None
            await (settled or refused.response)(scope, receive, send)
            return
        except Exception:
            # A check that failed unexpectedly (a broken receive channel) still counts the
            # request; the error goes on to the server's handler.
            if self._settle is not None:
                await self._settle(request)
            raise
        try:
            await self._app(scope, receive, send)
        finally:
            if self._settle is not None:
                # A request that ended without taking its count (its answer is sent: this
                # only counts it).
                await self._settle(request)

    async def _check(self, request: Request, receive: Receive) -> Receive:
        scope = request.scope
        if self._admit is not None:
            answer = await self._admit(request)
            if answer is not None:
                raise _Refused(answer)
        _check_head(scope, max_headers=self._max_headers)
        if request.method == "GET":
            if _has_mutation(request.query_params.get("query", "")):
                refusal = graphql_error(405, "Mutations must be sent with POST.", "BAD_REQUEST")
                refusal.headers["Allow"] = "POST"
                raise _Refused(refusal)
            _check_accept(request)
            return receive
        if request.method != "POST":
            return receive
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            message = "POST requests must have Content-Type: application/json."
            raise _Refused(graphql_error(415, message, "UNSUPPORTED_MEDIA_TYPE"))
        _check_accept(request)
        raw = await self._read_body(request, receive)
        PARSED_BODY.set((raw, _check_json_body(raw)))
        # Media types are case-insensitive, Strawberry's check is not: pass it the plain form.
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
        scope["headers"] = [*headers, (b"content-type", b"application/json")]
        return _replay(raw, then=receive)

    async def _read_body(self, request: Request, receive: Receive) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body:
            raise self._too_large()
        try:
            async with asyncio.timeout(self._body_deadline):
                return await self._receive_body(receive)
        except TimeoutError:
            text = f"The request body did not arrive within {self._body_deadline:g} s."
            refusal = graphql_error(408, text, "REQUEST_TIMEOUT")
            refusal.headers["Connection"] = "close"  # the rest of the body is not worth reading
            raise _Refused(refusal) from None

    async def _receive_body(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _bad("The client went away.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                raise self._too_large()  # stop reading: a chunked body may say nothing of its size
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> _Refused:
        text = f"The request body exceeds {self._max_body} bytes."
        return _Refused(graphql_error(413, text, "TOO_LARGE"))


def _replay(raw: bytes, *, then: Receive) -> Receive:
    """The body already read, once; afterwards the real channel, which reports a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await then()

    return receive
