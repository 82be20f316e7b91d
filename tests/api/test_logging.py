"""What the logs say of storefront requests: one line each, and nothing a customer typed."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from service.api.access_log import new_request_id
from service.app import create_app
from service.sandbox.server import SandboxShop
from tests.api.conftest import post_graphql, sandbox_settings, serving
from tests.conftest import DatabaseFactory
from tests.log_capture import LineCapture, personal_data_in

LOOKUP = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { number } userErrors { code } } }"""
CANCEL = """mutation { requestCancellation(input: {orderNumber: "#1002",
  contact: "bjorn.hansen@example.com", reason: OTHER, comment: "Nothing came, STAFF NOTE"})
  { request { status } userErrors { code } } }"""


@asynccontextmanager
async def app(
    make_database: DatabaseFactory, sandbox: SandboxShop, **settings: Any
) -> AsyncIterator[str]:
    async with serving(
        create_app(sandbox_settings(await make_database(), sandbox, **settings))
    ) as url:
        yield url


def access_lines(lines: list[str]) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in lines]
    return [record for record in records if record["logger"] == "ordergate.access"]


async def test_one_line_per_request_and_no_contact_or_comment(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    every_log_line: LineCapture,
) -> None:
    start = len(every_log_line.lines)
    async with app(make_database, sandbox) as url:
        await post_graphql(http, url, LOOKUP, {"n": "#1001", "c": "ada.lovelace@example.com"})
        await post_graphql(http, url, CANCEL)
    lines = every_log_line.lines[start:]
    assert personal_data_in(lines) == []
    requests = access_lines(lines)
    assert [(r["operation"], r["outcome"], r["status"]) for r in requests] == [
        ("orderStatus", "ok", 200),
        ("requestCancellation", "NOT_ELIGIBLE", 200),
    ]
    assert all(len(r["request_id"]) == 32 for r in requests)


async def test_a_bad_document_is_an_info_line_without_its_text(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    every_log_line: LineCapture,
) -> None:
    start = len(every_log_line.lines)
    document = '{ orderStatus(orderNumber: "1001", contact: "ada.lovelace@example.com") { nope } }'
    async with app(make_database, sandbox) as url:
        answer = await post_graphql(http, url, document)
    assert "errors" in answer.body
    lines = every_log_line.lines[start:]
    records = [json.loads(line) for line in lines]
    ours = [r for r in records if r["logger"].startswith(("ordergate", "strawberry"))]
    assert [(r["logger"], r["level"], r["outcome"]) for r in ours] == [
        ("ordergate.access", "info", "INVALID_DOCUMENT")
    ]
    assert not [line for line in lines if "nope" in line]
    assert personal_data_in(lines) == []


async def test_a_rate_limited_request_is_logged(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    every_log_line: LineCapture,
) -> None:
    start = len(every_log_line.lines)
    async with app(make_database, sandbox, ORDERGATE_LIMIT_PER_CLIENT="1/minute") as url:
        for _ in range(2):
            await post_graphql(http, url, LOOKUP, {"n": "#1001", "c": "x@example.org"})
    statuses = [r["status"] for r in access_lines(every_log_line.lines[start:])]
    assert statuses == [200, 429]


async def test_production_never_suggests_names(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    production = {
        "ORDERGATE_ENV": "production",
        "SHOPIFY_SHOP": "demo.myshopify.com",
        "ORDERGATE_SECRET_KEY": "k" * 32,
        "SMTP_URL": "smtp://127.0.0.1:9",  # nothing connects at start-up; no mail is sent here
    }
    documents = [
        '{ orderStatus(orderNumbr: "1", contact: "x") { order { number } } }',  # argument
        '{ orderStatus(orderNumber: "1", contact: "x") { order { numbr } } }',  # field
        "query ($i: RequestCancellationInpt!) { __typename }",  # type
        "mutation ($i: RequestCancellationInput!) { requestCancellation(input: $i) "
        "{ userErrors { code } } }",  # input field, in variables
    ]
    variables = {"i": {"orderNumber": "1", "contact": "x", "reason": "OTHER", "coment": "x"}}
    async with app(make_database, sandbox, **production) as url:
        answers = [await post_graphql(http, url, d, variables) for d in documents]
    messages = [error["message"] for a in answers for error in a.body["errors"]]
    assert len(messages) >= len(documents)
    assert not [message for message in messages if "Did you mean" in message]


async def test_development_keeps_suggestions_for_developers(
    make_database: DatabaseFactory, sandbox: SandboxShop, http: aiohttp.ClientSession
) -> None:
    async with app(make_database, sandbox) as url:
        answer = await post_graphql(
            http, url, '{ orderStatus(orderNumbr: "1", contact: "x") { order { number } } }'
        )
    assert "Did you mean" in answer.body["errors"][0]["message"]


def test_request_ids_are_random_version_4_uuids() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    for request_id in ids:
        parsed = uuid.UUID(hex=request_id)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert parsed.hex == request_id


async def test_a_client_address_is_logged_as_its_network_only(
    make_database: DatabaseFactory,
    sandbox: SandboxShop,
    http: aiohttp.ClientSession,
    every_log_line: LineCapture,
) -> None:
    start = len(every_log_line.lines)
    async with app(make_database, sandbox, ORDERGATE_TRUSTED_PROXIES="127.0.0.0/8") as url:
        for address in ("198.51.100.231", "2001:db8:aa:bb::7"):
            await post_graphql(
                http, url, LOOKUP, {"n": "#1001", "c": "x"}, {"X-Forwarded-For": address}
            )
    lines = every_log_line.lines[start:]
    assert personal_data_in(lines) == []
    assert [r["client_address"] for r in access_lines(lines)] == [
        "198.51.100.0/24",
        "2001:db8:aa::/48",
    ]
