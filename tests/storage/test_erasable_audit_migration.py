"""Migration 0008 on a database built before it, with audit rows holding client addresses:
the chain verifies before and after, and the addresses end up erasable."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from service.paths import MIGRATIONS_DIR
from service.storage.audit import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    canonical_json,
    chain_hash,
    verify,
)
from service.storage.database import migrate
from service.storage.migration_steps import LegacyChainBroken
from tests.conftest import with_database

START = datetime(2026, 9, 3, 12, tzinfo=UTC)
ADDRESSES = ["198.51.100.1", "2001:db8::42", None, "198.51.100.2"]


@pytest.fixture
async def legacy_dsn(postgres_server_dsn: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database migrated up to 0007 only, as installations stand before this change."""
    before = tmp_path / "migrations"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql"))[:7]:
        shutil.copy(path, before / path.name)
    name = f"ordergate_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(postgres_server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = with_database(postgres_server_dsn, name)
    try:
        await migrate(dsn, directory=before)
        yield dsn
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _legacy_rows(dsn: str) -> None:
    """Rows written the way ordergate wrote them before 0008: the address inside the hash."""
    conn = await asyncpg.connect(dsn)
    try:
        prev = GENESIS_HASH
        for seq, address in enumerate(ADDRESSES, start=1):
            at = START + timedelta(days=40 * seq)  # several months: several partitions
            event = AuditEvent(
                operation="orderStatus",
                request_id=f"req-{seq}",
                client_address=address,
                order_id=f"gid://shopify/Order/{seq % 2 + 1}",
                details={"client_request_id": f"theirs-{seq}"} if seq == 1 else {},
                occurred_at=at,
            )
            record = AuditRecord(seq, at, event, prev, "")
            content = record.content()
            prev = chain_hash(prev, content)
            await conn.execute("select audit_ensure_partition($1)", at)
            await conn.execute(
                """insert into audit_events (seq, occurred_at, operation, request_id,
                   client_address, order_id, outcome, admin_calls, details, prev_hash, hash)
                   values ($1, $2, $3, $4, $5, $6, $7, '[]', $8::json, $9, $10)""",
                seq, at, event.operation, event.request_id, address, event.order_id,
                event.outcome, canonical_json(content["details"]).decode(), record.prev_hash, prev,
            )  # fmt: skip
        await conn.execute("update audit_chain_head set seq = $1, hash = $2", len(ADDRESSES), prev)
    finally:
        await conn.close()


async def test_migration_moves_addresses_out_and_the_chain_verifies(legacy_dsn: str) -> None:
    await _legacy_rows(legacy_dsn)

    assert await migrate(legacy_dsn) == [p.stem for p in sorted(MIGRATIONS_DIR.glob("*.sql"))][7:]

    conn = await asyncpg.connect(legacy_dsn)
    try:
        result = await verify(conn=conn)
        inline = await conn.fetchval(
            "select count(*) from audit_events where client_address is not null "
            "or details::text like '%theirs%'"
        )
        personal = [json.loads(row["data"]) for row in await conn.fetch(
            "select data::text from audit_personal order by seq")]  # fmt: skip
        await conn.execute("delete from audit_personal where order_id = 'gid://shopify/Order/2'")
        after_erasure = await verify(conn=conn)
    finally:
        await conn.close()
    assert (result.intact, result.checked) == (True, len(ADDRESSES))
    assert inline == 0
    assert [p.get("client_address") for p in personal] == [a for a in ADDRESSES if a]
    assert personal[0]["details"] == {"client_request_id": "theirs-1"}
    assert after_erasure.intact


async def test_migration_refuses_to_rechain_a_broken_chain(legacy_dsn: str) -> None:
    await _legacy_rows(legacy_dsn)
    conn = await asyncpg.connect(legacy_dsn)
    try:
        async with conn.transaction():
            await conn.execute("set local session_replication_role = replica")
            await conn.execute("update audit_events set outcome = 'forged' where seq = 2")
    finally:
        await conn.close()

    with pytest.raises(LegacyChainBroken, match="row 2"):
        await migrate(legacy_dsn)
