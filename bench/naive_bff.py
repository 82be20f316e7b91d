"""The benchmark's baseline: what a storefront team writes in an afternoon.

Starlette and graphql-core serving `orderStatus` from schema/ordergate.graphql (plumbing in
sdl_endpoint.py), one Admin call per request with its own lookup document; no data cache, no
audit, no limits, no mutations.

    SHOPIFY_ADMIN_ENDPOINT=… SHOPIFY_ADMIN_TOKEN=… python -m bench.naive_bff --port 8001
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import uvicorn
from graphql import GraphQLResolveInfo
from starlette.applications import Starlette

from bench.sdl_endpoint import public_schema_routes
from service.cli import server_config

LOOKUP = """query NaiveLookup($q: String!) { orders(first: 1, query: $q) { nodes {
  name email phone createdAt cancelledAt
  displayFinancialStatus displayFulfillmentStatus returnStatus
  totalPriceSet { presentmentMoney { amount currencyCode } }
  lineItems(first: 50) { nodes { title variantTitle quantity } }
  fulfillments(first: 5) { createdAt displayStatus inTransitAt estimatedDeliveryAt deliveredAt
    trackingInfo(first: 1) { company number url } }
} } }"""
NOT_FOUND = {"code": "ORDER_NOT_FOUND", "message": "No order matches that number and contact."}


def digits(text: str | None) -> str:
    """Only the digits of a phone number."""
    return "".join(c for c in text or "" if c.isdigit())


def contact_matches(order: dict[str, Any], contact: str) -> bool:
    """The e-mail, case-insensitively, or the phone number's last digits."""
    if "@" in contact:
        return (order["email"] or "").lower() == contact.strip().lower()
    return bool(digits(contact)) and digits(order["phone"]).endswith(digits(contact))


def shipment(fulfillment: dict[str, Any]) -> dict[str, Any]:
    """A Shopify fulfilment as a public Shipment."""
    tracking = (fulfillment["trackingInfo"] or [{}])[0]
    return {
        "carrier": tracking.get("company"),
        "trackingNumber": tracking.get("number"),
        "trackingUrl": tracking.get("url"),
        "status": fulfillment["displayStatus"] or "UNKNOWN",
        "shippedAt": fulfillment["inTransitAt"] or fulfillment["createdAt"],
        "estimatedDeliveryAt": fulfillment["estimatedDeliveryAt"],
        "deliveredAt": fulfillment["deliveredAt"],
    }


def order_status(order: dict[str, Any]) -> dict[str, Any]:
    """A Shopify order as a public OrderStatus, with a rough idea of eligibility."""
    cancellable = (
        order["cancelledAt"] is None and order["displayFulfillmentStatus"] == "UNFULFILLED"
    )
    shipped = bool(order["fulfillments"])
    return {
        "number": order["name"],
        "placedAt": order["createdAt"],
        "cancelledAt": order["cancelledAt"],
        "financialStatus": order["displayFinancialStatus"] or "UNKNOWN",
        "fulfillmentStatus": order["displayFulfillmentStatus"],
        "returnStatus": order["returnStatus"],
        "total": order["totalPriceSet"]["presentmentMoney"],
        "lineItems": order["lineItems"]["nodes"],
        "shipments": [shipment(each) for each in order["fulfillments"]],
        "cancellation": {
            "eligible": cancellable,
            "reason": None if cancellable else "ORDER_CLOSED",
        },
        "notReceived": {"eligible": shipped, "reason": None if shipped else "NOT_SHIPPED_YET"},
        "requests": [],
    }


async def resolve_order_status(
    info: GraphQLResolveInfo[Shop],
    orderNumber: str,
    contact: str,
    verificationCode: str | None = None,  # an afternoon's BFF has no code step
) -> dict[str, Any]:
    """One Admin call, then the contact check."""
    shop = info.context
    name = "#" + orderNumber.strip().lstrip("#")
    payload = {"query": LOOKUP, "variables": {"q": f"name:'{name}'"}}
    async with shop.session.post(shop.endpoint, json=payload, headers=shop.headers) as answer:
        nodes = (await answer.json())["data"]["orders"]["nodes"]
    if not nodes or not contact_matches(nodes[0], contact):
        return {"order": None, "userErrors": [NOT_FOUND]}
    return {"order": order_status(nodes[0]), "userErrors": []}


@dataclass
class Shop:
    """Where the Admin API is and how to call it."""

    endpoint: str
    headers: dict[str, str]
    session: aiohttp.ClientSession


def create_app(*, endpoint: str, token: str) -> Starlette:
    """The BFF: POST /graphql and GET /healthz."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app.state.shop = Shop(endpoint, {"X-Shopify-Access-Token": token}, session)
            yield

    routes = public_schema_routes(
        root={"orderStatus": resolve_order_status}, context=lambda request: request.app.state.shop
    )
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    """Entry point: `python -m bench.naive_bff`."""
    options = argparse.ArgumentParser(prog="bench.naive_bff", description=__doc__)
    options.add_argument("--port", type=int, default=8001)
    port = options.parse_args().port
    env = os.environ
    app = create_app(endpoint=env["SHOPIFY_ADMIN_ENDPOINT"], token=env["SHOPIFY_ADMIN_TOKEN"])
    # The same uvicorn settings as ordergate's, so the comparison is of the apps, not servers.
    uvicorn.Server(server_config(app, port=port)).run()


if __name__ == "__main__":
    main()
