"""Shared fixtures: a real Postgres (CI's or embedded), fresh migrated databases, the sandbox."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from service.embedded import start_embedded_postgres
from service.sandbox.server import SandboxShop, start_sandbox
from service.storage.database import create_pool, migrate

pytest_plugins = ["tests.redis_fixtures", "tests.log_capture"]

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL_ADMIN_SCHEMA = SHARED / "shopify" / "admin-2026-10.introspection.json"

DatabaseFactory = Callable[[], Awaitable[str]]


def with_database(dsn: str, name: str) -> str:
    """The same server DSN, pointing at database `name`."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def postgres_server_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """CI's Postgres when TEST_DATABASE_URL is set; otherwise an embedded one. Never skipped."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return configured
    return start_embedded_postgres(tmp_path_factory.mktemp("postgres"))


@pytest.fixture(scope="session")
async def make_database(postgres_server_dsn: str) -> AsyncIterator[DatabaseFactory]:
    """Creates fresh databases built by the real migrations; drops them all at the end."""
    created: list[str] = []

    async def create() -> str:
        name = f"ordergate_test_{secrets.token_hex(6)}"
        admin = await asyncpg.connect(postgres_server_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        created.append(name)
        dsn = with_database(postgres_server_dsn, name)
        await migrate(dsn)
        return dsn

    yield create

    # Several at once: one by one, dropping a few hundred databases took most of a minute.
    async with asyncpg.create_pool(postgres_server_dsn, min_size=1, max_size=8) as admins:
        await asyncio.gather(
            *(admins.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)') for name in created)
        )


@pytest.fixture(scope="session")
async def database_url(make_database: DatabaseFactory) -> str:
    """One migrated database shared by the tests that do not need a clean one."""
    return await make_database()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A connection pool on the shared test database."""
    connections = await create_pool(database_url)
    yield connections
    await connections.close()


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxShop]:
    """A fresh sandbox shop on loopback, its demo orders seeded relative to now."""
    shop = await start_sandbox()
    yield shop
    await shop.close()
