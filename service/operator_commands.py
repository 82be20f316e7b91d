"""The operator's commands on ordergate's records: `audit verify`, `audit export`,
`report cancellations`, `report not-received`; and how every command finds its database."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeAlias, TypeVar

from service.command_input import TIME_FORMS, TimeNotUnderstood, parse_when
from service.config import ConfigurationError, Settings
from service.customer_input import OrderArgument, order_argument
from service.dev_database import dev_database_exists, open_dev_database
from service.policy import load_policy
from service.storage import audit, database, reports, storage_errors
from service.storage.connection import Connection
from service.storage.order_names import order_ids_named

REPORT_DEFAULT_PERIOD = timedelta(days=30)
T = TypeVar("T")
# The subcommand registry argparse returns; generic only to type checkers.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def settings_from_env() -> Settings:
    return Settings()


class NothingMatched(Exception):
    """A command found nothing for what it was asked (exit 1, said on stderr)."""


def database_url(settings: Settings) -> str:
    """DATABASE_URL; without it, the database `ordergate dev` keeps in ORDERGATE_DATA_DIR
    (started for the command if `ordergate dev` is not running), said in one line on stderr."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    if not settings.is_production and dev_database_exists(settings.data_dir):
        dsn = open_dev_database(settings.data_dir)
        where = settings.data_dir.resolve()
        print(  # noqa: T201
            f"ordergate: DATABASE_URL is unset: using ordergate dev's database in {where}",
            file=sys.stderr,
        )
        return dsn
    if settings.is_production:
        raise ConfigurationError("DATABASE_URL is required for this command")
    raise ConfigurationError(
        "DATABASE_URL is required for this command (or run it where `ordergate dev` keeps its "
        f"data: ORDERGATE_DATA_DIR, now {settings.data_dir})"
    )


async def with_connection(dsn: str, work: Callable[[Connection], Awaitable[T]]) -> T:
    # Operator commands (reports, export, verify) may run long and pause in a pager.
    async with storage_errors():
        pool = await database.create_pool(
            dsn, min_size=1, max_size=1, bounds=database.OPERATOR_BOUNDS
        )
    try:
        async with storage_errors(), pool.acquire() as conn:
            return await work(conn)
    finally:
        await pool.close()


def cmd_audit_verify(_: argparse.Namespace) -> int:
    """Exit 0 when the hash chain is intact; otherwise name the first broken row."""
    result = asyncio.run(
        with_connection(database_url(settings_from_env()), lambda conn: audit.verify(conn=conn))
    )
    if result.intact:
        print(f"audit log intact: {result.checked} event(s) checked")  # noqa: T201
        return 0
    print(  # noqa: T201
        f"audit log BROKEN at seq {result.first_broken_seq}: {result.problem}", file=sys.stderr
    )
    return 1


async def _export(
    conn: Connection,
    *,
    order: OrderArgument | None,
    since: datetime | None,
    until: datetime | None,
) -> int:
    order_ids = None
    if order is not None:
        named = await order_ids_named(conn=conn, name=order.name) if order.name else []
        order_ids = sorted({*named, *([order.gid] if order.gid else [])})
    written = 0
    # A server-side cursor needs a transaction.
    async with conn.transaction():
        async for event in audit.export(conn=conn, order_ids=order_ids, since=since, until=until):
            sys.stdout.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")
            written += 1
    return written


def cmd_audit_export(args: argparse.Namespace) -> int:
    """Audit events as JSON lines, filtered by order and time; exit 1 when none matched."""
    settings = settings_from_env()
    since, until = _period(args, settings)
    order = typed_order(args.order, settings) if args.order is not None else None
    written = asyncio.run(
        with_connection(
            database_url(settings),
            lambda conn: _export(conn, order=order, since=since, until=until),
        )
    )
    if written == 0:
        raise NothingMatched(f"no audit events{f' for order {args.order}' if args.order else ''}")
    return 0


def typed_order(typed: str, settings: Settings, *, option: str = "--order") -> OrderArgument:
    """An order as a person typed it (`#1001`, `1001`, a gid), for every command that takes
    one (`customer_input.order_argument`); exit 2 when it cannot name an order."""
    order = order_argument(
        typed,
        prefix=settings.shopify_order_name_prefix,
        suffix=settings.shopify_order_name_suffix,
    )
    if order is None:
        raise ConfigurationError(f"{option} {typed!r} is not #1001, 1001 or an order gid")
    return order


def _month(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError("give a month as YYYY-MM, e.g. 2025-11") from None


def cmd_audit_prune(args: argparse.Namespace) -> int:
    """Drop whole audit partitions of months before `--before`; the chain head stays."""
    if args.before > datetime.now(UTC):
        raise ConfigurationError("--before lies in the future")
    dropped = asyncio.run(
        with_connection(
            database_url(settings_from_env()),
            lambda conn: audit.drop_partitions_before(conn=conn, cutoff=args.before),
        )
    )
    for name in dropped:
        print(f"dropped {name}")  # noqa: T201
    print(f"{len(dropped)} partition(s) before {args.before:%Y-%m} dropped")  # noqa: T201
    return 0


def cmd_report_cancellations(args: argparse.Namespace) -> int:
    """Cancellation requests by the customer's reason and status; refusals by reason."""
    settings = settings_from_env()
    since, until = _period(args, settings)
    until = until or datetime.now(UTC)
    since = since or until - REPORT_DEFAULT_PERIOD

    async def read(
        conn: Connection,
    ) -> tuple[list[reports.CancellationCount], list[reports.RefusalCount]]:
        made = await reports.cancellation_counts(conn=conn, since=since, until=until)
        refused = await reports.cancellation_refusals(conn=conn, since=since, until=until)
        return made, refused

    made, refused = asyncio.run(with_connection(database_url(settings), read))
    start, end = since.astimezone(UTC), until.astimezone(UTC)  # `today` is the shop's midnight
    print(f"cancellation requests {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")  # noqa: T201
    print(f"{'customer reason':<22} {'status':<24} {'requests':>8}")  # noqa: T201
    for row in made:
        print(f"{row.customer_reason:<22} {row.status:<24} {row.count:>8}")  # noqa: T201
    print(f"\nrefused (not eligible)\n{'reason':<47} {'orders':>8}")  # noqa: T201
    for refusal in refused:
        print(f"{refusal.reason:<47} {refusal.count:>8}")  # noqa: T201
    return 0


def cmd_report_not_received(args: argparse.Namespace) -> int:
    """Open not-received reports with their age, carrier and tracking number."""
    settings = settings_from_env()
    now = datetime.now(UTC)
    since = _period(args, settings)[0] or now - REPORT_DEFAULT_PERIOD
    rows = asyncio.run(
        with_connection(
            database_url(settings),
            lambda conn: reports.open_not_received(conn=conn, since=since, now=now),
        )
    )
    print(f"{'order':<12} {'age (days)':>10}  {'carrier':<12} tracking number")  # noqa: T201
    for row in rows:
        days = row.age.total_seconds() / 86400
        carrier, tracking = row.carrier or "-", row.tracking_number or "-"
        print(f"{row.order_name:<12} {days:>10.1f}  {carrier:<12} {tracking}")  # noqa: T201
    return 0


def _time_text(value: str) -> str:
    """A `--since`/`--until` as typed, refused at once when it is no time at all."""
    try:
        parse_when(value, now=datetime.now(UTC), zone=UTC)
    except TimeNotUnderstood as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _period(
    args: argparse.Namespace, settings: Settings
) -> tuple[datetime | None, datetime | None]:
    """`--since` and `--until` as moments; dates and `today` are midnight in the shop's zone."""
    zone = load_policy(settings.policy_file).cancellation.zone
    now = datetime.now(UTC)
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    return (
        parse_when(since, now=now, zone=zone) if since else None,
        parse_when(until, now=now, zone=zone) if until else None,
    )


DATABASE_ENV = (
    "Reads DATABASE_URL; without it, the database `ordergate dev` keeps in ORDERGATE_DATA_DIR "
    "(default .ordergate)."
)
TIME_HELP = f"{TIME_FORMS}; dates in the shop's time zone"


def add_command(
    commands: Commands,
    name: str,
    summary: str,
    *,
    environment: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand with its one line in the list above and a description of its own."""
    return commands.add_parser(name, help=summary, description=summary, epilog=environment)


def add_group(commands: Commands, name: str, summary: str) -> Commands:
    """A command made of subcommands (`audit verify`), one of which must be given."""
    group = add_command(commands, name, summary)
    return group.add_subparsers(dest=f"{name}_command", required=True)


def add_operator_commands(commands: Commands) -> None:
    """`audit verify | export` and `report cancellations | not-received`."""
    _audit_commands(commands)
    _report_commands(commands)


def _audit_commands(commands: Commands) -> None:
    audit_commands = add_group(commands, "audit", "read and check the tamper-evident audit log")
    add_command(
        audit_commands,
        "verify",
        "check the hash chain: exit 0 intact, 1 at the first broken row, 2 when it could not check",
        environment=DATABASE_ENV,
    ).set_defaults(run=cmd_audit_verify)
    export = add_command(
        audit_commands,
        "export",
        "audit events as JSON lines: exit 0 when some matched, 1 when none, 2 when it could not "
        "look",
        environment=DATABASE_ENV,
    )
    export.add_argument("--order", help="only this order: #1001, 1001 or gid://shopify/Order/…")
    export.add_argument("--since", type=_time_text, help=f"from this time ({TIME_HELP})")
    export.add_argument("--until", type=_time_text, help=f"before this time ({TIME_HELP})")
    export.set_defaults(run=cmd_audit_export)
    prune = add_command(
        audit_commands,
        "prune",
        "drop whole partitions of months before --before; the chain still verifies",
        environment=DATABASE_ENV,
    )
    prune.add_argument(
        "--before", required=True, type=_month, help="drop months before this one (YYYY-MM)"
    )
    prune.set_defaults(run=cmd_audit_prune)


def _report_commands(commands: Commands) -> None:
    report_commands = add_group(commands, "report", "merchant reports from ordergate's own records")
    cancellations = add_command(
        report_commands,
        "cancellations",
        "cancellation requests by the customer's reason and status, and refusals by reason",
        environment=DATABASE_ENV,
    )
    cancellations.add_argument(
        "--since", type=_time_text, help=f"default 30 days ago ({TIME_HELP})"
    )
    cancellations.add_argument("--until", type=_time_text, help=f"default now ({TIME_HELP})")
    cancellations.set_defaults(run=cmd_report_cancellations)
    not_received = add_command(
        report_commands,
        "not-received",
        "open not-received reports with their age, carrier and tracking number",
        environment=DATABASE_ENV,
    )
    not_received.add_argument("--since", type=_time_text, help=f"default 30 days ago ({TIME_HELP})")
    not_received.set_defaults(run=cmd_report_not_received)
