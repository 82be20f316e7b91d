"""The `ordergate` command as operators run it: a real process against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from service.storage import audit
from tests.conftest import DatabaseFactory

ORDERGATE = [sys.executable, "-m", "service.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(
        ("ORDERGATE_", "SHOPIFY_", "DATABASE_URL", "REDIS_URL"))}  # fmt: skip
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


def test_report_cancellations_counts_by_reason_and_outcome(audited_database: str) -> None:
    result = run("report", "cancellations", env={"DATABASE_URL": audited_database})
    assert result.returncode == 0, result.stderr
    rows = {tuple(line.split()) for line in result.stdout.splitlines()[2:]}
    assert rows == {("CHANGED_MIND", "NOT_ELIGIBLE", "2"), ("CHANGED_MIND", "PROCESSING", "2")}


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
