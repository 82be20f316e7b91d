"""Postgres down: mutations answer UPSTREAM_UNAVAILABLE and Shopify hears nothing."""

from __future__ import annotations

import aiohttp

from service.app import create_app
from service.sandbox.server import SandboxShop
from tests.api.conftest import post_graphql, sandbox_settings, serving
from tests.conftest import DatabaseFactory
from tests.tcp_proxy import TcpProxy

MUTATIONS = {
    "requestCancellation": """
      mutation { requestCancellation(input: {orderNumber: "#1001",
        contact: "ada.lovelace@example.com", reason: CHANGED_MIND}) {
        request { id } userErrors { code } } }""",
    "reportNotReceived": """
      mutation { reportNotReceived(input: {orderNumber: "#1009",
        contact: "ingrid.svensson@example.com"}) { request { id } userErrors { code } } }""",
}


async def test_mutations_fail_without_postgres_and_send_nothing(
    make_database: DatabaseFactory, sandbox: SandboxShop
) -> None:
    proxy = TcpProxy(await make_database())
    await proxy.start()
    app = create_app(sandbox_settings(proxy.dsn, sandbox))
    async with serving(app) as url, aiohttp.ClientSession() as http:
        await proxy.cut()
        for name, document in MUTATIONS.items():
            answer = await post_graphql(http, url, document)
            payload = answer.body["data"][name]
            assert payload["request"] is None
            assert [error["code"] for error in payload["userErrors"]] == ["UPSTREAM_UNAVAILABLE"]
        await proxy.start()  # let the audit writer flush what it holds before shutdown
    await proxy.cut()
    assert sandbox.mutations() == []
