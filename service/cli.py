"""`ordergate dev | serve | migrate | audit verify | audit export`: parse, then call."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime

import uvicorn
from pydantic import SecretStr, ValidationError

from service import audit, database
from service.app import create_app
from service.config import ConfigurationError, Settings
from service.embedded import start_embedded_postgres
from service.logs import configure_logging
from service.merchant_policy import PolicyError, load_policy
from service.sandbox.demo import DEMO_ORDERS

GRACEFUL_SHUTDOWN_SECONDS = 20


def _settings() -> Settings:
    return Settings()


def _require_database(settings: Settings) -> str:
    if settings.database_url is None:
        raise ConfigurationError("DATABASE_URL is required for this command")
    return settings.database_url.get_secret_value()


def _serve(settings: Settings) -> None:
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.listen_host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def cmd_dev(_: argparse.Namespace) -> int:
    """Everything on embedded defaults: a laptop with nothing installed answers at once."""
    settings = _settings()
    load_policy(settings.policy_file)
    if settings.database_url is None:
        server = start_embedded_postgres(settings.data_dir.resolve() / "postgres")
        dsn = asyncio.run(database.ensure_database(server, "ordergate"))
        settings = settings.model_copy(update={"database_url": SecretStr(dsn)})
    asyncio.run(database.migrate(_require_database(settings)))
    if settings.uses_sandbox:
        _print_demo_orders(settings)
    _serve(settings)
    return 0


def _print_demo_orders(settings: Settings) -> None:
    url = f"http://{settings.listen_host}:{settings.port}/graphql"
    lines = [f"ordergate dev: GraphiQL on {url} with the sandbox shop. Demo orders:"]
    lines += [f"  {order.number:<7} {order.contact:<28} {order.state}" for order in DEMO_ORDERS]
    print("\n".join(lines), file=sys.stderr)  # noqa: T201


def cmd_serve(_: argparse.Namespace) -> int:
    """The production server; refuses the sandbox and a missing database in production."""
    settings = _settings()
    settings.check_production()
    load_policy(settings.policy_file)
    _serve(settings)
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    """Apply pending migrations; safe from several replicas at once."""
    applied = asyncio.run(database.migrate(_require_database(_settings())))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")  # noqa: T201
    return 0


async def _verify(dsn: str) -> audit.VerifyResult:
    pool = await database.create_pool(dsn, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await audit.verify(conn=conn)
    finally:
        await pool.close()


def cmd_audit_verify(_: argparse.Namespace) -> int:
    """Exit 0 when the hash chain is intact; otherwise name the first broken row."""
    result = asyncio.run(_verify(_require_database(_settings())))
    if result.intact:
        print(f"audit log intact: {result.checked} event(s) checked")  # noqa: T201
        return 0
    print(  # noqa: T201
        f"audit log BROKEN at seq {result.first_broken_seq}: {result.problem}", file=sys.stderr
    )
    return 1


async def _export(dsn: str, args: argparse.Namespace) -> int:
    pool = await database.create_pool(dsn, min_size=1, max_size=1)
    count = 0
    try:
        async with pool.acquire() as conn, conn.transaction():
            async for event in audit.export(
                conn=conn, order_id=args.order, since=args.since, until=args.until
            ):
                sys.stdout.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")
                count += 1
    finally:
        await pool.close()
    return count


def cmd_audit_export(args: argparse.Namespace) -> int:
    """Audit events as JSON lines, filtered by order and time."""
    asyncio.run(_export(_require_database(_settings()), args))
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
