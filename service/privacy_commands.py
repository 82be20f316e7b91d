"""`ordergate privacy export | redact --order ORDER` (CONTRACT §7): the personal data held on
one order, found the way every command finds an order."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg
import redis.asyncio as aioredis

from service.admin.errors import UpstreamUnavailable
from service.config import ConfigurationError, Settings
from service.operator_commands import (
    DATABASE_ENV,
    Commands,
    NothingMatched,
    add_command,
    add_group,
    database_url,
    settings_from_env,
    typed_order,
)
from service.operator_shop import order_id_named
from service.order_cache import OrderCache
from service.orders.privacy import Privacy
from service.runtime import redis_scope
from service.storage import database, personal_data, storage_errors
from service.storage.order_names import order_ids_named

T = TypeVar("T")


async def _order_id(settings: Settings, pool: asyncpg.Pool, typed: str) -> str:
    """The gid of the order typed: as given, else by name from what ordergate holds, else from
    the shop itself; several known under the name and no shop to settle it: they are listed."""
    argument = typed_order(typed, settings)
    if argument.gid is not None:
        return argument.gid
    assert argument.name is not None
    async with storage_errors(), pool.acquire() as conn:
        named = await order_ids_named(conn=conn, name=argument.name)
    if len(named) == 1:
        return named[0]
    # The sandbox is new at every `ordergate dev` start, so its answer would name none of the
    # orders ordergate has seen: listing them is the useful answer there.
    if not settings.uses_sandbox:
        found = await _shop_order_id(settings, argument.name)
        if found is not None:
            return found
    if named:
        raise ConfigurationError(
            f"{argument.name} names {len(named)} orders ordergate has seen: "
            f"{', '.join(named)}: give one"
        )
    # Nothing under the name, and no shop (or the shop) to name it: ordergate holds nothing on it.
    raise NothingMatched(
        f"ordergate holds nothing on an order named {argument.name} "
        "(no request or lookup of it is recorded)"
    )


async def _shop_order_id(settings: Settings, name: str) -> str | None:
    try:
        return await order_id_named(settings, name)
    except UpstreamUnavailable as error:
        raise ConfigurationError(f"the shop could not be reached ({error}): give a gid") from None


def _privacy(typed: str, work: Callable[[Privacy, str], Awaitable[T]]) -> T:
    settings = settings_from_env()
    # Before the event loop: without DATABASE_URL, finding dev's database may start its
    # Postgres, which runs a loop of its own.
    dsn = database_url(settings)
    return asyncio.run(_privacy_on(settings, dsn, typed, work))


async def _privacy_on(
    settings: Settings, dsn: str, typed: str, work: Callable[[Privacy, str], Awaitable[T]]
) -> T:
    # As `with_connection`: an unreachable database is one line and exit 2, not a traceback.
    async with storage_errors():
        pool = await database.create_pool(
            dsn, min_size=1, max_size=1, bounds=database.OPERATOR_BOUNDS
        )
    try:
        order_id = await _order_id(settings, pool, typed)
        async with _snapshots(settings) as forget:
            privacy = Privacy(pool=pool, clock=lambda: datetime.now(UTC), forget=forget)
            return await work(privacy, order_id)
    finally:
        await pool.close()


@asynccontextmanager
async def _snapshots(
    settings: Settings,
) -> AsyncIterator[Callable[[list[str]], Awaitable[None]] | None]:
    """How an erasure drops the servers' cached snapshots of its orders: through their Redis,
    which tells every replica. Without REDIS_URL (or on the sandbox) each server holds its own
    cache in process, out of a command's reach: the snapshots live out their time."""
    if settings.redis_url is None or settings.uses_sandbox:
        yield None
        return
    redis = aioredis.Redis.from_url(settings.redis_url.get_secret_value())
    cache = OrderCache(redis=redis, prefix=redis_scope(settings.admin_endpoint()))

    async def forget(names: list[str]) -> None:
        for name in names:
            await cache.drop(name)

    try:
        yield forget
    finally:
        await redis.aclose()


def cmd_privacy_export(args: argparse.Namespace) -> int:
    """Everything ordergate holds on one order, as one JSON document."""
    document = _privacy(args.order, lambda privacy, order_id: privacy.export(order_id))
    print(json.dumps(document, default=str, ensure_ascii=False, indent=2))  # noqa: T201
    return 0


def cmd_privacy_redact(args: argparse.Namespace) -> int:
    """Erase the personal data held on one order, as a customers/redact webhook does."""

    async def redact(privacy: Privacy, order_id: str) -> tuple[str, personal_data.Erased]:
        return order_id, await privacy.erase_orders([order_id], reason="privacy redact")

    order_id, erased = _privacy(args.order, redact)
    counts = ", ".join(f"{name} {count}" for name, count in erased.as_details().items())
    print(f"erased the personal data of {order_id}: {counts}")  # noqa: T201
    return 0


def add_privacy_commands(commands: Commands) -> None:
    """`privacy export` and `privacy redact`."""
    privacy_commands = add_group(
        commands, "privacy", "the personal data held on an order (CONTRACT §7)"
    )
    for name, run, text in (
        ("export", cmd_privacy_export, "everything ordergate holds on the order, as JSON"),
        ("redact", cmd_privacy_redact, "erase the personal data ordergate holds on the order"),
    ):
        command = add_command(privacy_commands, name, text, environment=DATABASE_ENV)
        command.add_argument("--order", required=True, help="#1001, 1001 or gid://shopify/Order/…")
        command.set_defaults(run=run)
