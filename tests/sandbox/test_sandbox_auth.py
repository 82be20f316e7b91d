"""The sandbox's access control: static token, client-credentials grant, token expiry."""

from __future__ import annotations

import asyncio

import aiohttp

from service.sandbox.server import INVALID_TOKEN, SandboxShop, start_sandbox
from tests.sandbox.admin_http import request_token, run

LOOKUP = {"query": "name:'#1001'"}


async def test_request_without_token_is_unauthorized(sandbox: SandboxShop) -> None:
    status, body = await run(sandbox, "OrderLookup", LOOKUP, token=None)

    assert (status, body) == (401, {"errors": INVALID_TOKEN})


async def test_request_with_wrong_token_is_unauthorized(sandbox: SandboxShop) -> None:
    status, _body = await run(sandbox, "OrderLookup", LOOKUP, token="shpat_wrong")

    assert status == 401


async def test_unauthorized_request_is_not_recorded(sandbox: SandboxShop) -> None:
    await run(sandbox, "OrderLookup", LOOKUP, token="shpat_wrong")

    assert sandbox.calls == []


async def test_client_credentials_grant_issues_a_working_token(sandbox: SandboxShop) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
    }
    grant_status, grant = await request_token(sandbox, form)

    status, _body = await run(sandbox, "OrderLookup", LOOKUP, token=grant["access_token"])

    assert (grant_status, grant["expires_in"], status) == (200, 86399, 200)
    assert "write_orders" in grant["scope"].split(",")


async def test_client_credentials_grant_accepts_json(sandbox: SandboxShop) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(sandbox.token_url, json=form) as response,
    ):
        grant = await response.json()

    assert response.status == 200
    assert grant["access_token"].startswith("shpat_")


async def test_client_credentials_grant_refuses_a_wrong_secret(sandbox: SandboxShop) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": sandbox.client_id,
        "client_secret": "shpss_wrong",
    }
    status, body = await request_token(sandbox, form)

    assert (status, body["error"]) == (401, "invalid_client")
    assert "access_token" not in body


async def test_token_grant_refuses_other_grant_types(sandbox: SandboxShop) -> None:
    form = {"grant_type": "authorization_code", "client_id": sandbox.client_id}

    status, body = await request_token(sandbox, form)

    assert (status, body["error"]) == (400, "unsupported_grant_type")


async def test_granted_token_stops_working_after_its_lifetime() -> None:
    shop = await start_sandbox(token_lifetime_seconds=1)
    try:
        form = {
            "grant_type": "client_credentials",
            "client_id": shop.client_id,
            "client_secret": shop.client_secret,
        }
        _status, grant = await request_token(shop, form)
        before, _body = await run(shop, "OrderLookup", LOOKUP, token=grant["access_token"])
        await asyncio.sleep(1.1)
        after, _body = await run(shop, "OrderLookup", LOOKUP, token=grant["access_token"])
    finally:
        await shop.close()

    assert (grant["expires_in"], before, after) == (1, 200, 401)
