"""The PostgreSQL `ordergate dev` keeps in ORDERGATE_DATA_DIR: for `ordergate dev` itself, and
for the operator commands run beside it without a DATABASE_URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from service.embedded import start_embedded_postgres
from service.storage import database

DEV_DATABASE_NAME = "ordergate"


def postgres_dir(data_dir: Path) -> Path:
    """Where the embedded server's data lives."""
    return data_dir.resolve() / "postgres"


def dev_database_exists(data_dir: Path) -> bool:
    """Whether `ordergate dev` has created its database in `data_dir`."""
    return (postgres_dir(data_dir) / "PG_VERSION").is_file()


def open_dev_database(data_dir: Path) -> str:
    """The DSN of the dev database, its server started unless `ordergate dev` runs it already.

    A server this process starts stops when it exits, so a command run while `ordergate dev`
    is down leaves nothing running behind it.
    """
    server = start_embedded_postgres(postgres_dir(data_dir))
    return asyncio.run(database.ensure_database(server, DEV_DATABASE_NAME))
