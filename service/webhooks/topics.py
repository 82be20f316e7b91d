"""The webhook topics ordergate handles, and which order a delivery is about (pure).

Shopify's payload is only a pointer: the worker re-reads the order, so nothing else in an
order topic's payload is kept (it is full of personal data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ORDER_TOPICS = frozenset(
    {
        "orders/updated",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "fulfillments/create",
        "fulfillments/update",
        "fulfillment_events/create",
        "refunds/create",
    }
)
"""Topics that say an order changed; only the order's gid is stored."""

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
"""Mandatory privacy topics (CONTRACT §7); stored with their payload, which is the request."""

KNOWN_TOPICS = ORDER_TOPICS | COMPLIANCE_TOPICS

_ORDER_GID = re.compile(r"^gid://shopify/Order/[1-9][0-9]{0,19}$")
_NUMERIC_ID = re.compile(r"^[1-9][0-9]{0,19}$")


def order_gid(topic: str, payload: Mapping[str, Any]) -> str | None:
    """The gid of the order a delivery of `topic` is about, or None when the payload says none.

    `admin_graphql_api_id` when it is an Order gid (on an order's own payload); else `id` on
    the `orders/*` topics; else `order_id` (fulfillments, fulfilment events, refunds).
    """
    api_id = payload.get("admin_graphql_api_id")
    if isinstance(api_id, str) and _ORDER_GID.match(api_id):
        return api_id
    if topic.startswith("orders/"):
        from_id = _gid(payload.get("id"))
        if from_id is not None:
            return from_id
    return _gid(payload.get("order_id"))


def _gid(value: object) -> str | None:
    """An order's numeric id (a JSON number or digits) as its gid; None for anything else."""
    if isinstance(value, bool):  # a bool is an int to Python, never an id to Shopify
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and _NUMERIC_ID.match(value):
        return f"gid://shopify/Order/{value}"
    return None


def minimised(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What is stored of a compliance delivery: the order ids and the data request's id, never
    the customer's e-mail address or phone number the payload also carries."""
    kept: dict[str, Any] = {}
    for name in ("orders_to_redact", "orders_requested"):
        orders = payload.get(name)
        if isinstance(orders, list):
            kept[name] = [order for order in orders if _gid(order) is not None]
    request = payload.get("data_request")
    if isinstance(request, Mapping) and isinstance(request.get("id"), int | str):
        kept["data_request_id"] = request["id"]
    return kept


def compliance_orders(payload: Mapping[str, Any]) -> list[str]:
    """The gids of the orders a (minimised) compliance delivery names, in order, once each."""
    named = [*payload.get("orders_to_redact", ()), *payload.get("orders_requested", ())]
    gids = (_gid(order) for order in named)
    return list(dict.fromkeys(gid for gid in gids if gid is not None))
