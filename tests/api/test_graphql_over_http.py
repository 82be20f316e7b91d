"""GraphQL over HTTP on the real app: Accept negotiation, the response's media type, and the
status of request errors under each (what graphql-http's server audit checks, and more)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from service.app import create_app
from service.sandbox.server import SandboxShop
from tests.api.conftest import sandbox_settings, serving

NEW = "application/graphql-response+json"
LEGACY = "application/json"
LOOKUP = '{ orderStatus(orderNumber: "#9999", contact: "x@example.com") { userErrors { code } } }'
COERCION = 'query Q($number: String!) { orderStatus(orderNumber: $number, contact: "x") { order { number } } }'  # noqa: E501
# One of each kind of request error: the document does not parse, does not validate, or its
# variables do not coerce.
REQUEST_ERRORS = [
    pytest.param({"query": "{"}, id="parse"),
    pytest.param({"query": "{ noSuchField }"}, id="validation"),
    pytest.param({"query": COERCION, "variables": {"number": None}}, id="coercion"),
]


async def post(
    http: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    accept: str | None,
    content_type: str = LEGACY,
) -> tuple[int, str, dict[str, Any], dict[str, str]]:
    """POST a GraphQL request with exactly this Accept (None: no Accept header at all)."""
    headers = {"Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    async with http.post(
        f"{url}/graphql", json=body, headers=headers, skip_auto_headers=["Accept"]
    ) as response:
        payload = await response.json(content_type=None)
        return response.status, response.headers["Content-Type"], payload, dict(response.headers)


async def test_the_new_media_type_is_answered_in_kind(
    http: aiohttp.ClientSession, app_url: str
) -> None:
    status, content_type, body, _ = await post(http, app_url, {"query": LOOKUP}, accept=NEW)
    assert (status, content_type) == (200, f"{NEW}; charset=utf-8")
    assert body["data"]["orderStatus"]["userErrors"][0]["code"] == "ORDER_NOT_FOUND"


@pytest.mark.parametrize("accept", [LEGACY, "*/*", None, f"{NEW};q=0.5, {LEGACY}"])
async def test_legacy_clients_get_application_json_as_before(
    http: aiohttp.ClientSession, app_url: str, accept: str | None
) -> None:
    status, content_type, body, _ = await post(http, app_url, {"query": LOOKUP}, accept=accept)
    assert (status, content_type) == (200, LEGACY)
    assert body["data"]["orderStatus"]["userErrors"][0]["code"] == "ORDER_NOT_FOUND"


@pytest.mark.parametrize("body", REQUEST_ERRORS)
async def test_a_request_error_is_400_without_data_under_the_new_type(
    http: aiohttp.ClientSession, app_url: str, body: dict[str, Any]
) -> None:
    status, content_type, answer, _ = await post(http, app_url, body, accept=NEW)
    assert (status, content_type) == (400, f"{NEW}; charset=utf-8")
    assert "data" not in answer
    assert answer["errors"]


@pytest.mark.parametrize("body", REQUEST_ERRORS)
async def test_a_request_error_stays_200_with_null_data_under_application_json(
    http: aiohttp.ClientSession, app_url: str, body: dict[str, Any]
) -> None:
    status, content_type, answer, _ = await post(http, app_url, body, accept=LEGACY)
    assert (status, content_type) == (200, LEGACY)
    assert answer["data"] is None
    assert answer["errors"]


async def test_an_accept_header_naming_neither_type_is_406(
    http: aiohttp.ClientSession, app_url: str
) -> None:
    status, content_type, body, _ = await post(http, app_url, {"query": LOOKUP}, accept="text/html")
    assert (status, content_type) == (406, LEGACY)
    assert body["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_a_get_query_is_negotiated_but_the_ide_page_is_not(
    http: aiohttp.ClientSession, app_url: str
) -> None:
    query = {"query": "{ __typename }"}
    async with http.get(f"{app_url}/graphql", params=query, headers={"Accept": NEW}) as answer:
        assert (answer.status, answer.headers["Content-Type"]) == (200, f"{NEW}; charset=utf-8")
    async with http.get(f"{app_url}/graphql", params=query, headers={"Accept": "text/csv"}) as ans:
        assert ans.status == 406
    async with http.get(f"{app_url}/graphql", headers={"Accept": "text/html"}) as page:
        assert page.status == 200
        assert page.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_that_is_not_json_is_415(
    http: aiohttp.ClientSession, app_url: str, content_type: str
) -> None:
    status, _, body, _ = await post(
        http, app_url, {"query": LOOKUP}, accept=NEW, content_type=content_type
    )
    assert status == 415
    assert body["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_the_429_keeps_its_contract_shape_under_the_new_type(
    http: aiohttp.ClientSession, fresh_database_url: str, sandbox: SandboxShop
) -> None:
    settings = sandbox_settings(fresh_database_url, sandbox, ORDERGATE_LIMIT_PER_CLIENT="1/minute")
    async with serving(create_app(settings)) as url:
        await post(http, url, {"query": LOOKUP}, accept=NEW)
        status, content_type, body, headers = await post(http, url, {"query": LOOKUP}, accept=NEW)
    assert (status, content_type) == (429, LEGACY)
    retry_after = int(headers["Retry-After"])
    error = body["errors"][0]
    assert body == {"errors": [error]}
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry_after}
    assert isinstance(error["message"], str)
