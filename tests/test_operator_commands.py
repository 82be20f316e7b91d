"""The operator's commands as a newcomer meets them: help, friendly times, orders as typed,
"nothing matched", an unreachable or absent database, and reports that count requests."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from service.cli import parser
from service.dev_database import open_dev_database, postgres_dir
from service.embedded import stop_embedded_postgres
from service.models import AuditDecision, AuditOperation, AuditOutcome, RequestKind, RequestStatus
from service.storage import audit, database, requests
from tests.conftest import DatabaseFactory
from tests.test_cli import run

ORDER_1001 = "gid://shopify/Order/5800001001"
ORDER_1002 = "gid://shopify/Order/5800001002"


def _event(order_id: str, **fields: object) -> audit.AuditEvent:
    values: dict[str, object] = {
        "operation": AuditOperation.REQUEST_CANCELLATION,
        "request_id": "r",
        "client_address": "127.0.0.1",
        "order_id": order_id,
        "outcome": AuditOutcome.OK,
    }
    values.update(fields)
    return audit.AuditEvent(**values)  # type: ignore[arg-type]


@pytest.fixture
async def shop_records(make_database: DatabaseFactory) -> str:
    """#1001: one cancellation request, asked for three times (twice more as repeats, under
    other reasons); #1002: refused twice as WINDOW_CLOSED; a lookup of #1002 by name."""
    dsn = await make_database()
    pool = await database.create_pool(dsn, min_size=1, max_size=1)
    try:
        conn = await pool.acquire()
        stored = await requests.create(
            conn=conn,
            kind=RequestKind.CANCELLATION,
            status=RequestStatus.CANCELLED,
            order_id=ORDER_1001,
            order_name="#1001",
            now=datetime.now(UTC),
            customer_reason="CHANGED_MIND",
            comment=None,
            locale="en",
            details={},
        )
        assert stored is not None
        repeat = {"outcome": AuditOutcome.EXISTING_REQUEST}
        refusal = {
            "outcome": AuditOutcome.NOT_ELIGIBLE,
            "decision": AuditDecision.REFUSED,
            "reason": "WINDOW_CLOSED",
            "details": {"customer_reason": "FOUND_CHEAPER", "order_name": "#1002"},
        }
        events = [
            _event(ORDER_1001, outcome=AuditOutcome.CANCELLED, decision=AuditDecision.ACCEPTED,
                   customer_request_id=stored.request.id,
                   details={"customer_reason": "CHANGED_MIND"}),
            _event(ORDER_1001, **repeat, details={"customer_reason": "FOUND_CHEAPER"}),
            _event(ORDER_1001, **repeat, details={"customer_reason": "OTHER"}),
            _event(ORDER_1002, **refusal),
            _event(ORDER_1002, **refusal),
            _event(ORDER_1002, operation=AuditOperation.ORDER_STATUS,
                   details={"order_name": "#1002"}),
        ]  # fmt: skip
        await audit.append(conn=conn, events=events)
        await pool.release(conn)
    finally:
        await pool.close()
    return dsn


def test_report_cancellations_counts_requests_and_lists_refusals_by_reason(
    shop_records: str,
) -> None:
    result = run(
        "report", "cancellations", "--since", "yesterday", env={"DATABASE_URL": shop_records}
    )

    assert result.returncode == 0, result.stderr
    requests_part, refusals_part = result.stdout.split("refused (not eligible)")
    rows = [line.split() for line in requests_part.splitlines()[2:] if line.strip()]
    assert rows == [["CHANGED_MIND", "CANCELLED", "1"]]
    refused = [line.split() for line in refusals_part.splitlines()[2:] if line.strip()]
    assert refused == [["WINDOW_CLOSED", "1"]]


@pytest.mark.parametrize("typed", ["1002", ORDER_1002])
def test_audit_export_takes_the_order_as_a_person_types_it(shop_records: str, typed: str) -> None:
    result = run("audit", "export", "--order", typed, env={"DATABASE_URL": shop_records})

    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == 3
    assert {event["order_id"] for event in events} == {ORDER_1002}


def test_audit_export_finds_a_requested_order_by_its_name(shop_records: str) -> None:
    result = run("audit", "export", "--order", "#1001", env={"DATABASE_URL": shop_records})

    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3


def test_audit_export_says_when_nothing_matched(shop_records: str) -> None:
    result = run("audit", "export", "--order", "#4242", env={"DATABASE_URL": shop_records})

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "ordergate: no audit events for order #4242"


def test_audit_export_refuses_what_cannot_be_an_order(shop_records: str) -> None:
    result = run("audit", "export", "--order", "last week's", env={"DATABASE_URL": shop_records})

    assert result.returncode == 2
    assert "is not #1001, 1001 or an order gid" in result.stderr


def test_audit_verify_on_an_unreachable_database_is_one_line_and_exit_2() -> None:
    result = run("audit", "verify", env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"})

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ordergate: the database could not be reached (ConnectionRefusedError)"
    ]


@pytest.mark.parametrize("command", ["export", "redact"])
def test_privacy_on_an_unreachable_database_is_one_line_and_exit_2(command: str) -> None:
    result = run(
        "privacy",
        command,
        "--order",
        "gid://shopify/Order/1",
        env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"},
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ordergate: the database could not be reached (ConnectionRefusedError)"
    ]


def test_a_friendly_time_is_accepted(shop_records: str) -> None:
    # Every form is pinned in tests/test_command_input.py; this is the command taking one.
    result = run(
        "report", "not-received", "--since", "yesterday", env={"DATABASE_URL": shop_records}
    )

    assert result.returncode == 0, result.stderr


def test_a_time_that_is_none_says_which_forms_are(shop_records: str) -> None:
    result = run("audit", "export", "--since", "soonish", env={"DATABASE_URL": shop_records})

    assert result.returncode == 2
    assert "'soonish' is not a time; use one of: now, today, yesterday" in result.stderr
    assert "_timestamp" not in result.stderr


def _subcommands(command: object) -> dict[str, object]:
    for action in getattr(command, "_actions", []):
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            return dict(action.choices)
    return {}


def test_every_command_has_a_description_and_leaves_name_what_they_read() -> None:
    top = parser()
    assert top.description is not None
    assert "no logic" not in top.description
    pending = list(_subcommands(top).items())
    while pending:
        name, command = pending.pop()
        assert getattr(command, "description", None), f"{name} has no description"
        children = _subcommands(command)
        if children:
            pending += [(f"{name} {child}", sub) for child, sub in children.items()]
        else:
            assert "Reads " in (getattr(command, "epilog", None) or ""), f"{name}: environment?"


def test_operator_commands_say_they_read_database_url() -> None:
    result = run("audit", "verify", "--help")

    assert result.returncode == 0
    assert "DATABASE_URL" in result.stdout


def test_without_database_url_the_cli_uses_the_dev_database(tmp_path: Path) -> None:
    open_dev_database(tmp_path)  # what `ordergate dev` leaves behind: its server and database
    try:
        result = run("migrate", env={"ORDERGATE_DATA_DIR": str(tmp_path)})
    finally:
        stop_embedded_postgres(postgres_dir(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"ordergate: DATABASE_URL is unset: using ordergate dev's database in {tmp_path.resolve()}"
    ]


def test_without_database_url_or_dev_data_the_cli_says_what_to_do(tmp_path: Path) -> None:
    result = run("audit", "verify", env={"ORDERGATE_DATA_DIR": str(tmp_path / "none")})

    assert result.returncode == 2
    assert "DATABASE_URL is required" in result.stderr
    assert "ordergate dev" in result.stderr


def test_sandbox_staff_reads_its_order_with_the_same_parser() -> None:
    result = run("sandbox", "staff", "cancel", "order ten-twelve")

    assert result.returncode == 2
    assert "ORDER 'order ten-twelve' is not #1001, 1001 or an order gid" in result.stderr


def test_a_date_is_the_shops_midnight_and_the_report_says_it_in_utc(
    shop_records: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("cancellation:\n  timezone: Europe/Oslo\n")
    env = {"DATABASE_URL": shop_records, "ORDERGATE_POLICY_FILE": str(policy)}
    result = run(
        "report", "cancellations", "--since", "2026-11-01", "--until", "2026-11-02", env=env
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "cancellation requests 2026-10-31 23:00 to 2026-11-01 23:00 UTC"
    )


def test_production_never_falls_back_to_a_dev_database(tmp_path: Path) -> None:
    (tmp_path / "postgres").mkdir()
    (tmp_path / "postgres" / "PG_VERSION").write_text("18\n")
    env = {"ORDERGATE_ENV": "production", "ORDERGATE_DATA_DIR": str(tmp_path)}
    result = run("audit", "verify", env=env)

    assert result.returncode == 2
    assert result.stderr.strip() == "ordergate: DATABASE_URL is required for this command"


async def _name_orders(dsn: str, name: str, *order_ids: str) -> None:
    """Audit one lookup of each order under `name`, as `orderStatus` writes it."""
    conn = await asyncpg.connect(dsn)
    try:
        events = [
            _event(order_id, operation=AuditOperation.ORDER_STATUS, details={"order_name": name})
            for order_id in order_ids
        ]
        await audit.append(conn=conn, events=events)
    finally:
        await conn.close()


async def _migrated(dsn: str) -> None:
    await database.migrate(dsn)


def test_privacy_without_database_url_uses_the_dev_database(tmp_path: Path) -> None:
    # Before: the dev database was looked up inside the command's event loop, and starting
    # its Postgres ran a loop of its own: "asyncio.run() cannot be called from a running
    # event loop".
    dsn = open_dev_database(tmp_path)
    try:
        asyncio.run(_migrated(dsn))
        asyncio.run(_name_orders(dsn, "#1001", ORDER_1001))
        env = {"ORDERGATE_DATA_DIR": str(tmp_path)}
        exported = run("privacy", "export", "--order", "#1001", env=env)
        redacted = run("privacy", "redact", "--order", "1001", env=env)
    finally:
        stop_embedded_postgres(postgres_dir(tmp_path))

    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["order_id"] == ORDER_1001
    assert redacted.returncode == 0, redacted.stderr
    assert f"erased the personal data of {ORDER_1001}" in redacted.stdout
    assert redacted.stderr.strip().splitlines() == [
        f"ordergate: DATABASE_URL is unset: using ordergate dev's database in {tmp_path.resolve()}"
    ]


@pytest.mark.parametrize("command", ["export", "redact"])
async def test_privacy_lists_the_orders_a_name_is_ambiguous_between(
    shop_records: str, command: str
) -> None:
    # A restarted `ordergate dev` knows #1001 under two gids (its sandbox starts afresh).
    later_1001 = "gid://shopify/Order/5900001001"
    await _name_orders(shop_records, "#1001", later_1001)

    result = await asyncio.to_thread(
        run, "privacy", command, "--order", "#1001", env={"DATABASE_URL": shop_records}
    )

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"ordergate: #1001 names 2 orders ordergate has seen: {ORDER_1001}, {later_1001}: give one"
    )
