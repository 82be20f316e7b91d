"""What one address can do to a shop with the default limits, measured against the real app:
Admin calls it can cause per minute, orders it can lock per hour, and whether an existing
order answers a wrong contact faster than an unknown order does.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/attack_surface.py
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import time
from urllib.parse import urlsplit

import aiohttp

from bench.lookup_cost import fresh_database
from service.app import create_app
from service.sandbox.server import SandboxShop, start_sandbox
from tests.api.conftest import post_graphql, sandbox_settings, serving

LOOKUP = """query ($n: String!, $c: String!) { orderStatus(orderNumber: $n, contact: $c) {
  order { number } userErrors { code } } }"""
ALIASES = 16
ATTEMPTS = 200  # more than the default per-client limit allows in a minute
TIMING_PAIRS = 200


def admin_calls(shop: SandboxShop) -> int:
    return sum(call.operation_name == "OrderLookup" for call in shop.calls)


async def attack(server: str, documents: list[tuple[str, dict[str, str]]]) -> tuple[int, int, int]:
    """(requests answered 200, Admin calls caused, demo orders locked) after one address sent
    `documents` as fast as it could, with the default limits."""
    shop = await start_sandbox()
    app = create_app(sandbox_settings(await fresh_database(server), shop))
    async with serving(app) as url, aiohttp.ClientSession() as http:
        answers = [
            await post_graphql(http, url, query, variables) for query, variables in documents
        ]
        limits = app.state.runtime.limits
        verdicts = [await limits.order_locked(f"#{1001 + n}") for n in range(14)]
    calls = admin_calls(shop)
    await shop.close()
    return sum(a.status == 200 for a in answers), calls, sum(not v.allowed for v in verdicts)


def aliased(attempt: int) -> tuple[str, dict[str, str]]:
    """Sixteen lookups of different orders in one document."""
    fields = " ".join(
        f'a{i}: orderStatus(orderNumber: "{2000 + attempt * ALIASES + i}", '
        f'contact: "guess{attempt}@example.org") {{ order {{ number }} }}'
        for i in range(ALIASES)
    )
    return f"query {{ {fields} }}", {}


def distinct_order(attempt: int) -> tuple[str, dict[str, str]]:
    """A different order number each time, so no answer comes from the cache."""
    return LOOKUP, {"n": f"#{3000 + attempt}", "c": "guess@example.org"}


def concentrated_guess(attempt: int) -> tuple[str, dict[str, str]]:
    """Ten wrong contacts per demo order, then the next order: the most locks per request."""
    return LOOKUP, {"n": f"#{1001 + (attempt // 10) % 14}", "c": f"g{attempt}@example.org"}


class RawClient:
    """One keep-alive connection that writes each request in a single send and acknowledges
    at once (TCP_QUICKACK): on this loopback, a delayed ACK otherwise adds about 40 ms to
    every answer, which would drown the difference measured here."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> RawClient:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def post(self, body: bytes) -> bytes:
        head = (
            "POST /graphql HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self._writer.write(head.encode() + body)
        await self._writer.drain()
        sock = self._writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        status_and_headers = await self._reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in status_and_headers.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


async def timing(server: str) -> tuple[float, float]:
    """Median milliseconds of a wrong contact on an existing order and on an unknown one."""
    shop = await start_sandbox()
    settings = sandbox_settings(
        await fresh_database(server),
        shop,
        ORDERGATE_LIMIT_PER_CLIENT="1000000/minute",
        ORDERGATE_LIMIT_PER_ORDER="1000000/hour",
    )
    samples: dict[str, list[float]] = {"existing": [], "unknown": []}
    async with serving(create_app(settings)) as url:
        client = await RawClient.open(url)
        for pair in range(TIMING_PAIRS):
            order = [("existing", "#1002"), ("unknown", "#9999")]
            for kind, number in order if pair % 2 else reversed(order):
                variables = {"n": number, "c": "wrong@example.org"}
                body = json.dumps({"query": LOOKUP, "variables": variables}).encode()
                started = time.perf_counter()
                await client.post(body)
                samples[kind].append((time.perf_counter() - started) * 1000)
        await client.close()
    await shop.close()
    return statistics.median(samples["existing"]), statistics.median(samples["unknown"])


async def main() -> None:
    server = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    started = time.perf_counter()
    rows = [
        (name, await attack(server, [make(n) for n in range(ATTEMPTS)]))
        for name, make in (
            ("16 aliased lookups each", aliased),
            ("a new order number each", distinct_order),
            ("10 wrong contacts per order", concentrated_guess),
        )
    ]
    seconds = time.perf_counter() - started
    existing_ms, unknown_ms = await timing(server)
    print(  # noqa: T201
        f"one address, default limits, {ATTEMPTS} requests per strategy, all within a minute "
        f"({seconds:.0f} s for the three):"
    )
    print(f"  {'strategy':<30}{'answered':>9}{'Admin calls':>13}{'orders locked':>15}")  # noqa: T201
    for name, (answered, calls, locked) in rows:
        print(f"  {name:<30}{answered:>9}{calls:>13}{locked:>15}")  # noqa: T201
    print(  # noqa: T201
        f"wrong contact, {TIMING_PAIRS} interleaved pairs on one keep-alive connection, "
        f"median ms: existing order {existing_ms:.2f}, unknown order {unknown_ms:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
