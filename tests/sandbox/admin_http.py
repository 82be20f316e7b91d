"""Talks to a sandbox shop over loopback HTTP with the real Admin operation documents."""

from __future__ import annotations

from typing import Any

import aiohttp

from service.paths import ADMIN_OPERATIONS_DIR
from service.sandbox.server import SandboxShop

Body = dict[str, Any]
# Stands for "send the sandbox's static Admin token".
ADMIN_TOKEN = "<admin token>"


def document(operation: str) -> str:
    """The text of one stored Admin operation, e.g. "OrderLookup"."""
    return (ADMIN_OPERATIONS_DIR / f"{operation}.graphql").read_text(encoding="utf-8")


async def post_graphql(
    shop: SandboxShop,
    *,
    query: str,
    variables: Body | None = None,
    operation_name: str | None = None,
    token: str | None = ADMIN_TOKEN,
) -> tuple[int, Body]:
    """POST one GraphQL request; the HTTP status and the decoded JSON body."""
    headers = {}
    if token is not None:
        headers["X-Shopify-Access-Token"] = shop.admin_token if token == ADMIN_TOKEN else token
    payload = {"query": query, "variables": variables or {}, "operationName": operation_name}
    async with (
        aiohttp.ClientSession() as session,
        session.post(shop.endpoint, json=payload, headers=headers) as response,
    ):
        return response.status, await response.json()


async def run(
    shop: SandboxShop, operation: str, variables: Body, *, token: str | None = ADMIN_TOKEN
) -> tuple[int, Body]:
    """Send a stored operation document with its variables."""
    return await post_graphql(
        shop,
        query=document(operation),
        variables=variables,
        operation_name=operation,
        token=token,
    )


async def data(shop: SandboxShop, operation: str, variables: Body) -> Body:
    """The `data` of a stored operation that must succeed."""
    status, body = await run(shop, operation, variables)
    assert status == 200, body
    assert "errors" not in body, body
    result: Body = body["data"]
    return result


async def lookup(shop: SandboxShop, query: str) -> list[Body]:
    """The order nodes an OrderLookup with this search string returns."""
    found = await data(shop, "OrderLookup", {"query": query})
    nodes: list[Body] = found["orders"]["nodes"]
    return nodes


async def request_token(shop: SandboxShop, form: dict[str, str]) -> tuple[int, Body]:
    """POST a form-encoded client-credentials grant."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(shop.token_url, data=form) as response,
    ):
        return response.status, await response.json()
