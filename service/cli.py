"""`ordergate dev | serve | migrate | audit … | privacy … | report … | shopify webhooks |
sandbox staff`: parse, then call; no logic here."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import asyncpg
import uvicorn
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette

from service.admin.errors import UpstreamUnavailable
from service.api.guard import MAX_HEAD_BYTES
from service.app import create_app
from service.client_address import parse_networks
from service.config import ConfigurationError, Settings
from service.connections import ConnectionLimits, guarded_protocol
from service.customer_input import OrderArgument, order_argument
from service.embedded import start_embedded_postgres
from service.logs import configure_logging
from service.operator_shop import order_id_named
from service.orders.privacy import Privacy
from service.policy import Policy, PolicyError, load_policy
from service.sandbox.demo import DEMO_ORDERS
from service.sandbox.remote import SandboxNotRunning, StaffRequestRefused, request_staff_action
from service.sandbox.server import SANDBOX_STATE_FILE, STAFF_ACTIONS
from service.shopify_webhooks import COMPLIANCE_TOPICS, app_toml, check_url, subscribe_shop
from service.storage import audit, database, personal_data, reports
from service.storage.database import Connection

GRACEFUL_SHUTDOWN_SECONDS = 20
# An idle keep-alive connection holds one of its peer's connection slots; reconnecting is cheap.
KEEP_ALIVE_SECONDS = 5
REPORT_DEFAULT_PERIOD = timedelta(days=30)
T = TypeVar("T")


def _settings() -> Settings:
    return Settings()


def _require_database(settings: Settings) -> str:
    if settings.database_url is None:
        raise ConfigurationError("DATABASE_URL is required for this command")
    return settings.database_url.get_secret_value()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def server_config(
    app: Starlette,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    connections: ConnectionLimits | None = None,
) -> uvicorn.Config:
    """How uvicorn serves ordergate, in production and in the tests alike."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        # httptools with a deadline for each request to arrive, per-peer and total connection
        # caps, and a 400 for a head that grows past MAX_HEAD_BYTES while arriving in pieces
        # (service/connections.py). Not uvicorn's limit_concurrency: once reached, it answers
        # 503 to every client, the patient ones included.
        http=guarded_protocol(
            dataclasses.replace(connections or ConnectionLimits(), max_head_bytes=MAX_HEAD_BYTES)
        ),
        loop="uvloop",  # when uvicorn runs the loop (`ordergate serve`); tests bring their own
        ws="none",  # ordergate serves no WebSockets; an upgrade would leave the guarded protocol
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        # ordergate reads X-Forwarded-For itself, only from ORDERGATE_TRUSTED_PROXIES; uvicorn's
        # own handling trusts 127.0.0.1 by default and would let anyone on the host spoof it.
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def _serve(
    settings: Settings, *, policy: Policy | None = None, sandbox_state: Path | None = None
) -> None:
    configure_logging(settings.log_level)
    # uvicorn drains in-flight requests and runs the lifespan shutdown (audit queue flushed,
    # pools closed) on SIGTERM, then re-raises the signal into the handler it found: this one,
    # so a drained process exits 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    app = create_app(settings, policy=policy, sandbox_state=sandbox_state)
    # The gateway carries every client's connections: it is exempt from the per-peer cap.
    connections = ConnectionLimits(trusted_proxies=parse_networks(settings.trusted_proxies))
    config = server_config(
        app, host=settings.listen_host, port=settings.port, connections=connections
    )
    uvicorn.Server(config).run()


def cmd_dev(_: argparse.Namespace) -> int:
    """Everything on embedded defaults: a laptop with nothing installed answers at once."""
    settings = _settings()
    policy = load_policy(settings.policy_file)  # before starting anything
    if settings.database_url is None:
        server = start_embedded_postgres(settings.data_dir.resolve() / "postgres")
        dsn = asyncio.run(database.ensure_database(server, "ordergate"))
        settings = settings.model_copy(update={"database_url": SecretStr(dsn)})
    asyncio.run(database.migrate(_require_database(settings)))
    if settings.secret_key is None:
        # Codes and queued mail are sealed with it: kept beside the data, so a restart of
        # `ordergate dev` can still deliver what it queued before.
        settings = settings.model_copy(update={"secret_key": _dev_secret(settings.data_dir)})
    if settings.uses_sandbox:
        _print_demo_orders(settings)
    state = settings.data_dir.resolve() / SANDBOX_STATE_FILE
    _serve(settings, policy=policy, sandbox_state=state)
    return 0


def _dev_secret(data_dir: Path) -> SecretStr:
    path = data_dir.resolve() / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return SecretStr(path.read_text(encoding="utf-8").strip())


def _print_demo_orders(settings: Settings) -> None:
    base = f"http://{settings.listen_host}:{settings.port}"
    url, mail = f"{base}/graphql", f"{base}/dev/mail"
    lines = [f"ordergate dev: the demo storefront on {base}/, GraphiQL on {url}, the sandbox shop."]
    if settings.smtp_url is None:
        lines.append(f"Customer e-mail (codes, receipts) lands in the embedded mailbox: {mail}")
    lines.append("Act as staff in the sandbox shop: ordergate sandbox staff cancel 1012")
    lines.append("Demo orders:")
    lines += [f"  {order.number:<7} {order.contact:<28} {order.state}" for order in DEMO_ORDERS]
    print("\n".join(lines), file=sys.stderr)  # noqa: T201


def cmd_serve(_: argparse.Namespace) -> int:
    """The production server; refuses the sandbox and a missing database in production."""
    _serve(_settings())
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    """Apply pending migrations; safe from several replicas at once."""
    applied = asyncio.run(database.migrate(_require_database(_settings())))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")  # noqa: T201
    return 0


async def _with_connection(dsn: str, work: Callable[[Connection], Awaitable[T]]) -> T:
    # Operator commands (reports, export, verify) may run long and pause in a pager.
    pool = await database.create_pool(dsn, min_size=1, max_size=1, bounds=database.OPERATOR_BOUNDS)
    try:
        async with pool.acquire() as conn:
            return await work(conn)
    finally:
        await pool.close()


def cmd_audit_verify(_: argparse.Namespace) -> int:
    """Exit 0 when the hash chain is intact; otherwise name the first broken row."""
    result = asyncio.run(
        _with_connection(_require_database(_settings()), lambda conn: audit.verify(conn=conn))
    )
    if result.intact:
        print(f"audit log intact: {result.checked} event(s) checked")  # noqa: T201
        return 0
    print(  # noqa: T201
        f"audit log BROKEN at seq {result.first_broken_seq}: {result.problem}", file=sys.stderr
    )
    return 1


async def _export(conn: Connection, args: argparse.Namespace) -> None:
    # A server-side cursor needs a transaction.
    async with conn.transaction():
        async for event in audit.export(
            conn=conn, order_id=args.order, since=args.since, until=args.until
        ):
            sys.stdout.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")


def cmd_audit_export(args: argparse.Namespace) -> int:
    """Audit events as JSON lines, filtered by order and time."""
    asyncio.run(_with_connection(_require_database(_settings()), lambda conn: _export(conn, args)))
    return 0


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
        _with_connection(
            _require_database(_settings()),
            lambda conn: audit.drop_partitions_before(conn=conn, cutoff=args.before),
        )
    )
    for name in dropped:
        print(f"dropped {name}")  # noqa: T201
    print(f"{len(dropped)} partition(s) before {args.before:%Y-%m} dropped")  # noqa: T201
    return 0


def _order_argument(settings: Settings) -> Callable[[str], OrderArgument]:
    def parse(typed: str) -> OrderArgument:
        parsed = order_argument(
            typed,
            prefix=settings.shopify_order_name_prefix,
            suffix=settings.shopify_order_name_suffix,
        )
        if parsed is None:
            raise ConfigurationError(f"--order {typed!r} is not #1001, 1001 or an order gid")
        return parsed

    return parse


async def _order_id(settings: Settings, pool: asyncpg.Pool, typed: str) -> str:
    """The gid of the order typed: as given, else by name from the requests held, else from
    the shop itself (an order only ever looked up)."""
    argument = _order_argument(settings)(typed)
    if argument.gid is not None:
        return argument.gid
    assert argument.name is not None
    async with pool.acquire() as conn:
        named = await personal_data.order_ids_named(conn=conn, name=argument.name)
    if len(named) == 1:
        return named[0]
    found = None
    if not settings.uses_sandbox:
        try:
            found = await order_id_named(settings, argument.name)
        except UpstreamUnavailable as error:
            raise ConfigurationError(
                f"the shop could not be reached ({error}): give a gid"
            ) from None
    if found is None:
        raise ConfigurationError(f"no order named {argument.name} found: give its gid")
    return found


async def _privacy(typed: str, work: Callable[[Privacy, str], Awaitable[T]]) -> T:
    settings = _settings()
    pool = await database.create_pool(
        _require_database(settings), min_size=1, max_size=1, bounds=database.OPERATOR_BOUNDS
    )
    try:
        order_id = await _order_id(settings, pool, typed)
        return await work(Privacy(pool=pool, clock=lambda: datetime.now(UTC)), order_id)
    finally:
        await pool.close()


def cmd_privacy_export(args: argparse.Namespace) -> int:
    """Everything ordergate holds on one order, as one JSON document."""
    document = asyncio.run(_privacy(args.order, lambda privacy, order_id: privacy.export(order_id)))
    print(json.dumps(document, default=str, ensure_ascii=False, indent=2))  # noqa: T201
    return 0


def cmd_privacy_redact(args: argparse.Namespace) -> int:
    """Erase the personal data held on one order, as a customers/redact webhook does."""

    async def redact(privacy: Privacy, order_id: str) -> tuple[str, personal_data.Erased]:
        return order_id, await privacy.erase_orders([order_id], reason="privacy redact")

    order_id, erased = asyncio.run(_privacy(args.order, redact))
    counts = ", ".join(f"{name} {count}" for name, count in erased.as_details().items())
    print(f"erased the personal data of {order_id}: {counts}")  # noqa: T201
    return 0


def cmd_report_cancellations(args: argparse.Namespace) -> int:
    """Counts of cancellation requests by the customer's reason and outcome."""
    until = args.until or datetime.now(UTC)
    since = args.since or until - REPORT_DEFAULT_PERIOD
    counts = asyncio.run(
        _with_connection(
            _require_database(_settings()),
            lambda conn: reports.cancellation_counts(conn=conn, since=since, until=until),
        )
    )
    print(f"cancellation requests {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC")  # noqa: T201
    print(f"{'customer reason':<22} {'outcome':<24} {'count':>6}")  # noqa: T201
    for row in counts:
        print(f"{row.customer_reason:<22} {row.outcome:<24} {row.count:>6}")  # noqa: T201
    return 0


def cmd_report_not_received(args: argparse.Namespace) -> int:
    """Open not-received reports with their age, carrier and tracking number."""
    now = datetime.now(UTC)
    since = args.since or now - REPORT_DEFAULT_PERIOD
    rows = asyncio.run(
        _with_connection(
            _require_database(_settings()),
            lambda conn: reports.open_not_received(conn=conn, since=since, now=now),
        )
    )
    print(f"{'order':<12} {'age (days)':>10}  {'carrier':<12} tracking number")  # noqa: T201
    for row in rows:
        days = row.age.total_seconds() / 86400
        carrier, tracking = row.carrier or "-", row.tracking_number or "-"
        print(f"{row.order_name:<12} {days:>10.1f}  {carrier:<12} {tracking}")  # noqa: T201
    return 0


def cmd_shopify_webhooks(args: argparse.Namespace) -> int:
    """Subscribe the shop to the order topics of CONTRACT §6, or print them for shopify.app.toml."""
    settings = _settings()
    url = check_url(args.url)
    if args.toml:
        print(app_toml(url=url, api_version=settings.shopify_api_version), end="")  # noqa: T201
        return 0
    try:
        report = asyncio.run(subscribe_shop(settings, url=url))
    except UpstreamUnavailable as error:
        # Our own description (kind, operation, codes); never Shopify's text.
        print(f"ordergate: the shop could not be reached: {error}", file=sys.stderr)  # noqa: T201
        return 2
    for topic in report.created:
        print(f"created   {topic}")  # noqa: T201
    for topic in report.existing:
        print(f"existing  {topic}")  # noqa: T201
    for topic, fields in report.refused:
        print(f"refused   {topic} ({', '.join(fields) or 'no field named'})")  # noqa: T201
    print(  # noqa: T201
        f"{len(report.created)} created, {len(report.existing)} already there. The compliance "
        f"topics ({', '.join(COMPLIANCE_TOPICS)}) can only be declared in the app "
        "configuration: see --toml.",
        file=sys.stderr,
    )
    return 1 if report.refused else 0


def cmd_sandbox_staff(args: argparse.Namespace) -> int:
    """Act as the sandbox shop's staff on an order, in the sandbox `ordergate dev` runs."""
    state_file = _settings().data_dir.resolve() / SANDBOX_STATE_FILE
    try:
        outcome = request_staff_action(state_file, args.action.replace("-", "_"), args.order)
    except StaffRequestRefused as refused:
        print(f"ordergate: {refused}", file=sys.stderr)  # noqa: T201
        return 1
    except SandboxNotRunning as absent:
        print(f"ordergate: {absent}", file=sys.stderr)  # noqa: T201
        return 2
    webhooks = ", ".join(outcome.topics) or "none"
    print(f"{outcome.action} {outcome.order}: webhooks {webhooks}")  # noqa: T201
    return 0


def _timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-11-01T00:00:00+00:00")
    return parsed


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="ordergate", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", help="run on embedded defaults").set_defaults(run=cmd_dev)
    commands.add_parser("serve", help="run the production server").set_defaults(run=cmd_serve)
    commands.add_parser("migrate", help="apply db/ migrations").set_defaults(run=cmd_migrate)
    audit_parser = commands.add_parser("audit", help="the audit log")
    audit_commands = audit_parser.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser("verify", help="check the hash chain").set_defaults(
        run=cmd_audit_verify
    )
    export = audit_commands.add_parser("export", help="events as JSON lines")
    export.add_argument("--order", help="only this order (a gid://shopify/Order/… id)")
    export.add_argument("--since", type=_timestamp, help="from this time (ISO 8601)")
    export.add_argument("--until", type=_timestamp, help="before this time (ISO 8601)")
    export.set_defaults(run=cmd_audit_export)
    prune = audit_commands.add_parser("prune", help="drop whole partitions of old months")
    prune.add_argument(
        "--before", required=True, type=_month, help="drop months before this one (YYYY-MM)"
    )
    prune.set_defaults(run=cmd_audit_prune)
    privacy = commands.add_parser("privacy", help="personal data held on an order (CONTRACT §7)")
    privacy_commands = privacy.add_subparsers(dest="privacy_command", required=True)
    for name, run, text in (
        ("export", cmd_privacy_export, "everything held on the order, as JSON"),
        ("redact", cmd_privacy_redact, "erase the personal data held on the order"),
    ):
        command = privacy_commands.add_parser(name, help=text)
        command.add_argument("--order", required=True, help="#1001, 1001 or a gid")
        command.set_defaults(run=run)
    report = commands.add_parser("report", help="merchant reports")
    report_commands = report.add_subparsers(dest="report_command", required=True)
    cancellations = report_commands.add_parser(
        "cancellations", help="cancellation requests by customer reason and outcome"
    )
    cancellations.add_argument("--since", type=_timestamp, help="from this time (default: 30 days)")
    cancellations.add_argument("--until", type=_timestamp, help="before this time (default: now)")
    cancellations.set_defaults(run=cmd_report_cancellations)
    not_received = report_commands.add_parser("not-received", help="open not-received reports")
    not_received.add_argument("--since", type=_timestamp, help="reported since (default: 30 days)")
    not_received.set_defaults(run=cmd_report_not_received)
    shopify = commands.add_parser("shopify", help="the shop's side of ordergate")
    shopify_commands = shopify.add_subparsers(dest="shopify_command", required=True)
    webhooks = shopify_commands.add_parser(
        "webhooks", help="subscribe the shop to the order webhooks (idempotent)"
    )
    webhooks.add_argument(
        "--url",
        required=True,
        help="ordergate's public URL for them, e.g. https://…/webhooks/shopify",
    )
    webhooks.add_argument(
        "--toml",
        action="store_true",
        help="print the [webhooks] section for shopify.app.toml instead (compliance topics too)",
    )
    webhooks.set_defaults(run=cmd_shopify_webhooks)
    sandbox = commands.add_parser("sandbox", help="the sandbox shop `ordergate dev` runs")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    staff = sandbox_commands.add_parser(
        "staff", help="act as the shop's staff: the change and its webhooks, as in Shopify"
    )
    actions = [
        *STAFF_ACTIONS,
        *(action.replace("_", "-") for action in STAFF_ACTIONS if "_" in action),
    ]
    staff.add_argument("action", choices=actions, metavar="ACTION", help=", ".join(STAFF_ACTIONS))
    staff.add_argument("order", metavar="ORDER", help="e.g. 1012, #1012 or a gid")
    staff.set_defaults(run=cmd_sandbox_staff)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ordergate` console script."""
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (ConfigurationError, PolicyError) as exc:
        print(f"ordergate: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except ValidationError as exc:
        print(f"ordergate: invalid configuration: {_summarise(exc)}", file=sys.stderr)  # noqa: T201
        return 2
    return code


def _summarise(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
    )


if __name__ == "__main__":
    sys.exit(main())
