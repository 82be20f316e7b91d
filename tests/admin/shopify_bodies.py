"""Response bodies shaped like Shopify's Admin API 2026-10 answers to ordergate's documents."""

from __future__ import annotations

from typing import Any

ORDER_ID = "gid://shopify/Order/5512345678901"
FULFILLMENT_ORDER_ID = "gid://shopify/FulfillmentOrder/6612345678901"
JOB_ID = "gid://shopify/Job/0b3c6f4e-8a1d-4d6b-9f52-3c1e2a7d9b10"


def cost(
    requested: int = 12,
    actual: int | None = 10,
    *,
    maximum: float = 2000.0,
    available: float = 1988.0,
    restore_rate: float = 100.0,
) -> dict[str, Any]:
    """An `extensions` object with Shopify's calculated query cost."""
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": maximum,
                "currentlyAvailable": available,
                "restoreRate": restore_rate,
            },
        }
    }


def ok(data: dict[str, Any], *, requested: int = 12, actual: int = 10) -> dict[str, Any]:
    """A successful GraphQL response."""
    return {"data": data, "extensions": cost(requested, actual)}


def throttled(*, requested: int, available: float, restore_rate: float = 100.0) -> dict[str, Any]:
    """Shopify's answer when the bucket holds fewer points than the query asks for."""
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/limits#rate-limits",
                },
            }
        ],
        "extensions": cost(requested, None, available=available, restore_rate=restore_rate),
    }


def fulfillment(**overrides: Any) -> dict[str, Any]:
    """One `fulfillments[]` item: a successful parcel in transit."""
    node: dict[str, Any] = {
        "createdAt": "2026-03-02T09:15:00Z",
        "status": "SUCCESS",
        "displayStatus": "IN_TRANSIT",
        "inTransitAt": "2026-03-02T14:00:00Z",
        "estimatedDeliveryAt": "2026-03-05T18:00:00Z",
        "deliveredAt": None,
        "trackingInfo": [
            {
                "company": "DHL Express",
                "number": "JD014600006281230704",
                "url": "https://www.dhl.com/track?tracking-id=JD014600006281230704",
            }
        ],
    }
    node.update(overrides)
    return node


def order_node(**overrides: Any) -> dict[str, Any]:
    """One `orders.nodes[]` item of the OrderLookup document."""
    node: dict[str, Any] = {
        "id": ORDER_ID,
        "name": "#1001",
        "createdAt": "2026-03-01T10:30:00Z",
        "cancelledAt": None,
        "closed": False,
        "email": "kari.nordmann@example.com",
        "phone": "+4791234567",
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "PARTIALLY_FULFILLED",
        "returnStatus": "NO_RETURN",
        "tags": ["vip", "wholesale"],
        "totalPriceSet": {"presentmentMoney": {"amount": "1249.50", "currencyCode": "NOK"}},
        "risk": {"assessments": [{"riskLevel": "LOW"}, {"riskLevel": "MEDIUM"}]},
        "lineItems": {
            "nodes": [
                {
                    "title": "Wool sweater",
                    "variantTitle": "M / Navy",
                    "quantity": 1,
                    "product": {"tags": ["knitwear", "non-cancellable"]},
                },
                {
                    "title": "Gift wrapping",
                    "variantTitle": None,
                    "quantity": 2,
                    "product": None,
                },
            ]
        },
        "fulfillments": [
            fulfillment(),
            fulfillment(status="CANCELLED", displayStatus="CANCELED"),
        ],
        "fulfillmentOrders": {
            "nodes": [
                {"id": FULFILLMENT_ORDER_ID, "status": "CLOSED"},
                {"id": "gid://shopify/FulfillmentOrder/6612345678902", "status": "OPEN"},
            ]
        },
    }
    node.update(overrides)
    return node


def orders(*nodes: dict[str, Any]) -> dict[str, Any]:
    """The OrderLookup response for these nodes."""
    return ok({"orders": {"nodes": list(nodes)}}, requested=52, actual=14)
