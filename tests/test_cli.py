"""The `ordergate` command as operators run it: a real process against a real database."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from service.listen_check import exposure_warning
from service.models import OrderSnapshot
from service.order_cache import OrderCache
from service.runtime import redis_scope
from service.sandbox.demo import ORDER_ID_BASE
from service.sandbox.server import SANDBOX_STATE_FILE, SandboxShop, start_sandbox
from service.shopify_webhooks import ORDER_TOPICS
from service.storage import audit
from tests.conftest import DatabaseFactory
from tests.sandbox.webhook_receiver import running_receiver
from tests.test_order_cache import full_snapshot

ORDERGATE = [sys.executable, "-m", "service.cli"]
# Never the developer's own `ordergate dev` data (`.ordergate` in the clone): without
# DATABASE_URL the commands would use its database.
NO_DATA_DIR = str(Path(tempfile.gettempdir()) / "ordergate-tests-no-data-dir")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(
        ("ORDERGATE_", "SHOPIFY_", "DATABASE_URL", "REDIS_URL"))}  # fmt: skip
    environment["ORDERGATE_DATA_DIR"] = NO_DATA_DIR
    environment.update(env or {})
    return subprocess.run(
        [*ORDERGATE, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def audited_database(make_database: DatabaseFactory) -> str:
    dsn = await make_database()
    conn = await asyncpg.connect(dsn)
    try:
        events = [
            audit.AuditEvent(
                operation="requestCancellation",
                request_id=f"r{index}",
                client_address="127.0.0.1",
                order_id=f"gid://shopify/Order/{index % 2}",
                outcome="NOT_ELIGIBLE" if index % 2 else "PROCESSING",
                reason="WINDOW_CLOSED" if index % 2 else None,
                details={"customer_reason": "CHANGED_MIND"},
            )
            for index in range(4)
        ]
        await audit.append(conn=conn, events=events)
    finally:
        await conn.close()
    return dsn


def test_migrate_is_idempotent(audited_database: str) -> None:
    result = run("migrate", env={"DATABASE_URL": audited_database})
    assert result.returncode == 0, result.stderr
    assert "none pending" in result.stdout


def test_audit_verify_passes_an_intact_chain(audited_database: str) -> None:
    result = run("audit", "verify", env={"DATABASE_URL": audited_database})
    assert result.returncode == 0, result.stderr
    assert "4 event(s)" in result.stdout


async def test_audit_verify_names_the_first_edited_row(audited_database: str) -> None:
    conn = await asyncpg.connect(audited_database)
    try:
        async with conn.transaction():
            await conn.execute("set local session_replication_role = replica")
            await conn.execute("update audit_events set outcome = 'CANCELLED' where seq = 3")
    finally:
        await conn.close()
    result = run("audit", "verify", env={"DATABASE_URL": audited_database})
    assert result.returncode == 1
    assert "seq 3" in result.stderr


def test_audit_export_filters_by_order(audited_database: str) -> None:
    result = run(
        "audit",
        "export",
        "--order",
        "gid://shopify/Order/1",
        env={"DATABASE_URL": audited_database},
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert {line["order_id"] for line in lines} == {"gid://shopify/Order/1"}


def test_privacy_redact_takes_a_gid_and_the_chain_still_verifies(audited_database: str) -> None:
    env = {"DATABASE_URL": audited_database}
    redact = run("privacy", "redact", "--order", "gid://shopify/Order/1", env=env)
    assert redact.returncode == 0, redact.stderr
    assert "audit_rows 2" in redact.stdout
    exported = json.loads(
        run("privacy", "export", "--order", "gid://shopify/Order/1", env=env).stdout
    )
    assert [e["client_address"] for e in exported["audit_events"]] == [None, None, None]
    assert "4 event(s)" not in run("audit", "verify", env=env).stdout  # the erasure is audited
    assert run("audit", "verify", env=env).returncode == 0


def test_privacy_commands_refuse_what_is_not_an_order(audited_database: str) -> None:
    result = run(
        "privacy", "export", "--order", "ada@example.com", env={"DATABASE_URL": audited_database}
    )
    assert result.returncode == 2
    assert "not #1001, 1001 or an order gid" in result.stderr


def test_audit_prune_drops_past_months_and_verify_passes(audited_database: str) -> None:
    env = {"DATABASE_URL": audited_database}
    result = run("audit", "prune", "--before", "2020-01", env=env)
    assert result.returncode == 0, result.stderr
    assert "0 partition(s) before 2020-01 dropped" in result.stdout
    assert run("audit", "prune", "--before", "2999-01", env=env).returncode == 2


def test_report_not_received_lists_nothing_on_an_empty_shop(audited_database: str) -> None:
    result = run("report", "not-received", env={"DATABASE_URL": audited_database})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_bad_policy_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("cancellation:\n  window_minutes: 30\n  cutoff: '14:00'\n")
    result = run("serve", env={"ORDERGATE_POLICY_FILE": str(policy)})
    assert result.returncode == 2
    assert "cancellation.cutoff: unknown key" in result.stderr


@pytest.mark.parametrize(
    ("yaml_text", "named"),
    [
        ("cancellation:\n  timezone: Mars/Olympus\n", "cancellation.timezone"),
        ("cancellation:\n  fulfillment_cutoff: '25:00'\n", "cancellation.fulfillment_cutoff"),
        ("not_received:\n  report_window_days: -1\n", "not_received.report_window_days"),
    ],
)
def test_bad_policy_values_are_named(tmp_path: Path, yaml_text: str, named: str) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml_text)
    result = run("serve", env={"ORDERGATE_POLICY_FILE": str(policy)})
    assert result.returncode == 2
    assert named in result.stderr


def test_production_refuses_the_sandbox_and_a_missing_database() -> None:
    result = run("serve", env={"ORDERGATE_ENV": "production"})
    assert result.returncode == 2
    assert "DATABASE_URL is required" in result.stderr
    assert "SHOPIFY_SHOP is required" in result.stderr


def test_production_refuses_to_start_without_the_secret_key() -> None:
    result = run("serve", env={"ORDERGATE_ENV": "production"})
    assert result.returncode == 2
    assert "ORDERGATE_SECRET_KEY is required in production" in result.stderr


def test_short_secret_key_stops_start_up_naming_it() -> None:
    result = run("serve", env={"ORDERGATE_SECRET_KEY": "too-short"})
    assert result.returncode == 2
    assert "ORDERGATE_SECRET_KEY: Value error, must be at least 32 characters" in result.stderr


def test_bad_smtp_url_stops_start_up_naming_it_without_repeating_it() -> None:
    result = run("serve", env={"SMTP_URL": "http://orders:hunter2-secret@relay.example"})
    assert result.returncode == 2
    assert "SMTP_URL: Value error, must start with smtp://" in result.stderr
    assert "hunter2-secret" not in result.stderr


@pytest.mark.parametrize(
    ("metrics_port", "named"),
    [
        ("70000", "ORDERGATE_METRICS_PORT"),
        ("8000", "ORDERGATE_METRICS_PORT must differ from ORDERGATE_PORT"),
    ],
    ids=["out-of-range", "the-public-port"],
)
def test_bad_metrics_port_stops_start_up_naming_it(metrics_port: str, named: str) -> None:
    result = run("serve", env={"ORDERGATE_METRICS_PORT": metrics_port})
    assert result.returncode == 2
    assert named in result.stderr


async def run_beside(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the command without blocking the event loop, so a sandbox in this test answers it."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(
        ("ORDERGATE_", "SHOPIFY_", "DATABASE_URL", "REDIS_URL"))}  # fmt: skip
    environment["ORDERGATE_DATA_DIR"] = NO_DATA_DIR
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        *ORDERGATE,
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return subprocess.CompletedProcess(
        [*ORDERGATE, *args], process.returncode, stdout.decode(), stderr.decode()
    )


WEBHOOK_URL = "https://ordergate.example/webhooks/shopify"


def test_shopify_webhooks_toml_declares_the_order_and_compliance_topics() -> None:
    result = run("shopify", "webhooks", "--url", WEBHOOK_URL, "--toml")

    assert result.returncode == 0, result.stderr
    config = tomllib.loads(result.stdout)
    webhooks = config["webhooks"]
    assert webhooks["api_version"] == "2026-10"
    orders, compliance = webhooks["subscriptions"]
    assert set(orders["topics"]) == set(ORDER_TOPICS)
    assert len(orders["topics"]) == 8
    assert orders["uri"] == WEBHOOK_URL
    assert compliance["compliance_topics"] == [
        "customers/data_request",
        "customers/redact",
        "shop/redact",
    ]
    assert compliance["uri"] == WEBHOOK_URL
    assert "topics" not in compliance


def test_shopify_webhooks_refuses_a_plain_http_url() -> None:
    result = run("shopify", "webhooks", "--url", "http://ordergate.example/webhooks/shopify")

    assert result.returncode == 2
    assert "https://" in result.stderr


def test_shopify_webhooks_needs_a_shop() -> None:
    result = run("shopify", "webhooks", "--url", WEBHOOK_URL)

    assert result.returncode == 2
    assert "SHOPIFY_SHOP" in result.stderr


async def test_shopify_webhooks_subscribes_the_order_topics_once(sandbox: SandboxShop) -> None:
    env = {"SHOPIFY_ADMIN_ENDPOINT": sandbox.endpoint, "SHOPIFY_ADMIN_TOKEN": sandbox.admin_token}

    first = await run_beside("shopify", "webhooks", "--url", WEBHOOK_URL, env=env)
    again = await run_beside("shopify", "webhooks", "--url", WEBHOOK_URL, env=env)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    subscribed = {(each.topic, each.uri) for each in sandbox.store.subscriptions}
    assert subscribed == {(topic.replace("/", "_").upper(), WEBHOOK_URL) for topic in ORDER_TOPICS}
    assert len(sandbox.store.subscriptions) == 8
    assert first.stdout.count("created") == 8
    assert again.stdout.count("created") == 0
    assert again.stdout.count("existing") == 8
    assert "compliance topics" in again.stderr
    assert len(sandbox.mutations("WebhookSubscriptionCreate")) == 8


async def test_shopify_webhooks_adds_only_the_missing_topics(sandbox: SandboxShop) -> None:
    sandbox.store.subscribe(topic="REFUNDS_CREATE", uri=WEBHOOK_URL)
    env = {"SHOPIFY_ADMIN_ENDPOINT": sandbox.endpoint, "SHOPIFY_ADMIN_TOKEN": sandbox.admin_token}

    result = await run_beside("shopify", "webhooks", "--url", WEBHOOK_URL, env=env)

    assert result.returncode == 0, result.stderr
    assert "existing  refunds/create" in result.stdout
    assert len(sandbox.mutations("WebhookSubscriptionCreate")) == 7
    assert len(sandbox.store.subscriptions) == 8


async def test_sandbox_staff_acts_on_the_running_sandbox(tmp_path: Path) -> None:
    async with running_receiver() as receiver:
        sandbox = await start_sandbox(
            state_file=tmp_path / SANDBOX_STATE_FILE, webhook_url=receiver.url
        )
        try:
            env = {"ORDERGATE_DATA_DIR": str(tmp_path)}
            result = await run_beside("sandbox", "staff", "cancel", "#1012", env=env)
            await sandbox.webhooks.drain()
        finally:
            await sandbox.close()

    assert result.returncode == 0, result.stderr
    assert "cancel #1012" in result.stdout
    assert "orders/cancelled" in result.stdout
    assert sandbox.store.order_named("#1012").cancelled_at is not None
    assert all(each.signed_with(sandbox.client_secret) for each in receiver.received)
    assert "orders/cancelled" in receiver.topics()


async def test_sandbox_staff_says_why_staff_cannot(tmp_path: Path) -> None:
    sandbox = await start_sandbox(state_file=tmp_path / SANDBOX_STATE_FILE)
    try:
        order = sandbox.store.order_named("#1001")
        env = {"ORDERGATE_DATA_DIR": str(tmp_path)}
        result = await run_beside("sandbox", "staff", "mark-delivered", order.gid, env=env)
    finally:
        await sandbox.close()

    assert result.returncode == 1
    assert "#1001: no shipment under way" in result.stderr


def test_sandbox_staff_without_a_running_sandbox(tmp_path: Path) -> None:
    result = run("sandbox", "staff", "cancel", "1012", env={"ORDERGATE_DATA_DIR": str(tmp_path)})

    assert result.returncode == 2
    assert "start `ordergate dev` first" in result.stderr


async def test_privacy_redact_finds_an_order_only_looked_up_in_the_shop(
    sandbox: SandboxShop, make_database: DatabaseFactory
) -> None:
    dsn = await make_database()
    gid = f"gid://shopify/Order/{ORDER_ID_BASE + 1001}"  # #1001 in the sandbox shop
    conn = await asyncpg.connect(dsn)
    try:
        looked_up = audit.AuditEvent("orderStatus", "r1", "198.51.100.44", gid)
        await audit.append(conn=conn, events=[looked_up])
    finally:
        await conn.close()
    env = {
        "DATABASE_URL": dsn,
        "SHOPIFY_ADMIN_ENDPOINT": sandbox.endpoint,
        "SHOPIFY_ADMIN_TOKEN": sandbox.admin_token,
    }

    result = await run_beside("privacy", "redact", "--order", "#1001", env=env)

    assert result.returncode == 0, result.stderr
    assert f"erased the personal data of {gid}: audit_rows 1" in result.stdout


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another server listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_second_dev_on_a_taken_port_stops_in_one_line_and_leaves_the_first_alone(
    tmp_path: Path, taken_port: int
) -> None:
    # The running dev's sandbox.json: a second dev used to start its own sandbox (overwriting
    # it), fail at its bind with exit 3, and remove the file on the way out.
    state = tmp_path / SANDBOX_STATE_FILE
    state.write_text('{"url": "http://127.0.0.1:1", "pid": 1}\n')
    env = {"ORDERGATE_DATA_DIR": str(tmp_path), "ORDERGATE_PORT": str(taken_port)}

    result = run("dev", env=env)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"ordergate: 127.0.0.1:{taken_port} is in use (another ordergate dev?): set ORDERGATE_PORT"
    ]
    assert state.read_text() == '{"url": "http://127.0.0.1:1", "pid": 1}\n'
    assert not (tmp_path / "postgres").exists()  # nothing started


@pytest.mark.parametrize("command", ["dev", "serve"])
def test_a_taken_metrics_port_stops_start_up_in_one_line(
    tmp_path: Path, taken_port: int, command: str
) -> None:
    env = {
        "ORDERGATE_DATA_DIR": str(tmp_path),
        "ORDERGATE_PORT": "0",
        "ORDERGATE_METRICS_PORT": str(taken_port),
    }

    result = run(command, env=env)

    holder = "ordergate dev" if command == "dev" else "ordergate"
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"ordergate: 127.0.0.1:{taken_port} is in use (another {holder}?): "
        "set ORDERGATE_METRICS_PORT"
    ]


def test_serve_on_a_taken_port_stops_in_one_line(taken_port: int) -> None:
    result = run("serve", env={"ORDERGATE_PORT": str(taken_port), "ORDERGATE_METRICS_PORT": "0"})

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"ordergate: 127.0.0.1:{taken_port} is in use (another ordergate?): set ORDERGATE_PORT"
    ]


@pytest.mark.parametrize(
    ("host", "warned"),
    [("127.0.0.1", False), ("localhost", False), ("::1", False), ("0.0.0.0", True),
     ("::", True), ("192.0.2.10", True), ("devbox.lan", True)],
)  # fmt: skip
def test_dev_warns_when_it_listens_beyond_loopback(host: str, warned: bool) -> None:
    warning = exposure_warning(host)

    assert (warning is not None) is warned
    if warning is not None:
        assert "/dev/mail" in warning
        assert "reachable from the network" in warning


def test_serve_on_an_address_this_machine_lacks_names_ordergate_host() -> None:
    env = {"ORDERGATE_HOST": "192.0.2.1", "ORDERGATE_PORT": "8000", "ORDERGATE_METRICS_PORT": "0"}
    result = run("serve", env=env)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "ordergate: cannot listen on 192.0.2.1:8000 (Cannot assign requested address): "
        "set ORDERGATE_HOST"
    ]


@pytest.mark.parametrize("command", ["export", "redact"])
def test_privacy_on_a_name_ordergate_never_saw_says_it_holds_nothing(
    audited_database: str, command: str
) -> None:
    # Dev (no SHOPIFY_SHOP): no shop is asked; the name was never looked up or requested.
    result = run("privacy", command, "--order", "#1003", env={"DATABASE_URL": audited_database})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "ordergate: ordergate holds nothing on an order named #1003 "
        "(no request or lookup of it is recorded)"
    )


async def test_sandbox_staff_speaks_with_hyphens_and_takes_underscores(tmp_path: Path) -> None:
    sandbox = await start_sandbox(state_file=tmp_path / SANDBOX_STATE_FILE)
    try:
        env = {"ORDERGATE_DATA_DIR": str(tmp_path)}
        done = await run_beside("sandbox", "staff", "release_hold", "#1006", env=env)
        wrong = await run_beside("sandbox", "staff", "bogus", "#1006", env=env)
    finally:
        await sandbox.close()

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("release-hold #1006: webhooks")
    assert wrong.returncode == 2
    assert "'release-hold'" in wrong.stderr
    assert "_" not in wrong.stderr.split("choose from", 1)[1]


async def test_privacy_redact_drops_the_servers_cached_snapshot_through_redis(
    audited_database: str, redis_url: str
) -> None:
    # The servers cached #1001 (its e-mail and phone in it) under the shop's scope in Redis.
    endpoint = f"http://127.0.0.1:9/{uuid.uuid4()}/graphql.json"
    conn = await asyncpg.connect(audited_database)
    try:
        looked_up = audit.AuditEvent(
            operation="orderStatus",
            request_id="r-lookup",
            client_address="127.0.0.1",
            order_id="gid://shopify/Order/1",
            outcome="OK",
            details={"order_name": "#1001"},
        )
        await audit.append(conn=conn, events=[looked_up])
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(redis_url)
    servers = OrderCache(redis=client, prefix=redis_scope(endpoint), ttl=300)
    reads: list[str] = []

    async def read() -> OrderSnapshot:
        reads.append("#1001")
        return full_snapshot("#1001")

    try:
        await servers.get_or_load("#1001", read)
        env = {"DATABASE_URL": audited_database, "REDIS_URL": redis_url}
        redact = await asyncio.to_thread(
            run, "privacy", "redact", "--order", "gid://shopify/Order/1",
            env={**env, "SHOPIFY_ADMIN_ENDPOINT": endpoint},
        )  # fmt: skip
        assert redact.returncode == 0, redact.stderr
        another_replica = OrderCache(redis=client, prefix=redis_scope(endpoint), ttl=300)
        await another_replica.get_or_load("#1001", read)
    finally:
        await client.aclose()
    assert reads == ["#1001", "#1001"]  # read again: the cached copy was dropped
