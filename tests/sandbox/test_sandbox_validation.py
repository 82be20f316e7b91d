"""Documents the slice does not allow are refused like Shopify refuses them, before running."""

from __future__ import annotations

import aiohttp

from service.sandbox.server import SandboxShop
from tests.sandbox.admin_http import post_graphql, run


async def test_unknown_field_is_a_validation_error(sandbox: SandboxShop) -> None:
    status, body = await post_graphql(sandbox, query="query Shop { shop { name } }")

    (error,) = body["errors"]
    assert status == 200
    assert error["extensions"]["code"] == "undefinedField"
    assert error["locations"] == [{"line": 1, "column": 14}]
    assert "data" not in body


async def test_missing_required_argument_is_a_validation_error(sandbox: SandboxShop) -> None:
    _status, body = await post_graphql(sandbox, query="query { job { id } }")

    assert body["errors"][0]["extensions"]["code"] == "missingRequiredArguments"


async def test_syntax_error_is_reported_with_its_location(sandbox: SandboxShop) -> None:
    status, body = await post_graphql(sandbox, query="query {")

    assert status == 200
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 8}]


async def test_missing_variable_is_refused(sandbox: SandboxShop) -> None:
    _status, body = await run(sandbox, "OrderLookup", {})

    assert body["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"


async def test_invalid_document_is_recorded_as_no_call(sandbox: SandboxShop) -> None:
    await post_graphql(sandbox, query="mutation { shopUpdate { id } }")

    assert sandbox.mutations() == []


async def test_request_without_query_is_a_bad_request(sandbox: SandboxShop) -> None:
    headers = {"X-Shopify-Access-Token": sandbox.admin_token}
    async with (
        aiohttp.ClientSession() as session,
        session.post(sandbox.endpoint, json={"variables": {}}, headers=headers) as response,
    ):
        body = await response.json()

    assert response.status == 400
    assert body == {"errors": {"query": "Required parameter missing or invalid"}}
