"""Whatever a client sends, ordergate answers 4xx or a GraphQL error: never a 500, never a write."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.app import create_app
from service.sandbox.server import SandboxShop, start_sandbox
from tests.api.conftest import sandbox_settings, serving
from tests.conftest import DatabaseFactory

DOCUMENTS = [
    "query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c)"
    " { order { number } userErrors { code } } }",
    "mutation ($n: String!, $c: String!, $m: String) { requestCancellation(input:"
    " {orderNumber: $n, contact: $c, reason: OTHER, comment: $m, idempotencyKey: $m})"
    " { request { id } userErrors { code } } }",
    "mutation ($n: String!, $c: String!, $m: String) { reportNotReceived(input:"
    " {orderNumber: $n, contact: $c, comment: $m}) { request { id } userErrors { code } } }",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
variables = st.fixed_dictionaries(
    {}, optional={"n": json_values | st.text(), "c": json_values | st.text(), "m": json_values}
)


@pytest.fixture(scope="module")
async def shop() -> AsyncIterator[SandboxShop]:
    sandbox = await start_sandbox()
    yield sandbox
    await sandbox.close()


@pytest.fixture(scope="module")
async def url(make_database: DatabaseFactory, shop: SandboxShop) -> AsyncIterator[str]:
    settings_ = sandbox_settings(
        await make_database(), shop, ORDERGATE_LIMIT_PER_CLIENT="1000000/minute"
    )
    async with serving(create_app(settings_)) as base:
        yield f"{base}/graphql"


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # A fresh connection per request: what is tested is the answer to each request, not a
    # pooled keep-alive connection that uvicorn may close between two examples.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        yield session


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=st.sampled_from(DOCUMENTS), values=variables)
async def test_garbage_variables_never_get_a_server_error(
    http: aiohttp.ClientSession,
    url: str,
    shop: SandboxShop,
    document: str,
    values: dict[str, object],
) -> None:
    body = {"query": document, "variables": values}
    async with http.post(url, json=body) as response:
        text = await response.text()
        assert response.status < 500, text
    assert shop.mutations() == []


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
async def test_garbage_bodies_never_get_a_server_error(
    http: aiohttp.ClientSession, url: str, raw: bytes
) -> None:
    async with http.post(url, data=raw, headers={"Content-Type": "application/json"}) as response:
        await response.read()
        assert response.status < 500


async def test_deeply_nested_json_is_a_client_error(http: aiohttp.ClientSession, url: str) -> None:
    nested = "[" * 5000 + "]" * 5000
    raw = json.dumps({"query": "{ __typename }"})[:-1] + f', "variables": {{"x": {nested}}}}}'
    async with http.post(url, data=raw, headers={"Content-Type": "application/json"}) as response:
        assert 400 <= response.status < 500
