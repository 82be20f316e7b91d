"""The `ordergate` command line (dev, serve, migrate, audit, privacy, report, shopify, sandbox):
parse, then call."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette

from service.admin.errors import UpstreamUnavailable
from service.api.guard import MAX_HEAD_BYTES
from service.app import create_app
from service.client_address import parse_networks
from service.config import ConfigurationError, Settings
from service.connections import ConnectionLimits, guarded_protocol
from service.dev_database import open_dev_database
from service.listen_check import check_ports_free, exposure_warning
from service.logs import configure_logging
from service.operator_commands import (
    DATABASE_ENV,
    Commands,
    NothingMatched,
    add_command,
    add_group,
    add_operator_commands,
    database_url,
    settings_from_env,
    typed_order,
)
from service.policy import Policy, PolicyError, load_policy
from service.privacy_commands import add_privacy_commands
from service.sandbox.demo import DEMO_ORDERS
from service.sandbox.remote import SandboxNotRunning, StaffRequestRefused, request_staff_action
from service.sandbox.server import SANDBOX_STATE_FILE, STAFF_ACTIONS
from service.shopify_webhooks import COMPLIANCE_TOPICS, app_toml, check_url, subscribe_shop
from service.storage import StorageUnavailable, database

GRACEFUL_SHUTDOWN_SECONDS = 20
# An idle keep-alive connection holds one of its peer's connection slots; reconnecting is cheap.
KEEP_ALIVE_SECONDS = 5


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
    settings: Settings,
    *,
    policy: Policy | None = None,
    sandbox_state: Path | None = None,
    holder: str = "ordergate",
) -> None:
    configure_logging(settings.log_level)
    # uvicorn drains in-flight requests and runs the lifespan shutdown (audit queue flushed,
    # pools closed) on SIGTERM, then re-raises the signal into the handler it found: this one,
    # so a drained process exits 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    app = create_app(settings, policy=policy, sandbox_state=sandbox_state)
    # After the configuration's checks, before the lifespan opens anything.
    check_ports_free(settings, holder=holder)
    # The gateway carries every client's connections: it is exempt from the per-peer cap.
    connections = ConnectionLimits(trusted_proxies=parse_networks(settings.trusted_proxies))
    config = server_config(
        app, host=settings.listen_host, port=settings.port, connections=connections
    )
    uvicorn.Server(config).run()


def cmd_dev(_: argparse.Namespace) -> int:
    """Everything on embedded defaults: a laptop with nothing installed answers at once."""
    settings = settings_from_env().relaxed_for_dev()
    policy = load_policy(settings.policy_file)  # before starting anything
    check_ports_free(settings, holder="ordergate dev")
    warning = exposure_warning(settings.listen_host)
    if warning is not None:
        print(warning, file=sys.stderr)  # noqa: T201
    if settings.database_url is None:
        dsn = open_dev_database(settings.data_dir)
        settings = settings.model_copy(update={"database_url": SecretStr(dsn)})
    asyncio.run(database.migrate(database_url(settings)))
    if settings.secret_key is None:
        # Codes and queued mail are sealed with it: kept beside the data, so a restart of
        # `ordergate dev` can still deliver what it queued before.
        settings = settings.model_copy(update={"secret_key": _dev_secret(settings.data_dir)})
    if settings.uses_sandbox:
        _print_demo_orders(settings)
    state = settings.data_dir.resolve() / SANDBOX_STATE_FILE
    _serve(settings, policy=policy, sandbox_state=state, holder="ordergate dev")
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
    lines.append(f"Requests per client address: {settings.limit_per_client} (dev)")
    lines.append("Act as staff in the sandbox shop: ordergate sandbox staff cancel 1012")
    lines.append("Demo orders:")
    lines += [f"  {order.number:<7} {order.contact:<28} {order.state}" for order in DEMO_ORDERS]
    print("\n".join(lines), file=sys.stderr)  # noqa: T201


def cmd_serve(_: argparse.Namespace) -> int:
    """The production server; refuses the sandbox and a missing database in production."""
    _serve(settings_from_env())
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    """Apply pending migrations; safe from several replicas at once."""
    applied = asyncio.run(database.migrate(database_url(settings_from_env())))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")  # noqa: T201
    return 0


def cmd_shopify_webhooks(args: argparse.Namespace) -> int:
    """Subscribe the shop to the order topics of CONTRACT §6, or print them for shopify.app.toml."""
    settings = settings_from_env()
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
    settings = settings_from_env()
    state_file = settings.data_dir.resolve() / SANDBOX_STATE_FILE
    order = typed_order(args.order, settings, option="ORDER")
    try:
        typed = order.name or order.gid or args.order
        outcome = request_staff_action(state_file, args.action.replace("-", "_"), typed)
    except StaffRequestRefused as refused:
        print(f"ordergate: {refused}", file=sys.stderr)  # noqa: T201
        return 1
    except SandboxNotRunning as absent:
        print(f"ordergate: {absent}", file=sys.stderr)  # noqa: T201
        return 2
    webhooks = ", ".join(outcome.topics) or "none"
    print(f"{args.action} {outcome.order}: webhooks {webhooks}")  # noqa: T201
    return 0


def _shop_commands(commands: Commands) -> None:
    shopify_commands = add_group(commands, "shopify", "set up the shop's side of ordergate")
    webhooks = add_command(
        shopify_commands,
        "webhooks",
        "subscribe the shop to the order webhooks (idempotent), or print them for shopify.app.toml",
        environment="Reads SHOPIFY_SHOP and its credentials (SHOPIFY_ADMIN_TOKEN or "
        "SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET), SHOPIFY_API_VERSION.",
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
    sandbox_commands = add_group(commands, "sandbox", "the sandbox shop `ordergate dev` runs")
    staff = add_command(
        sandbox_commands,
        "staff",
        "act as the shop's staff on an order: the change and its webhooks, as in Shopify",
        environment="Reads ORDERGATE_DATA_DIR to find the running `ordergate dev`.",
    )
    # Help, README, errors and output spell the actions with hyphens; underscores still work.
    spelled = [action.replace("_", "-") for action in STAFF_ACTIONS]
    staff.add_argument(
        "action",
        type=lambda typed: typed.replace("_", "-"),
        choices=spelled,
        metavar="ACTION",
        help=", ".join(spelled),
    )
    staff.add_argument("order", metavar="ORDER", help="#1012, 1012 or gid://shopify/Order/…")
    staff.set_defaults(run=cmd_sandbox_staff)


DESCRIPTION = (
    "ordergate: order self-service for headless Shopify storefronts "
    "(look up, cancel, report not received)."
)
SERVER_ENV = (
    "Reads ORDERGATE_* (ORDERGATE_ENV, ORDERGATE_HOST, ORDERGATE_PORT, ORDERGATE_POLICY_FILE, "
    "…), DATABASE_URL, REDIS_URL, SHOPIFY_*, SMTP_URL: see the README's Configuration."
)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(
        prog="ordergate",
        description=DESCRIPTION,
        epilog="Configuration is environment variables; `ordergate COMMAND --help` names the "
        "ones each command reads.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_command(
        commands,
        "dev",
        "run on embedded defaults: Postgres, the sandbox shop, a mailbox at /dev/mail, GraphiQL",
        environment=SERVER_ENV + " Unset, each falls back to its embedded default.",
    ).set_defaults(run=cmd_dev)
    add_command(
        commands, "serve", "run the production server", environment=SERVER_ENV
    ).set_defaults(run=cmd_serve)
    add_command(
        commands,
        "migrate",
        "apply the database migrations (safe from several replicas at once)",
        environment=DATABASE_ENV,
    ).set_defaults(run=cmd_migrate)
    add_operator_commands(commands)
    add_privacy_commands(commands)
    _shop_commands(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ordergate` console script."""
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except NothingMatched as nothing:
        print(f"ordergate: {nothing}", file=sys.stderr)  # noqa: T201
        return 1
    except (ConfigurationError, PolicyError) as exc:
        print(f"ordergate: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except StorageUnavailable as down:
        print(f"ordergate: the database could not be reached ({down})", file=sys.stderr)  # noqa: T201
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
