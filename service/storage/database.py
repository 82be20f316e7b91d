"""The Postgres pool, forward-only migrations from `db/migrations`, and readiness."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.paths import MIGRATIONS_DIR

Connection = asyncpg.Connection | PoolConnectionProxy
"""A plain connection or one borrowed from a pool: service functions take either."""

_MIGRATION_NAME = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Any fixed bigint works; every replica must use the same one.
_MIGRATION_LOCK_KEY = 0x6F72_6465_7267_6174  # "ordergat"


class MigrationError(RuntimeError):
    """The database's migration history disagrees with the files in `db/migrations`."""


@dataclass(frozen=True)
class Migration:
    """One `NNNN_<what>.sql` file and the checksum of its bytes."""

    name: str
    sql: str
    checksum: str


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, schema="pg_catalog", encoder=json.dumps, decoder=json.loads
        )


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, command_timeout: float = 10.0
) -> asyncpg.Pool:
    """A pool whose connections decode json/jsonb and name themselves `ordergate`."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        init=_init_connection,
        server_settings={"application_name": "ordergate"},
    )


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in the order they apply."""
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        if not _MIGRATION_NAME.match(path.name):
            raise MigrationError(f"{path.name} is not named NNNN_<what>.sql")
        raw = path.read_bytes()
        migrations.append(
            Migration(path.stem, raw.decode("utf-8"), hashlib.sha256(raw).hexdigest())
        )
    return migrations


CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text        PRIMARY KEY,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
SELECT_APPLIED = "SELECT name, checksum FROM schema_migrations"
RECORD_APPLIED = "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)"
HISTORY_EXISTS = "SELECT to_regclass('schema_migrations') IS NOT NULL"


async def _applied(conn: Connection) -> dict[str, str]:
    if not await conn.fetchval(HISTORY_EXISTS):
        return {}
    return {row["name"]: row["checksum"] for row in await conn.fetch(SELECT_APPLIED)}


def _unapplied(migrations: list[Migration], applied: dict[str, str]) -> list[Migration]:
    for migration in migrations:
        checksum = applied.get(migration.name)
        if checksum is not None and checksum != migration.checksum:
            raise MigrationError(
                f"migration {migration.name} changed after it was applied; "
                "migrations are forward-only: add a new file instead"
            )
    return [migration for migration in migrations if migration.name not in applied]


async def pending_migrations(conn: Connection) -> list[str]:
    """Names of the migration files this database has not applied yet."""
    return [m.name for m in _unapplied(load_migrations(), await _applied(conn))]


async def migrate(dsn: str, *, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Applies pending migrations, each in its own transaction; safe from many replicas at once."""
    migrations = load_migrations(directory)
    conn = await asyncpg.connect(dsn, server_settings={"application_name": "ordergate-migrate"})
    try:
        # A session lock, not a transaction lock: it must outlive each migration's transaction.
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
        await conn.execute(CREATE_HISTORY)
        applied_now = []
        for migration in _unapplied(migrations, await _applied(conn)):
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(RECORD_APPLIED, migration.name, migration.checksum)
            applied_now.append(migration.name)
        return applied_now
    finally:
        await conn.close()  # closing the session releases the advisory lock


def with_database(dsn: str, name: str) -> str:
    """The same server DSN, pointing at database `name`."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def ensure_database(server_dsn: str, name: str) -> str:
    """Creates database `name` on the server unless it exists; returns its DSN."""
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"{name!r} is not a plain lower-case database name")
    conn = await asyncpg.connect(server_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                # An identifier cannot be a $n parameter; the name was validated above.
                await conn.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # created concurrently by another replica
    finally:
        await conn.close()
    return with_database(server_dsn, name)


async def check_ready(pool: asyncpg.Pool, *, acquire_timeout: float = 2.0) -> bool:
    """Postgres answers and every migration is applied. Never raises."""
    try:
        async with pool.acquire(timeout=acquire_timeout) as conn:
            return not await pending_migrations(conn)
    # Readiness is a yes/no answer for the orchestrator: any failure means "not ready".
    except Exception:
        return False
