"""The operator listener: `GET /metrics` on ORDERGATE_METRICS_PORT, never on the public port.

Its counters are for operators only: order-cache hits tell whether an order exists, and the
Admin figures show how much of the shop's budget is left.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from service.metrics import CONTENT_TYPE, Metrics


def _exposition(metrics: Metrics) -> web.Application:
    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    return app


@asynccontextmanager
async def serving_metrics(metrics: Metrics, *, host: str, port: int) -> AsyncIterator[int | None]:
    """Serve `GET /metrics` on host:port while open; yields the bound port, None when port is 0."""
    if port == 0:
        yield None
        return
    runner = web.AppRunner(_exposition(metrics), access_log=None)
    await runner.setup()
    try:
        await _listen(runner, host=host, port=port)
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _listen(runner: web.AppRunner, *, host: str, port: int) -> None:
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:  # name the setting: the operator's fix is there
        message = f"ORDERGATE_METRICS_PORT: cannot listen on {host}:{port}: {error.strerror}"
        raise OSError(error.errno, message) from error
