"""The Shopify stand-in for benchmarks: the sandbox shop in a process of its own.

Its own process, so its CPU time never shows up in the profile of the server under test.
Prints one JSON line (Admin endpoint, token, stats URL) once it serves, then runs until
SIGTERM or SIGINT. `GET <stats>` answers what it saw per operation name: calls, calls refused
as THROTTLED, and requested and actual cost points; the stand-in sees every Admin call.

    python -m bench.shop --orders 20000 --latency-ms 80 --jitter-ms 10 --unlimited-budget
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections import Counter
from collections.abc import Sequence

from aiohttp import web

from service.sandbox.server import SandboxShop, start_sandbox

# High enough that a throughput run never waits for points, finite so throttleStatus stays a
# plain number every client can read.
UNLIMITED_POINTS = 1e9
# Shopify's standard plan: a 2,000-point bucket that refills 100 points a second.
STANDARD_BUCKET = 2000.0
STANDARD_RESTORE_RATE = 100.0


def stats(shop: SandboxShop) -> dict[str, dict[str, int]]:
    """Per operation name: calls, throttled calls, requested and actual cost points."""
    totals: dict[str, Counter[str]] = {}
    for call in shop.calls:
        counts = totals.setdefault(call.operation_name or "", Counter())
        counts["calls"] += 1
        counts["requested_points"] += call.requested_cost
        counts["actual_points"] += call.actual_cost or 0
        counts["throttled"] += 0 if call.executed else 1
    return {name: dict(counts) for name, counts in totals.items()}


async def serve(args: argparse.Namespace) -> None:
    """Start the shop and its stats listener, announce them, wait for a stop signal."""
    bucket, restore_rate = (
        (UNLIMITED_POINTS, UNLIMITED_POINTS)
        if args.unlimited_budget
        else (STANDARD_BUCKET, STANDARD_RESTORE_RATE)
    )
    shop = await start_sandbox(
        port=args.port,
        generated_orders=args.orders,
        latency_seconds=args.latency_ms / 1000,
        latency_jitter_seconds=args.jitter_ms / 1000,
        bucket_size=bucket,
        restore_rate=restore_rate,
    )

    async def answer_stats(_: web.Request) -> web.Response:
        return web.json_response(stats(shop))

    app = web.Application()
    app.router.add_get("/stats", answer_stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.stats_port).start()
    host, port = runner.addresses[0][:2]
    announcement = {
        "endpoint": shop.endpoint,
        "token": shop.admin_token,
        "stats": f"http://{host}:{port}/stats",
    }
    sys.stdout.write(json.dumps(announcement) + "\n")
    sys.stdout.flush()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    await runner.cleanup()
    await shop.close()


def parser() -> argparse.ArgumentParser:
    """The command line."""
    options = argparse.ArgumentParser(prog="bench.shop", description=__doc__)
    options.add_argument("--port", type=int, default=0, help="Admin API port (0: any free)")
    options.add_argument("--stats-port", type=int, default=0, help="stats port (0: any free)")
    options.add_argument("--orders", type=int, default=20_000, help="generated orders")
    options.add_argument("--latency-ms", type=float, default=80.0, help="delay per Admin call")
    options.add_argument("--jitter-ms", type=float, default=10.0, help="± uniform jitter")
    options.add_argument(
        "--unlimited-budget",
        action="store_true",
        help="lift the standard plan's cost budget (2,000 points, 100 restored a second)",
    )
    return options


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: `python -m bench.shop`."""
    asyncio.run(serve(parser().parse_args(argv)))


if __name__ == "__main__":
    main()
