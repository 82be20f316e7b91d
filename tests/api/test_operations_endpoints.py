"""Health, readiness and metrics endpoints, and the secrets that never leave the process."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from service.app import create_app
from service.logs import JsonFormatter
from service.metrics import CONTENT_TYPE, Metrics
from service.metrics_server import serving_metrics
from service.sandbox.server import SandboxShop
from tests.admin.scripted_server import (
    GRAPHQL_PATH,
    Reply,
    ScriptedServer,
    running_scripted_server,
)
from tests.api.conftest import free_port, post_graphql, sandbox_settings, serving
from tests.conftest import DatabaseFactory

LOOKUP = """query { orderStatus(orderNumber: "#1001", contact: "ada.lovelace@example.com") {
  order { number } userErrors { code message } } }"""
TOKEN = "shpat_THIS_TOKEN_MUST_NEVER_LEAK_0123456789"
SHOPIFY_TEXT = "Internal error: stack trace mentions shop secrets"


async def test_healthz_answers_without_io(http: aiohttp.ClientSession, app_url: str) -> None:
    async with http.get(f"{app_url}/healthz") as response:
        assert response.status == 200
        assert await response.text() == "ok"


async def test_readyz_reports_a_migrated_database(
    http: aiohttp.ClientSession, app_url: str
) -> None:
    async with http.get(f"{app_url}/readyz") as response:
        assert response.status == 200
        assert await response.json() == {"ready": True}


async def test_public_port_does_not_serve_metrics(
    http: aiohttp.ClientSession, app_url: str
) -> None:
    await post_graphql(http, app_url, LOOKUP)
    async with http.get(f"{app_url}/metrics") as response:
        assert response.status == 404
        assert "ordergate_" not in await response.text()


@pytest.fixture
async def metrics_urls(
    fresh_database_url: str, sandbox: SandboxShop
) -> AsyncIterator[tuple[str, str]]:
    """An app whose metrics listener has a free port of its own: its public and metrics URLs."""
    port = free_port()
    settings = sandbox_settings(fresh_database_url, sandbox, ORDERGATE_METRICS_PORT=port)
    app = create_app(settings)
    async with serving(app) as url:
        assert app.state.metrics_port == port
        yield url, f"http://127.0.0.1:{port}"


async def test_metrics_port_counts_operations_and_admin_cost(
    http: aiohttp.ClientSession, metrics_urls: tuple[str, str]
) -> None:
    app_url, metrics_url = metrics_urls
    await post_graphql(http, app_url, LOOKUP)
    async with http.get(f"{metrics_url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == CONTENT_TYPE
        text = await response.text()
    assert 'ordergate_requests_total{operation="orderStatus",outcome="ok"} 1.0' in text
    assert 'ordergate_admin_calls_total{operation="OrderLookup",outcome="ok"} 1.0' in text
    assert "ordergate_admin_cost_points_total" in text
    assert "process_cpu_seconds_total" in text
    # Every background worker reports its liveness and lag (README, Guarantees: Workers).
    for worker in ("audit_writer", "reconciler", "webhooks", "outbox", "retention"):
        assert f'ordergate_worker_last_progress_timestamp_seconds{{worker="{worker}"}}' in text
        assert f'ordergate_worker_lag_seconds{{worker="{worker}"}}' in text


async def test_metrics_port_serves_nothing_but_metrics(
    http: aiohttp.ClientSession, metrics_urls: tuple[str, str]
) -> None:
    _, metrics_url = metrics_urls
    for path in ("/graphql", "/healthz", "/"):
        async with http.get(f"{metrics_url}{path}") as response:
            assert response.status == 404


async def test_metrics_port_zero_opens_no_listener(
    fresh_database_url: str, sandbox: SandboxShop
) -> None:
    app = create_app(sandbox_settings(fresh_database_url, sandbox, ORDERGATE_METRICS_PORT=0))
    async with serving(app):
        assert app.state.metrics_port is None


async def test_taken_metrics_port_fails_naming_the_setting() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"ORDERGATE_METRICS_PORT: cannot listen on .*:{port}"):
            async with serving_metrics(Metrics(), host="127.0.0.1", port=port):
                pass


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with running_scripted_server() as scripted:
        yield scripted


@pytest.fixture
async def leaky_upstream_url(
    make_database: DatabaseFactory, server: ScriptedServer, sandbox: SandboxShop
) -> AsyncIterator[str]:
    settings = sandbox_settings(
        await make_database(),
        sandbox,
        SHOPIFY_ADMIN_ENDPOINT=server.endpoint,
        SHOPIFY_ADMIN_TOKEN=TOKEN,
    )
    async with serving(create_app(settings)) as url:
        yield url


@pytest.mark.parametrize("status", [401, 500, 502])
async def test_upstream_failure_leaks_neither_token_nor_shopifys_text(
    leaky_upstream_url: str,
    server: ScriptedServer,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    body = {"errors": f"{SHOPIFY_TEXT}; token {TOKEN}"}
    server.script(GRAPHQL_PATH, *[Reply(status=status, body=body)] * 3)
    caplog.set_level(logging.DEBUG)
    answer = await post_graphql(http, leaky_upstream_url, LOOKUP)
    codes = [error["code"] for error in answer.body["data"]["orderStatus"]["userErrors"]]
    assert codes == ["UPSTREAM_UNAVAILABLE"]
    assert server.requests_to(GRAPHQL_PATH)[0].headers["X-Shopify-Access-Token"] == TOKEN
    exposed = answer.text + str(answer.headers)
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    for text in (exposed, logged):
        assert TOKEN not in text
        assert SHOPIFY_TEXT not in text
