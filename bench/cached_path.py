"""Micro-benchmark of the cached lookup path: orderStatus requests a second through the
in-process ASGI app, each order's snapshot already cached, beside the GraphQL floor.

No HTTP server and no client sockets: requests go straight into the ASGI app (bench/
asgi_client.py). The app is configured as in production (Postgres for the audit log and
requests, Redis for limits and the cache) with limits out of the way and a cache that
outlives the run; the sandbox shop is in process. Prints, does not assert: time it on
purpose, not in CI.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.cached_path --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp

from bench import floor
from bench.asgi_client import post_json, running
from bench.servers import UNLIMITED, Backends, fresh_database
from bench.workloads import body
from service.app import create_app
from service.config import Settings
from service.sandbox.generated import GENERATED_FIRST_NUMBER, generate_orders
from service.sandbox.server import start_sandbox

UNLIMITED_POINTS = 1e9


@dataclass(frozen=True)
class Rate:
    """Lookups a second, and the process's CPU milliseconds per lookup: steadier than the
    rate on a shared machine, since time spent waiting for the CPU does not count."""

    per_second: float
    cpu_ms: float


async def lookups_per_second(
    app: ASGIApp, *, numbers: list[int], seconds: float, concurrency: int
) -> Rate:
    """Look each order up once (untimed), then as many lookups as fit in `seconds`.

    The CPU is the whole process's (the in-process client, the app and its background
    tasks such as the audit writer), the same for both servers."""
    for number in numbers:
        await _lookup(app, number)
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await _lookup(app, numbers[(done + offset) % len(numbers)])
            done += 1

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(offset) for offset in range(concurrency)))
    cpu_ms = (time.process_time() - cpu_started) * 1000 / done
    return Rate(per_second=done / (time.perf_counter() - started), cpu_ms=cpu_ms)


async def _lookup(app: ASGIApp, number: int) -> None:
    status, answer = await post_json(app, "/graphql", body("L", number))
    payload = answer.get("data", {}).get("orderStatus") if status == 200 else None
    if payload is None or payload["userErrors"]:
        raise RuntimeError(f"#{number}: {status} {answer}")


async def measure(args: argparse.Namespace, *, database: str) -> tuple[Rate, Rate]:
    """(ordergate, floor) cached lookups a second."""
    numbers = [GENERATED_FIRST_NUMBER + index for index in range(args.orders)]
    shop = await start_sandbox(
        generated_orders=args.orders, bucket_size=UNLIMITED_POINTS, restore_rate=UNLIMITED_POINTS
    )
    environment: dict[str, Any] = {
        "ORDERGATE_ENV": "production",
        "DATABASE_URL": database,
        "REDIS_URL": Backends.from_environment().redis,
        "SHOPIFY_SHOP": "bench-shop.myshopify.com",
        "SHOPIFY_ADMIN_ENDPOINT": shop.endpoint,
        "SHOPIFY_ADMIN_TOKEN": shop.admin_token,
        "ORDERGATE_ORDER_CACHE_SECONDS": "300",
        # Production needs both; no lookup sends mail.
        "ORDERGATE_SECRET_KEY": "bench-secret-key-0123456789-0123456789",
        "SMTP_URL": "smtp://127.0.0.1:9",
        **UNLIMITED,
    }
    try:
        app = create_app(Settings(_env_file=None, **environment))
        async with running(app):
            ordergate = await lookups_per_second(
                app, numbers=numbers, seconds=args.seconds, concurrency=args.concurrency
            )
    finally:
        await shop.close()
    floor_app = floor.create_app(generate_orders(args.orders, now=datetime.now(UTC)))
    async with running(floor_app):
        floor_rate = await lookups_per_second(
            floor_app, numbers=numbers, seconds=args.seconds, concurrency=args.concurrency
        )
    return ordergate, floor_rate


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: `python -m bench.cached_path`."""
    options = argparse.ArgumentParser(prog="bench.cached_path", description=__doc__)
    options.add_argument("--seconds", type=float, default=5, help="timed seconds (default 5)")
    options.add_argument("--orders", type=int, default=50, help="orders looked up (default 50)")
    options.add_argument("--concurrency", type=int, default=8, help="concurrent lookups")
    args = options.parse_args(argv)
    with fresh_database(Backends.from_environment().postgres) as database:
        ordergate, floor_rate = asyncio.run(measure(args, database=database))
    print(  # noqa: T201
        f"cached orderStatus lookups in process, {args.concurrency} concurrent, "
        f"{args.orders} orders:\n"
        f"  ordergate {ordergate.per_second:8,.0f} req/s {ordergate.cpu_ms:6.3f} CPU ms/lookup\n"
        f"  floor     {floor_rate.per_second:8,.0f} req/s {floor_rate.cpu_ms:6.3f} CPU ms/lookup\n"
        f"  ordergate ÷ floor: {ordergate.per_second / floor_rate.per_second:.2f}"
    )


if __name__ == "__main__":
    main()
