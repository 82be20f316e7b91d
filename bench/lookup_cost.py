"""Admin cost points per 1,000 orderStatus calls, without and with the order cache, side by side.

A repeated-lookup workload: customers reloading their order page. 1,000 lookups over the
fourteen demo orders, skewed so a few orders get most reloads, against the sandbox shop,
whose cost model follows Shopify's documented rules.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/lookup_cost.py
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import time

import aiohttp
import asyncpg

from service.app import create_app
from service.sandbox.demo import DEMO_ORDERS
from service.sandbox.server import SandboxShop, start_sandbox
from service.storage.database import migrate, with_database
from tests.api.conftest import post_graphql, sandbox_settings, serving

CALLS = 1000
CONCURRENCY = 10
QUERY = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { number fulfillmentStatus cancellation { eligible } } userErrors { code } } }"""


async def fresh_database(server: str) -> str:
    name = f"ordergate_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = with_database(server, name)
    await migrate(dsn)
    return dsn


def workload(seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(DEMO_ORDERS))]
    picks = rng.choices(DEMO_ORDERS, weights=weights, k=CALLS)
    return [(demo.number, demo.contact) for demo in picks]


async def run(server: str, cache_seconds: float) -> tuple[float, float, float]:
    """(actual cost points, requested cost points, seconds) for one workload."""
    shop: SandboxShop = await start_sandbox(bucket_size=1_000_000.0, restore_rate=1_000_000.0)
    settings = sandbox_settings(
        await fresh_database(server),
        shop,
        ORDERGATE_ORDER_CACHE_SECONDS=str(cache_seconds),
        ORDERGATE_LIMIT_PER_CLIENT="1000000/minute",
    )
    calls = workload(seed=7)
    app = create_app(settings)
    started = time.perf_counter()
    async with serving(app) as url, aiohttp.ClientSession() as http:
        queue = iter(calls)

        async def client() -> None:
            for number, contact in queue:
                await post_graphql(http, url, QUERY, {"n": number, "c": contact})

        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        registry = app.state.runtime.metrics.registry
        actual = registry.get_sample_value(
            "ordergate_admin_cost_points_total", {"operation": "OrderLookup"}
        )
    elapsed = time.perf_counter() - started
    requested = sum(call.requested_cost for call in shop.calls)
    await shop.close()
    return actual or 0.0, requested, elapsed


async def main() -> None:
    server = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    actual_off, requested_off, seconds_off = await run(server, cache_seconds=0)
    actual_on, requested_on, seconds_on = await run(server, cache_seconds=10)
    lines = [
        f"{CALLS} orderStatus calls over {len(DEMO_ORDERS)} demo orders, {CONCURRENCY} clients",
        f"{'':<14}{'actual points':>15}{'requested points':>18}{'seconds':>9}",
        f"{'no cache':<14}{actual_off:>15.0f}{requested_off:>18.0f}{seconds_off:>9.2f}",
        f"{'cache 10 s':<14}{actual_on:>15.0f}{requested_on:>18.0f}{seconds_on:>9.2f}",
        f"{'ratio':<14}{actual_off / max(actual_on, 1):>14.1f}x"
        f"{requested_off / max(requested_on, 1):>17.1f}x{seconds_off / seconds_on:>8.1f}x",
    ]
    print("\n".join(lines))  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main())
