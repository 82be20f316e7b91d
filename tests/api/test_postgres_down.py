"""Postgres down: mutations answer UPSTREAM_UNAVAILABLE and Shopify hears nothing."""

from __future__ import annotations

import asyncio

import aiohttp

from service.app import create_app
from service.sandbox.server import SandboxShop, start_sandbox
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


async def test_postgres_lost_after_shopify_cancelled_answers_the_request_processing(
    make_database: DatabaseFactory,
) -> None:
    # The intent is written, orderCancel is under way (slow), then Postgres goes: the answer
    # is the request as it stands, never a masked error; the reconciler finishes it later.
    shop = await start_sandbox(mutation_latency_seconds=1.0)
    proxy = TcpProxy(await make_database())
    await proxy.start()
    try:
        app = create_app(sandbox_settings(proxy.dsn, shop))
        async with serving(app) as url, aiohttp.ClientSession() as http:
            pending = asyncio.create_task(
                post_graphql(
                    http, url, MUTATIONS["requestCancellation"].replace("{ id }", "{ id status }")
                )
            )
            for _ in range(250):  # until orderCancel reached the shop (it answers in 1 s)
                if shop.mutations("OrderCancel"):
                    break
                await asyncio.sleep(0.02)
            await proxy.cut()
            answer = await pending
            await proxy.start()  # let the writers flush what they hold before shutdown
    finally:
        await proxy.cut()
        await shop.close()
    payload = answer.body["data"]["requestCancellation"]
    assert payload["userErrors"] == []
    assert payload["request"]["status"] == "PROCESSING"
    assert len(shop.mutations("OrderCancel")) == 1
