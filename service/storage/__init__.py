"""The only SQL in ordergate: pool and migrations, audit chain, requests, idempotency, reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


class StorageUnavailable(Exception):
    """Postgres could not be reached or written; nothing may be sent to Shopify."""


@asynccontextmanager
async def storage_errors() -> AsyncIterator[None]:
    """Turn every way Postgres can fail into one `StorageUnavailable`."""
    try:
        yield
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        raise StorageUnavailable(type(exc).__name__) from None
