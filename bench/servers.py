"""How each system of the benchmark is started: the Shopify stand-in, ordergate as production
runs it (on a fresh database), the naive BFF and the GraphQL floor."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.processes import Server, free_port, server_process, shop_process
from service.storage.database import with_database

ORDERGATE = "ordergate"
NAIVE = "naive BFF"
FLOOR = "floor"
# Limits far above anything a run can reach: the benchmark measures the work, not the refusals.
UNLIMITED = {
    "ORDERGATE_LIMIT_PER_CLIENT": "1000000000/minute",
    "ORDERGATE_LIMIT_PER_ORDER": "1000000000/hour",
}


@dataclass(frozen=True)
class Backends:
    """Where Postgres and Redis are: TEST_DATABASE_URL and TEST_REDIS_URL, else loopback."""

    postgres: str
    redis: str

    @classmethod
    def from_environment(cls) -> Backends:
        """The same variables the test suite reads."""
        return cls(
            postgres=os.environ.get(
                "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
            ),
            redis=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        )


@dataclass(frozen=True)
class ShopSettings:
    """The stand-in's options (see bench/shop.py)."""

    orders: int
    latency_ms: float
    jitter_ms: float
    unlimited_budget: bool

    def arguments(self) -> list[str]:
        """Its command-line arguments."""
        flags = ["--unlimited-budget"] if self.unlimited_budget else []
        return [
            f"--orders={self.orders}",
            f"--latency-ms={self.latency_ms}",
            f"--jitter-ms={self.jitter_ms}",
            *flags,
        ]


def shop(settings: ShopSettings, *, logs: Path) -> AbstractContextManager[dict[str, str]]:
    """The Shopify stand-in; yields its endpoint, token and stats URL."""
    budget = "unlimited" if settings.unlimited_budget else "standard"
    return shop_process(arguments=settings.arguments(), log=logs / f"shop-{budget}.log")


@contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new database on the Postgres server, migrated by `ordergate migrate`; dropped after."""
    name = f"ordergate_bench_{secrets.token_hex(4)}"
    asyncio.run(_execute(server, f'CREATE DATABASE "{name}"'))
    dsn = with_database(server, name)
    try:
        migrate = [_console_script(ORDERGATE), "migrate"]
        env = {**os.environ, "DATABASE_URL": dsn}
        subprocess.run(migrate, env=env, check=True, capture_output=True, timeout=120)
        yield dsn
    finally:
        asyncio.run(_execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _execute(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _console_script(name: str) -> str:
    # The one installed beside the interpreter running the benchmark: the project's venv.
    return str(Path(sys.executable).parent / name)


def ordergate(
    *, database: str, redis: str, shop: dict[str, str], logs: Path, label: str = ""
) -> AbstractContextManager[Server]:
    """`ordergate serve` as production runs it, on loopback, with limits out of the way."""
    port = free_port()
    env = {
        "ORDERGATE_ENV": "production",
        "ORDERGATE_HOST": "127.0.0.1",
        "ORDERGATE_PORT": str(port),
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        "SHOPIFY_SHOP": "bench-shop.myshopify.com",
        "SHOPIFY_ADMIN_ENDPOINT": shop["endpoint"],
        "SHOPIFY_ADMIN_TOKEN": shop["token"],
        "ORDERGATE_SECRET_KEY": "bench-secret-key-0123456789-0123456789",
        # Production needs a relay; no mail reaches it in these workloads but W3's codes,
        # which stay queued (a refused connection, retried with backoff).
        "SMTP_URL": "smtp://127.0.0.1:9",
        "ORDERGATE_METRICS_PORT": "0",
        # Production as the README deploys it: Shopify's webhooks reach ordergate, so order
        # snapshots live ORDERGATE_ORDER_CACHE_WEBHOOK_SECONDS (300 s). The stand-in's orders
        # change only through ordergate, which drops what it changes on every replica.
        "SHOPIFY_WEBHOOK_SECRET": "bench-webhook-secret",
        **UNLIMITED,
    }
    command = [_console_script(ORDERGATE), "serve"]
    log = logs / f"ordergate{label}.log"
    return server_process(ORDERGATE, command=command, env=env, port=port, log=log)


def naive_bff(*, shop: dict[str, str], logs: Path) -> AbstractContextManager[Server]:
    """The baseline of bench/naive_bff.py."""
    port = free_port()
    env = {"SHOPIFY_ADMIN_ENDPOINT": shop["endpoint"], "SHOPIFY_ADMIN_TOKEN": shop["token"]}
    command = [sys.executable, "-m", "bench.naive_bff", f"--port={port}"]
    return server_process(NAIVE, command=command, env=env, port=port, log=logs / "naive.log")


def floor(*, orders: int, logs: Path) -> AbstractContextManager[Server]:
    """The GraphQL floor of bench/floor.py, holding the stand-in's generated orders."""
    port = free_port()
    command = [sys.executable, "-m", "bench.floor", f"--port={port}", f"--orders={orders}"]
    return server_process(FLOOR, command=command, env={}, port=port, log=logs / "floor.log")
