"""The configured shop as operator commands reach it, outside the server: one Admin client
over SHOPIFY_SHOP (or SHOPIFY_ADMIN_ENDPOINT) and its credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from service.admin.auth import ClientCredentials, StaticToken, TokenProvider, token_url_for
from service.admin.client import AdminClient
from service.admin.operations import OperationRegistry
from service.admin.shop import Shop
from service.config import ConfigurationError, Settings


def shop_credentials(
    settings: Settings, session: aiohttp.ClientSession, endpoint: str
) -> TokenProvider:
    """The configured credentials: the client-credentials grant when a client id and secret
    are set, else the static token (CONTRACT §2)."""
    if settings.shopify_client_id and settings.shopify_client_secret:
        return ClientCredentials(
            session,
            token_url=token_url_for(endpoint),
            client_id=settings.shopify_client_id,
            client_secret=settings.shopify_client_secret,
        )
    if settings.shopify_admin_token is None:
        raise ConfigurationError(
            "set SHOPIFY_ADMIN_TOKEN, or SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET"
        )
    return StaticToken(settings.shopify_admin_token)


@asynccontextmanager
async def operator_shop(settings: Settings, *, operator: bool = False) -> AsyncIterator[Shop]:
    """The configured shop; `operator` allows the operator-only documents too."""
    if settings.uses_sandbox:
        raise ConfigurationError("set SHOPIFY_SHOP (or SHOPIFY_ADMIN_ENDPOINT) to reach a shop")
    endpoint = settings.admin_endpoint()
    operations = OperationRegistry.load(operator=operator)
    async with aiohttp.ClientSession() as session:
        client = AdminClient(
            session,
            endpoint=endpoint,
            auth=shop_credentials(settings, session, endpoint),
            operations=operations,
        )
        yield Shop(client)


async def order_id_named(settings: Settings, name: str) -> str | None:
    """The gid of the shop's order named exactly `name` (`#1001`), or None."""
    async with operator_shop(settings) as shop:
        order = await shop.find_order(name=name)
    return order.id if order is not None else None
