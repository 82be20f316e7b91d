"""The GraphQL floor: the public schema answered from a dict in memory, no I/O at all.

What serving schema/ordergate.graphql costs by itself on this machine, with the same HTTP
server as ordergate and the same GraphQL plumbing as the naive BFF (sdl_endpoint.py), and
answers built before the first request. Mutations get a canned request.

    python -m bench.floor --port 8002 --orders 20000
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette

from bench.sdl_endpoint import public_schema_routes
from service.cli import server_config
from service.sandbox.generated import generate_orders, generated_contact
from service.sandbox.records import SandboxOrder
from service.sandbox.resolvers import amount, iso

Payload = dict[str, Any]
NOT_FOUND = {"code": "ORDER_NOT_FOUND", "message": "No order matches that number and contact."}


def public_order(order: SandboxOrder) -> Payload:
    """A sandbox order as the public OrderStatus, eligibility fixed in advance."""
    shipments = [
        {
            "carrier": fulfillment.tracking[0].company if fulfillment.tracking else None,
            "trackingNumber": fulfillment.tracking[0].number if fulfillment.tracking else None,
            "trackingUrl": fulfillment.tracking[0].url if fulfillment.tracking else None,
            "status": fulfillment.display_status or "UNKNOWN",
            "shippedAt": iso(fulfillment.in_transit_at or fulfillment.created_at),
            "estimatedDeliveryAt": iso(fulfillment.estimated_delivery_at),
            "deliveredAt": iso(fulfillment.delivered_at),
        }
        for fulfillment in order.fulfillments
    ]
    return {
        "number": order.name,
        "placedAt": iso(order.created_at),
        "cancelledAt": iso(order.cancelled_at),
        "financialStatus": order.financial_status,
        "fulfillmentStatus": order.fulfillment_status,
        "returnStatus": order.return_status,
        "total": {"amount": amount(order.total), "currencyCode": order.currency},
        "lineItems": [
            {"title": item.title, "variantTitle": item.variant_title, "quantity": item.quantity}
            for item in order.line_items
        ],
        "shipments": shipments,
        "cancellation": {
            "eligible": not shipments,
            "reason": "ALREADY_FULFILLED" if shipments else None,
        },
        "notReceived": {
            "eligible": bool(shipments),
            "reason": None if shipments else "NOT_SHIPPED_YET",
        },
        "requests": [],
    }


class Floor:
    """The root value: answers looked up in a dict keyed by (order name, contact)."""

    def __init__(self, orders: list[SandboxOrder]) -> None:
        self._answers = {
            (order.name, generated_contact(int(order.name[1:]))): public_order(order)
            for order in orders
        }
        self._request = {
            "id": "1",
            "kind": "CANCELLATION",
            "status": "PROCESSING",
            "submittedAt": iso(datetime.now(UTC)),
            "message": "We are on it.",
        }

    def orderStatus(
        self, _info: object, orderNumber: str, contact: str, verificationCode: str | None = None
    ) -> Payload:
        """The stored answer, or ORDER_NOT_FOUND."""
        order = self._answers.get(("#" + orderNumber.lstrip("#"), contact))
        return {"order": order, "userErrors": [] if order else [NOT_FOUND]}

    def requestCancellation(self, _info: object, input: Payload) -> Payload:
        """The same request every time."""
        return {"request": self._request, "userErrors": []}

    def reportNotReceived(self, _info: object, input: Payload) -> Payload:
        """The same request every time, as a report."""
        return {"request": {**self._request, "kind": "NOT_RECEIVED"}, "userErrors": []}


def create_app(orders: list[SandboxOrder]) -> Starlette:
    """The floor: POST /graphql and GET /healthz."""
    return Starlette(routes=public_schema_routes(root=Floor(orders)))


def main() -> None:
    """Entry point: `python -m bench.floor`."""
    options = argparse.ArgumentParser(prog="bench.floor", description=__doc__)
    options.add_argument("--port", type=int, default=8002)
    options.add_argument("--orders", type=int, default=20_000, help="generated orders to hold")
    args = options.parse_args()
    app = create_app(generate_orders(args.orders, now=datetime.now(UTC)))
    # The same uvicorn settings as ordergate's, so the comparison is of the apps, not servers.
    uvicorn.Server(server_config(app, port=args.port)).run()


if __name__ == "__main__":
    main()
