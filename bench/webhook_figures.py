"""Shopify's webhooks, measured against the real app and the sandbox shop: how long from a
webhook to the status a storefront sees, and how many Admin calls a burst costs.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.webhook_figures
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time

import aiohttp

from bench.lookup_cost import fresh_database
from service.app import create_app
from service.orders.reconciler import Reconciler
from service.sandbox.generated import GENERATED_FIRST_NUMBER, generated_contact
from service.sandbox.server import SandboxShop, start_sandbox
from service.webhooks.signature import sign
from tests.api.conftest import post_graphql, sandbox_settings, serving

SECRET = "bench-webhook-secret"
WEBHOOKS = 200
BURST = 100
LOOKUP = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { cancelledAt } userErrors { code } } }"""


def generated(index: int) -> tuple[str, str]:
    """The index-th generated order that was just placed, and its contact."""
    number = GENERATED_FIRST_NUMBER + 5 * index
    return f"#{number}", generated_contact(number)


async def post_webhook(
    http: aiohttp.ClientSession, url: str, shop: SandboxShop, event: str, order_id: int
) -> None:
    body = json.dumps({"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}"})
    raw = body.encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/cancelled",
        "X-Shopify-Hmac-Sha256": sign(raw, SECRET),
        "X-Shopify-Shop-Domain": shop.shop_domain,
        "X-Shopify-Event-Id": event,
    }
    async with http.post(f"{url}/webhooks/shopify", data=raw, headers=headers) as answer:
        assert answer.status == 200, answer.status


async def main() -> None:
    server = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    shop = await start_sandbox(webhook_secret=SECRET, generated_orders=5 * WEBHOOKS)
    settings = sandbox_settings(
        await fresh_database(server),
        shop,
        SHOPIFY_SHOP=shop.shop_domain,
        SHOPIFY_WEBHOOK_SECRET=SECRET,
        ORDERGATE_LIMIT_PER_CLIENT="1000000/minute",
        ORDERGATE_ORDER_CACHE_SECONDS="300",  # only a webhook can refresh the snapshot in time
    )
    waits: list[float] = []
    async with serving(create_app(settings)) as url, aiohttp.ClientSession() as http:
        for index in range(WEBHOOKS):
            number, contact = generated(index)
            variables = {"n": number, "c": contact}
            await post_graphql(http, url, LOOKUP, variables)  # the snapshot is cached now
            shop.store.order_named(number).cancelled_at = shop.store.clock()  # staff cancel it
            order_id = shop.store.order_named(number).id
            started = time.perf_counter()
            await post_webhook(http, url, shop, f"latency-{index}", order_id)
            while True:
                answer = await post_graphql(http, url, LOOKUP, variables)
                if answer.body["data"]["orderStatus"]["order"]["cancelledAt"] is not None:
                    break
                await asyncio.sleep(0.01)
            waits.append((time.perf_counter() - started) * 1000)
        burst_order = shop.store.order_named(generated(0)[0]).id
        before = sum(call.operation_name == "OrderLookup" for call in shop.calls)
        connector = aiohttp.TCPConnector(limit=20)
        async with aiohttp.ClientSession(connector=connector) as burst:
            await asyncio.gather(
                *(post_webhook(burst, url, shop, f"burst-{n}", burst_order) for n in range(BURST))
            )
        await asyncio.sleep(2.0)
        reads = sum(call.operation_name == "OrderLookup" for call in shop.calls) - before
    await shop.close()
    ordered = sorted(waits)
    p99 = ordered[round(0.99 * (len(ordered) - 1))]
    default_recheck = Reconciler.__init__.__kwdefaults__["review_recheck"]  # type: ignore[index]
    print(  # noqa: T201
        f"webhook to visible status, {WEBHOOKS} webhooks (300 s snapshot cache): "
        f"p50 {statistics.median(waits):.0f} ms, p99 {p99:.0f} ms\n"
        f"Admin calls for a burst of {BURST} webhooks about one order: {reads}\n"
        f"polling safety net: the reconciler re-reads waiting requests every {default_recheck}"
    )


if __name__ == "__main__":
    asyncio.run(main())
