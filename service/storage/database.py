"""The Postgres pool, forward-only migrations from `db/migrations`, and readiness."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

from service.paths import MIGRATIONS_DIR

# Re-exported: storage modules have long imported it from here.
from service.storage.connection import Connection as Connection
from service.storage.migration_steps import STEPS

logger = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class DatabaseBounds:
    """How long any wait on Postgres may last, in seconds (None: unbounded).

    A silent Postgres (packets dropped, nothing refused) must cost a request a couple of
    seconds, not minutes: every wait a request can meet is bounded here.
    """

    connect: float = 1.5
    """TCP connect, TLS, startup and authentication of one new connection."""
    acquire: float | None = 1.5
    """Waiting for a pool connection, connecting it included (asyncpg's acquire timeout)."""
    statement: float | None = 2.0
    """One statement, client side (asyncpg's command_timeout): then it is cancelled."""
    release: float = 0.5
    """Resetting a connection on its way back to the pool; one that cannot is dropped."""
    server_statement_margin: float | None = 3.0
    """The server's own statement_timeout is `statement` plus this: it ends a statement whose
    client gave up but whose cancel request could not get through. None: not set."""
    idle_in_transaction: float | None = 60.0
    """The server ends a session idle inside a transaction this long (locks held)."""
    keepalive_idle: int = 5
    """TCP keepalive, both ends: first probe after this many idle seconds..."""
    keepalive_interval: int = 2
    """...then one every this many seconds..."""
    keepalive_count: int = 3
    """...and the connection is dead after this many unanswered (about 11 s in all)."""

    def server_settings(self, application_name: str) -> dict[str, str]:
        """Session settings sent in the startup packet: they survive the pool's RESET ALL."""
        settings = {
            "application_name": application_name,
            "tcp_keepalives_idle": str(self.keepalive_idle),
            "tcp_keepalives_interval": str(self.keepalive_interval),
            "tcp_keepalives_count": str(self.keepalive_count),
        }
        if self.statement is not None and self.server_statement_margin is not None:
            margin = self.statement + self.server_statement_margin
            settings["statement_timeout"] = str(int(margin * 1000))
        if self.idle_in_transaction is not None:
            settings["idle_in_transaction_session_timeout"] = str(
                int(self.idle_in_transaction * 1000)
            )
        return settings

    @property
    def dead_after(self) -> int:
        """Seconds without an answer to keepalives (or an acknowledgement) before a drop."""
        return self.keepalive_idle + self.keepalive_interval * self.keepalive_count


SERVICE_BOUNDS = DatabaseBounds()
"""The service's pool: requests, the reconciler, the workers. Worst answer with Postgres
blackholed: acquire + statement + release = 4 s; typically statement + release = 2.5 s."""

OPERATOR_BOUNDS = DatabaseBounds(
    connect=10.0,
    acquire=30.0,
    statement=None,
    release=5.0,
    server_statement_margin=None,
    idle_in_transaction=None,
)
"""Operator commands (audit verify/export over big tables, reports, migrations): a slow
statement or a paused pager is theirs to wait for; a dead network is still found by
keepalives and the connect bound."""


def set_keepalive(conn: asyncpg.Connection, bounds: DatabaseBounds) -> None:
    """SO_KEEPALIVE and its timings, and TCP_USER_TIMEOUT, on the connection's TCP socket.

    asyncpg has no keepalive option (`keepalives` & co. are libpq's): set them on the socket.
    A Unix socket has none of them and is left alone.
    """
    # The transport is asyncpg's own attribute: no public accessor exposes the socket.
    transport = getattr(conn, "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    options = {
        "TCP_KEEPIDLE": bounds.keepalive_idle,
        "TCP_KEEPINTVL": bounds.keepalive_interval,
        "TCP_KEEPCNT": bounds.keepalive_count,
        # Data sent and never acknowledged (a blackhole mid-statement) counts too.
        "TCP_USER_TIMEOUT": bounds.dead_after * 1000,
    }
    for name, value in options.items():
        option = getattr(socket, name, None)  # Linux names; other systems lack some
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


async def _init_connection(conn: asyncpg.Connection, bounds: DatabaseBounds) -> None:
    set_keepalive(conn, bounds)
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, schema="pg_catalog", encoder=json.dumps, decoder=json.loads
        )


class BoundedPool(asyncpg.Pool):
    """An asyncpg pool whose every acquire and release is bounded by default.

    asyncpg bounds acquire only when a caller passes `timeout=`, and `pool.fetch()` & co.
    never do. Overriding `acquire` bounds them all, `async with pool.acquire()` included.
    Release gets its own short budget (asyncpg reuses the acquire timeout): after a
    statement timed out, it waits for the cancellation before resetting the connection,
    and against a silent server that wait is only worth a moment.
    """

    __slots__ = ("_acquire_timeout", "_release_timeout")

    def __init__(
        self, dsn: str, *, acquire_timeout: float | None, release_timeout: float, **kwargs: Any
    ) -> None:
        super().__init__(dsn, **kwargs)
        self._acquire_timeout = acquire_timeout
        self._release_timeout = release_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        """A connection within `timeout` seconds (the pool's acquire bound by default)."""
        return super().acquire(timeout=self._acquire_timeout if timeout is None else timeout)

    async def release(
        self,
        connection: PoolConnectionProxy,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - asyncpg's own signature
    ) -> None:
        """Give the connection back. A failed reset has already dropped the connection (asyncpg
        terminates it and frees its slot): the caller's work is done, so it is not an error."""
        try:
            await super().release(
                connection, timeout=self._release_timeout if timeout is None else timeout
            )
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            logger.warning("postgres connection dropped on release: %s", type(exc).__name__)


async def _keep_session(_: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN
    *; RESET ALL`): a round trip on every release that each query's caller waited for. asyncpg
    still rolls back an open transaction and drops listeners first, and ordergate leaves no
    other session state on a pooled connection: no SET (its settings are the connection's
    startup parameters), advisory locks only per transaction, cursors only inside
    transactions, and the outbox's LISTEN is removed before its connection is released."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    bounds: DatabaseBounds = SERVICE_BOUNDS,
    application_name: str = "ordergate",
) -> asyncpg.Pool:
    """A pool whose connections decode json/jsonb, name themselves `ordergate`, keep their
    TCP connection alive and bound every wait as `bounds` say (the service's by default)."""

    async def init(conn: asyncpg.Connection) -> None:
        await _init_connection(conn, bounds)

    pool = BoundedPool(
        dsn,
        acquire_timeout=bounds.acquire,
        release_timeout=bounds.release,
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        connect=None,
        setup=None,
        init=init,
        reset=_keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        timeout=bounds.connect,
        command_timeout=bounds.statement,
        server_settings=bounds.server_settings(application_name),
    )
    return await pool


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


async def migrate(
    dsn: str, *, directory: Path = MIGRATIONS_DIR, bounds: DatabaseBounds = OPERATOR_BOUNDS
) -> list[str]:
    """Applies pending migrations, each in its own transaction; safe from many replicas at once.

    By default a migration's statements, and the wait for another replica's migration, are
    unbounded (an index build takes what it takes); connecting is bounded and keepalives find
    a dead network. Pass `bounds` to bound them.
    """
    migrations = load_migrations(directory)
    conn = await asyncpg.connect(
        dsn,
        timeout=bounds.connect,
        command_timeout=bounds.statement,
        server_settings=bounds.server_settings("ordergate-migrate"),
    )
    set_keepalive(conn, bounds)
    try:
        # A session lock, not a transaction lock: it must outlive each migration's transaction.
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
        await conn.execute(CREATE_HISTORY)
        applied_now = []
        for migration in _unapplied(migrations, await _applied(conn)):
            async with conn.transaction():
                await conn.execute(migration.sql)
                step = STEPS.get(migration.name)
                if step is not None:
                    await step(conn)
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
    conn = await asyncpg.connect(server_dsn, timeout=OPERATOR_BOUNDS.connect, command_timeout=60.0)
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


_checks: set[asyncio.Task[bool]] = set()


async def _ready(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        return not await pending_migrations(conn)


async def check_ready(pool: asyncpg.Pool, *, timeout: float = 0.8) -> bool:  # noqa: ASYNC109
    """Postgres answers and every migration is applied, within `timeout` seconds. Never raises.

    The check runs as a task of its own and is abandoned, not cancelled, when late: a
    cancelled statement makes the release wait for its cancellation, which a silent server
    never acknowledges. The abandoned check ends by itself within the pool's bounds.
    """
    check = asyncio.ensure_future(_ready(pool))
    _checks.add(check)
    check.add_done_callback(_forget_check)
    try:
        return await asyncio.wait_for(asyncio.shield(check), timeout)
    # Readiness is a yes/no answer for the orchestrator: any failure means "not ready".
    except Exception:
        return False


def _forget_check(check: asyncio.Task[bool]) -> None:
    _checks.discard(check)
    if not check.cancelled():
        check.exception()  # retrieved: a failed check is "not ready", not a logged error
