"""Personal data at scale: how long `ordergate migrate` takes to move the personal data of
existing audit rows out of the chain (0008), how long erasing one order's events takes among
many, and how long `ordergate audit verify` takes over them all.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.privacy_figures [--events 1000000] [--order-events 10000]

It builds a database migrated up to 0007 (the schema before erasable audit rows), writes
`--events` audit rows the way ordergate wrote them then (each with a client address; every
n-th row is the one order's), times `migrate` (the re-chain), then the order's erasure and a
full verify.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from service.orders.privacy import Privacy
from service.paths import MIGRATIONS_DIR
from service.storage.audit import GENESIS_HASH, AuditEvent, AuditRecord, canonical_json, verify
from service.storage.database import OPERATOR_BOUNDS, create_pool, migrate, with_database

ORDER = "gid://shopify/Order/5800001009"
COLUMNS = (
    "seq", "occurred_at", "operation", "request_id", "client_address", "order_id", "outcome",
    "admin_calls", "details", "prev_hash", "hash",
)  # fmt: skip
START = datetime(2026, 10, 1, tzinfo=UTC)


def legacy_rows(events: int, order_events: int) -> Iterator[tuple[object, ...]]:
    """Rows as ordergate chained them before 0008, the client address inside the hash."""
    every = max(events // order_events, 1)
    prev = GENESIS_HASH
    for seq in range(1, events + 1):
        at = START + timedelta(seconds=4 * seq)  # 1,000,000 rows span about six weeks
        order = ORDER if seq % every == 0 else f"gid://shopify/Order/{1000 + seq % 100_000}"
        address = f"10.{seq >> 16 & 255}.{seq >> 8 & 255}.{seq & 255}"
        event = AuditEvent("orderStatus", f"req-{seq}", address, order, occurred_at=at)
        content = AuditRecord(seq, at, event, prev, "").content()
        digest = hashlib.sha256(prev.encode("ascii") + canonical_json(content)).hexdigest()
        yield (seq, at, "orderStatus", f"req-{seq}", address, order, "ok", "[]", "{}", prev, digest)
        prev = digest


async def build(server: str, events: int, order_events: int) -> tuple[str, float]:
    """A database at 0007 holding `events` legacy rows; returns it and the build time."""
    name = f"ordergate_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = with_database(server, name)
    with tempfile.TemporaryDirectory() as before:
        for path in sorted(MIGRATIONS_DIR.glob("*.sql"))[:7]:
            shutil.copy(path, Path(before) / path.name)
        await migrate(dsn, directory=Path(before))
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        for month in range(3):
            await conn.execute(
                "select audit_ensure_partition($1)", START + timedelta(days=31 * month)
            )
        rows, last = [], None
        for row in legacy_rows(events, order_events):
            rows.append(row)
            if len(rows) == 100_000:
                await conn.copy_records_to_table("audit_events", records=rows, columns=COLUMNS)
                last, rows = rows[-1], []
        if rows:
            await conn.copy_records_to_table("audit_events", records=rows, columns=COLUMNS)
            last = rows[-1]
        assert last is not None
        await conn.execute(
            "update audit_chain_head set seq = $1, hash = $2, occurred_at = $3",
            last[0], last[10], last[1],
        )  # fmt: skip
        await conn.execute("analyze audit_events")
    finally:
        await conn.close()
    return dsn, time.perf_counter() - started


async def main(events: int, order_events: int) -> None:
    server = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    dsn, built = await build(server, events, order_events)
    print(f"built {events:,} legacy audit rows in {built:.1f} s")  # noqa: T201

    started = time.perf_counter()
    await migrate(dsn)
    took = time.perf_counter() - started
    print(f"ordergate migrate (0008 re-chain of {events:,} rows): {took:.1f} s")  # noqa: T201

    pool = await create_pool(dsn, max_size=2, bounds=OPERATOR_BOUNDS)
    try:
        privacy = Privacy(pool=pool, clock=lambda: datetime.now(UTC))
        started = time.perf_counter()
        erased = await privacy.erase_orders([ORDER], reason="bench")
        took = time.perf_counter() - started
        print(f"erase one order: {erased.audit_rows:,} audit rows in {took:.2f} s")  # noqa: T201
        async with pool.acquire() as conn:
            started = time.perf_counter()
            result = await verify(conn=conn)
            took = time.perf_counter() - started
        print(f"audit verify: {result.checked:,} events, intact={result.intact}, {took:.1f} s")  # noqa: T201
    finally:
        await pool.close()
    admin = await asyncpg.connect(server)
    await admin.execute(f'DROP DATABASE "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--order-events", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.order_events))
