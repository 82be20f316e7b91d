"""Staff actions on the sandbox: refusals as Shopify's admin gives them, over HTTP too, and the
state file that lets `ordergate sandbox staff` find a sandbox on a random port."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from service.sandbox.server import (
    SANDBOX_STATE_FILE,
    SandboxShop,
    StaffActionRefused,
    UnknownOrder,
    start_sandbox,
)


async def post(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(url) as response:
        return response.status, await response.json()


async def test_staff_cancel_over_http(sandbox: SandboxShop) -> None:
    status, body = await post(f"{sandbox.staff_url}/cancel/1012")

    assert status == 200
    assert body == {
        "action": "cancel",
        "order": "#1012",
        "webhooks": ["refunds/create", "orders/cancelled", "orders/updated"],
    }
    assert sandbox.store.order_named("#1012").cancelled_at is not None


async def test_an_order_may_be_named_by_its_numeric_id(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1006")

    status, body = await post(f"{sandbox.staff_url}/release_hold/{order.id}")

    assert status == 200
    assert body["order"] == "#1006"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("cancel/9999", 404),  # no such order
        ("promote/1012", 404),  # no such action
        ("cancel/1010", 409),  # delivered: cannot be cancelled
        ("cancel/1011", 409),  # already cancelled
        ("release_hold/1001", 409),  # nothing on hold
        ("refund/1011", 409),  # refunded already
        ("mark_delivered/1001", 409),  # not shipped
        ("mark_delivered/1010", 409),  # delivered already
        ("ship_replacement/1011", 409),  # cancelled
        ("ship_replacement/1006", 409),  # on hold
    ],
)
async def test_staff_refusals_over_http(sandbox: SandboxShop, path: str, status: int) -> None:
    answered, body = await post(f"{sandbox.staff_url}/{path}")

    assert answered == status
    assert body["error"]
    assert not sandbox.webhooks.published


def test_staff_refusal_says_why(sandbox: SandboxShop) -> None:
    with pytest.raises(StaffActionRefused, match="#1001: no shipment under way"):
        sandbox.mark_delivered("#1001")


def test_unknown_order_is_a_lookup_error(sandbox: SandboxShop) -> None:
    with pytest.raises(UnknownOrder):
        sandbox.refund("gid://shopify/Order/1")


async def test_a_gid_names_the_order(sandbox: SandboxShop) -> None:
    order = sandbox.store.order_named("#1009")

    outcome = sandbox.refund(order.gid)

    assert outcome.order == "#1009"


async def test_the_state_file_says_where_the_sandbox_is_and_goes_with_it(tmp_path: Path) -> None:
    state_file = tmp_path / "data" / SANDBOX_STATE_FILE
    sandbox = await start_sandbox(state_file=state_file)
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        assert state["staff_url"] == sandbox.staff_url
        assert state["admin_endpoint"] == sandbox.endpoint
        assert state["shop_domain"] == "sandbox.myshopify.com"
        assert sandbox.admin_token not in state_file.read_text(encoding="utf-8")
        assert sandbox.client_secret not in state_file.read_text(encoding="utf-8")
    finally:
        await sandbox.close()

    assert not state_file.exists()


async def test_closing_leaves_a_newer_sandboxs_state_file_alone(tmp_path: Path) -> None:
    state_file = tmp_path / SANDBOX_STATE_FILE
    older = await start_sandbox(state_file=state_file)
    newer = await start_sandbox(state_file=state_file)
    try:
        await older.close()
        assert json.loads(state_file.read_text())["staff_url"] == newer.staff_url
    finally:
        await newer.close()
