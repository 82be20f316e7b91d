"""Pool, migrations and readiness against a real Postgres."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from service.embedded import start_embedded_postgres, stop_embedded_postgres
from service.storage.database import (
    MigrationError,
    check_ready,
    create_pool,
    ensure_database,
    load_migrations,
    migrate,
    pending_migrations,
    with_database,
)


@pytest.fixture
async def blank_database(postgres_server_dsn: str) -> AsyncIterator[str]:
    """An empty database that no migration has touched; dropped afterwards."""
    name = f"ordergate_blank_{secrets.token_hex(6)}"
    dsn = await ensure_database(postgres_server_dsn, name)
    yield dsn
    admin = await asyncpg.connect(postgres_server_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _applied_names(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")
    finally:
        await conn.close()
    return [row["name"] for row in rows]


async def test_migrate_applies_every_file_then_nothing(blank_database: str) -> None:
    names = [m.name for m in load_migrations()]

    assert await migrate(blank_database) == names
    assert await migrate(blank_database) == []


async def test_concurrent_migrations_apply_each_file_once(blank_database: str) -> None:
    results = await asyncio.gather(*(migrate(blank_database) for _ in range(5)))

    applied = [name for result in results for name in result]
    assert sorted(applied) == [m.name for m in load_migrations()]
    assert await _applied_names(blank_database) == sorted(applied)


async def test_changed_migration_is_refused(blank_database: str, tmp_path: Path) -> None:
    migration = tmp_path / "0001_first.sql"
    migration.write_text("CREATE TABLE first (id int);")
    await migrate(blank_database, directory=tmp_path)
    migration.write_text("CREATE TABLE first (id bigint);")

    with pytest.raises(MigrationError, match="0001_first changed"):
        await migrate(blank_database, directory=tmp_path)


async def test_badly_named_migration_is_refused(blank_database: str, tmp_path: Path) -> None:
    (tmp_path / "first.sql").write_text("SELECT 1;")

    with pytest.raises(MigrationError, match="NNNN_"):
        await migrate(blank_database, directory=tmp_path)


async def test_failed_migration_is_not_recorded(blank_database: str, tmp_path: Path) -> None:
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE bad (id int); SELECT 1/0;")

    with pytest.raises(asyncpg.DivisionByZeroError):
        await migrate(blank_database, directory=tmp_path)

    assert await _applied_names(blank_database) == ["0001_good"]


async def test_pending_migrations_lists_what_is_not_applied(blank_database: str) -> None:
    conn = await asyncpg.connect(blank_database)
    try:
        before = await pending_migrations(conn)
        await migrate(blank_database)
        after = await pending_migrations(conn)
    finally:
        await conn.close()

    assert before == [m.name for m in load_migrations()]
    assert after == []


async def test_ensure_database_is_idempotent(blank_database: str, postgres_server_dsn: str) -> None:
    name = blank_database.rsplit("/", 1)[1].split("?")[0]

    assert await ensure_database(postgres_server_dsn, name) == blank_database


async def test_ensure_database_rejects_odd_names(postgres_server_dsn: str) -> None:
    with pytest.raises(ValueError, match="database name"):
        await ensure_database(postgres_server_dsn, 'x"; DROP DATABASE postgres; --')


async def test_with_database_keeps_the_socket_query() -> None:
    dsn = "postgresql://postgres@/postgres?host=%2Ftmp%2Fpg&port=5432"

    assert with_database(dsn, "other") == "postgresql://postgres@/other?host=%2Ftmp%2Fpg&port=5432"


async def test_pool_decodes_jsonb_and_names_itself(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        value = await conn.fetchval("""SELECT '{"a": [1, 2]}'::jsonb""")
        name = await conn.fetchval("SHOW application_name")

    assert value == {"a": [1, 2]}
    assert name == "ordergate"


async def test_release_sends_no_reset_query_and_rolls_back_what_was_left_open(
    database_url: str,
) -> None:
    connections = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with connections.acquire() as conn:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("CREATE TEMP TABLE left_open (x int)")
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("INSERT INTO left_open VALUES (1)")  # never committed
        watcher = await asyncpg.connect(database_url)
        try:
            query = "SELECT query FROM pg_stat_activity WHERE pid = $1"
            last = await watcher.fetchval(query, backend)
        finally:
            await watcher.close()
        # The rollback of what was left open, and no reset query after it: that was one more
        # round trip on every release, which every caller waited for.
        assert last == "ROLLBACK"
        async with connections.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == backend
            assert await conn.fetchval("SELECT count(*) FROM left_open") == 0
    finally:
        await connections.close()


async def test_ready_when_migrated(pool: asyncpg.Pool) -> None:
    assert await check_ready(pool) is True


async def test_not_ready_with_pending_migrations(blank_database: str) -> None:
    connections = await create_pool(blank_database)
    try:
        assert await check_ready(connections) is False
    finally:
        await connections.close()


async def test_not_ready_when_the_pool_is_gone(database_url: str) -> None:
    connections = await create_pool(database_url)
    await connections.close()

    assert await check_ready(connections) is False


async def test_embedded_postgres_answers_queries(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    dsn = await asyncio.to_thread(start_embedded_postgres, data_dir)
    try:
        conn = await asyncpg.connect(dsn)
        answer = await conn.fetchval("SELECT 1")
        await conn.close()
    finally:
        await asyncio.to_thread(stop_embedded_postgres, data_dir)

    assert answer == 1
