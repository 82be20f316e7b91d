"""The request guard and document limits, on a small GraphQL app under uvicorn on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import strawberry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from service.api import rate_limited
from service.api.guard import MAX_BODY_BYTES, MAX_HEAD_BYTES, MAX_HEADERS, RequestGuard
from service.api.schema import build_schema
from service.api.validation import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_TOKENS,
    DocumentRules,
    schema_extensions,
    validation_rules,
)
from tests.api.conftest import serving

CALLS: list[str] = []


@strawberry.type
class Node:
    """A type that nests as deep as a query asks."""

    @strawberry.field
    def child(self) -> Node:
        return Node()

    @strawberry.field
    def value(self) -> str:
        return "v"


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, text: str) -> str:
        CALLS.append("echo")
        return text

    @strawberry.field
    def node(self) -> Node:
        return Node()


@strawberry.type
class Mutation:
    @strawberry.mutation
    def first(self, text: str) -> str:
        CALLS.append("first")
        return text

    @strawberry.mutation
    def second(self, text: str) -> str:
        CALLS.append("second")
        return text


async def admit(request: Request) -> Response | None:
    if "x-test-limited" in request.headers:
        limited = rate_limited.body(retry_after=42, message="Too many attempts.")
        return JSONResponse(limited, status_code=429, headers={"Retry-After": "42"})
    return None


@pytest.fixture(scope="module")
async def url() -> AsyncIterator[str]:
    """A guarded GraphQL endpoint on loopback."""
    schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=schema_extensions())
    guarded = RequestGuard(GraphQL(schema, graphql_ide=None), admit=admit)
    app = Starlette(routes=[Route("/graphql", guarded, methods=["GET", "POST"])])
    async with serving(app) as base:
        yield f"{base}/graphql"


@pytest.fixture(scope="module")
async def impatient_url() -> AsyncIterator[str]:
    """The same endpoint, waiting at most half a second for a request body."""
    schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=schema_extensions())
    guarded = RequestGuard(GraphQL(schema, graphql_ide=None), body_deadline=0.5)
    app = Starlette(routes=[Route("/graphql", guarded, methods=["GET", "POST"])])
    async with serving(app) as base:
        yield f"{base}/graphql"


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """One HTTP client for the module."""
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession,
    url: str,
    data: bytes | Any,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    all_headers = {"Content-Type": content_type, **(headers or {})}
    async with http.post(url, data=data, headers=all_headers) as response:
        text = await response.text()
        return response.status, dict(response.headers), json.loads(text) if text else {}


def body(query: str, **extra: Any) -> bytes:
    return json.dumps({"query": query, **extra}).encode()


def first_message(answer: dict[str, Any]) -> str:
    message: str = answer["errors"][0]["message"]
    return message


async def test_a_plain_query_is_answered(http: aiohttp.ClientSession, url: str) -> None:
    status, _, answer = await post(http, url, body('{ echo(text: "hi") }'))
    assert status == 200
    assert answer == {"data": {"echo": "hi"}}


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", ""],
)
async def test_post_without_json_content_type_is_refused(
    http: aiohttp.ClientSession, url: str, content_type: str
) -> None:
    CALLS.clear()
    status, _, answer = await post(http, url, body('{ echo(text: "hi") }'), content_type)
    assert status == 415
    assert answer["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert CALLS == []


async def test_json_content_type_with_charset_is_accepted(
    http: aiohttp.ClientSession, url: str
) -> None:
    status, _, answer = await post(
        http, url, body('{ echo(text: "hi") }'), "Application/JSON; charset=utf-8"
    )
    assert status == 200
    assert answer == {"data": {"echo": "hi"}}


async def test_body_over_32_kib_is_refused(http: aiohttp.ClientSession, url: str) -> None:
    padding = " " * MAX_BODY_BYTES
    status, _, answer = await post(http, url, body(padding + '{ echo(text: "hi") }'))
    assert status == 413
    assert answer["errors"][0]["extensions"]["code"] == "TOO_LARGE"


async def test_chunked_body_over_32_kib_is_refused(http: aiohttp.ClientSession, url: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 1024

    status, _, _ = await post(http, url, chunks())
    assert status == 413


async def test_body_just_under_the_limit_is_read(http: aiohttp.ClientSession, url: str) -> None:
    query = '{ echo(text: "hi") }'
    padding = " " * (MAX_BODY_BYTES - len(body(query)))
    status, _, _ = await post(http, url, body(padding + query))
    assert status == 200


async def test_batched_request_is_refused(http: aiohttp.ClientSession, url: str) -> None:
    batch = json.dumps([{"query": '{ echo(text: "a") }'}, {"query": '{ echo(text: "b") }'}])
    status, _, answer = await post(http, url, batch.encode())
    assert status == 400
    assert "Batched" in first_message(answer)


async def test_invalid_utf8_is_refused(http: aiohttp.ClientSession, url: str) -> None:
    status, _, answer = await post(http, url, b'{"query": "{ echo(text: \\"\xff\xfe\\") }"}')
    assert status == 400
    assert "UTF-8" in first_message(answer)


async def test_invalid_json_is_refused(http: aiohttp.ClientSession, url: str) -> None:
    status, _, answer = await post(http, url, b'{"query": ')
    assert status == 400
    assert "JSON" in first_message(answer)


@pytest.mark.parametrize("depth", [40, 10_000])
async def test_deeply_nested_json_is_refused(
    http: aiohttp.ClientSession, url: str, depth: int
) -> None:
    variables = "[" * depth + "]" * depth
    raw = f'{{"query": "{{ echo(text: \\"x\\") }}", "variables": {{"a": {variables}}}}}'
    status, _, _ = await post(http, url, raw.encode())
    assert status == 400


@pytest.mark.parametrize(
    "payload",
    [
        {"query": "{ node { value } }", "id": "persisted"},
        {"query": 5},
        {"variables": {}},
        {"query": "{ node { value } }", "operationName": ["x"]},
        {"query": "{ node { value } }", "variables": ["x"]},
        {"query": "{ node { value } }", "extensions": "x"},
        "just a string",
        None,
    ],
)
async def test_malformed_request_fields_are_refused(
    http: aiohttp.ClientSession, url: str, payload: object
) -> None:
    status, _, answer = await post(http, url, json.dumps(payload).encode())
    assert status == 400
    assert answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_mutation_over_get_is_refused(http: aiohttp.ClientSession, url: str) -> None:
    CALLS.clear()
    params = {"query": 'mutation { first(text: "x") }'}
    async with http.get(url, params=params) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"
    assert CALLS == []


async def test_query_over_get_still_works(http: aiohttp.ClientSession, url: str) -> None:
    async with http.get(url, params={"query": '{ echo(text: "hi") }'}) as response:
        assert response.status == 200


async def test_one_mutation_field_is_run(http: aiohttp.ClientSession, url: str) -> None:
    status, _, answer = await post(http, url, body('mutation { first(text: "x") }'))
    assert status == 200
    assert answer == {"data": {"first": "x"}}


@pytest.mark.parametrize(
    "document",
    [
        'mutation { first(text: "a") second(text: "b") }',
        'mutation { a: first(text: "a") b: first(text: "b") }',
        'mutation { first(text: "a") ...More } fragment More on Mutation { second(text: "b") }',
        'mutation { first(text: "a") ... on Mutation { second(text: "b") } }',
    ],
)
async def test_more_than_one_mutation_field_is_refused(
    http: aiohttp.ClientSession, url: str, document: str
) -> None:
    CALLS.clear()
    _, _, answer = await post(http, url, body(document))
    assert first_message(answer) == "A request may run at most one mutation."
    assert CALLS == []


def nested(depth: int) -> str:
    return "{ node " + "{ child " * (depth - 2) + "{ value }" + " }" * (depth - 2) + " }"


async def test_query_at_the_depth_limit_is_answered(http: aiohttp.ClientSession, url: str) -> None:
    # Depth counts from 0 at the root fields, so MAX_DEPTH + 1 levels of fields pass.
    _, _, answer = await post(http, url, body(nested(MAX_DEPTH + 1)))
    assert "errors" not in answer


async def test_query_past_the_depth_limit_is_refused(http: aiohttp.ClientSession, url: str) -> None:
    _, _, answer = await post(http, url, body(nested(MAX_DEPTH + 2)))
    assert "exceeds maximum operation depth" in first_message(answer)


async def test_too_many_aliases_are_refused(http: aiohttp.ClientSession, url: str) -> None:
    CALLS.clear()
    aliases = " ".join(f'a{n}: echo(text: "x")' for n in range(MAX_ALIASES + 1))
    _, _, answer = await post(http, url, body("{ " + aliases + " }"))
    assert "aliases found" in first_message(answer)
    assert CALLS == []


async def test_too_many_tokens_are_refused(http: aiohttp.ClientSession, url: str) -> None:
    fields = " ".join("__typename" for _ in range(MAX_TOKENS))
    _, _, answer = await post(http, url, body("{ " + fields + " }"))
    assert f"more than {MAX_TOKENS} tokens" in first_message(answer)


async def test_admission_hook_answers_429_before_anything_else(
    http: aiohttp.ClientSession, url: str
) -> None:
    CALLS.clear()
    status, headers, answer = await post(
        http, url, b"not even json", "text/plain", headers={"X-Test-Limited": "1"}
    )
    assert status == 429
    assert headers["Retry-After"] == "42"
    assert answer == {
        "errors": [
            {
                "message": "Too many attempts.",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": 42},
            }
        ]
    }
    assert CALLS == []


async def exchange(url: str, request: bytes, *, until_closed: bool = False) -> bytes:
    """Send raw bytes; the answer's status line, or all of it up to the server closing."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request)
        async with asyncio.timeout(30):
            return await (reader.read() if until_closed else reader.readline())
    finally:
        writer.close()
        await writer.wait_closed()


def raw_post(payload: bytes, *, headers: int = 4, padding: int = 0) -> bytes:
    """A POST of `payload` with exactly `headers` (at least 4) header lines, the last one
    longer by `padding` bytes."""
    lines = [b"Host: o", b"Content-Type: application/json", b"Content-Length: %d" % len(payload)]
    lines += [b"X-Filler-%d: 1" % n for n in range(headers - len(lines))]
    lines[-1] += b"x" * padding
    head = b"POST /graphql HTTP/1.1\r\n" + b"".join(line + b"\r\n" for line in lines)
    return head + b"\r\n" + payload


ECHO = body('{ echo(text: "hi") }')


async def test_a_request_with_100_headers_is_answered(url: str) -> None:
    assert (await exchange(url, raw_post(ECHO, headers=MAX_HEADERS))).startswith(b"HTTP/1.1 200 ")


async def test_a_request_with_101_headers_is_refused(url: str) -> None:
    CALLS.clear()
    answer = await exchange(url, raw_post(ECHO, headers=MAX_HEADERS + 1))
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert CALLS == []


async def test_headers_just_under_the_size_limit_are_answered(url: str) -> None:
    padding = MAX_HEAD_BYTES - len(raw_post(ECHO)) + len(ECHO)
    assert (await exchange(url, raw_post(ECHO, padding=padding))).startswith(b"HTTP/1.1 200 ")


async def test_headers_over_the_size_limit_are_refused(url: str) -> None:
    # Arriving in one read, the head passes the server's own limit whole: the guard refuses it.
    CALLS.clear()
    answer = await exchange(url, raw_post(ECHO, padding=MAX_HEAD_BYTES))
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert CALLS == []


async def test_a_head_over_the_size_limit_arriving_in_pieces_is_refused(url: str) -> None:
    CALLS.clear()
    # Stop just past the limit: writing on after the server's answer would reset the connection.
    request = raw_post(ECHO, padding=2 * MAX_HEAD_BYTES)[: MAX_HEAD_BYTES + 1024]
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        for start in range(0, len(request), 1024):
            writer.write(request[start : start + 1024])
            await writer.drain()
            await asyncio.sleep(0.005)  # let the server read each piece on its own
        async with asyncio.timeout(30):
            answer = await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 400 "), (
        answer
    )  # the server stops buffering at MAX_HEAD_BYTES
    assert CALLS == []


async def test_a_body_that_does_not_arrive_in_time_is_refused_with_408(impatient_url: str) -> None:
    CALLS.clear()
    payload = body('mutation { first(text: "x") }')
    request = raw_post(payload + b" " * 100)[: -100 - len(payload) // 2]  # half the body, no more
    answer = await exchange(impatient_url, request, until_closed=True)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"REQUEST_TIMEOUT" in answer
    assert CALLS == []


async def test_a_request_whose_checks_fail_unexpectedly_is_still_counted() -> None:
    settled: list[str] = []

    async def settle(request: Request) -> Response | None:
        settled.append(request.method)
        return None

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the guard never lets this request through")

    async def broken_channel() -> Message:
        raise RuntimeError("the server's receive channel broke")

    guard = RequestGuard(endpoint, settle=settle)
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"accept", b"application/json")],
    }

    async def send(message: Message) -> None:
        raise AssertionError("nothing is answered for a broken channel")

    with pytest.raises(RuntimeError, match="receive channel broke"):
        await guard(scope, broken_channel, send)
    assert settled == ["POST"]


def test_validation_rules_are_built_once() -> None:
    assert validation_rules() is validation_rules()


def test_extension_factories_reuse_the_same_rule_classes() -> None:
    factories = schema_extensions()
    made = [factory() for factory in factories for _ in range(2)]
    rule_lists = [ext.validation_rules for ext in made if isinstance(ext, DocumentRules)]
    assert len(rule_lists) == 2
    assert rule_lists[0] is rule_lists[1] is validation_rules()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
request_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries(
        {"query": st.text(max_size=200)},
        optional={"variables": json_values, "operationName": json_values},
    ).map(lambda value: json.dumps(value).encode()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=request_bodies,
    content_type=st.sampled_from(["application/json", "text/plain", "application/json; x=1"]),
)
async def test_garbage_requests_never_get_a_server_error(
    http: aiohttp.ClientSession, url: str, raw: bytes, content_type: str
) -> None:
    async with http.post(url, data=raw, headers={"Content-Type": content_type}) as response:
        await response.read()
        assert response.status < 500


@pytest.mark.parametrize("production", [True, False])
async def test_introspection_is_refused_in_production_only_every_time(production: bool) -> None:
    schema = build_schema(production=production)
    # Twice: the second answer comes through the parse and validation caches.
    results = [await schema.execute("{ __schema { queryType { name } } }") for _ in range(2)]
    for result in results:
        if production:
            assert result.data is None
            assert result.errors
            assert "introspection" in result.errors[0].message
        else:
            assert result.errors is None
            assert result.data == {"__schema": {"queryType": {"name": "Query"}}}


async def test_the_guard_hands_the_endpoint_the_media_type_it_chose_from_accept() -> None:
    chosen: list[object] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        chosen.append(Request(scope).state.response_media_type)
        await Response(status_code=204)(scope, receive, send)

    guard = RequestGuard(endpoint)
    accept = b"application/json;q=0.5, application/graphql-response+json"
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"query=%7B__typename%7D",
        "headers": [(b"accept", accept)],
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    await guard(scope, receive, send)
    assert chosen == ["application/graphql-response+json"]
