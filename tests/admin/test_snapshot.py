"""OrderLookup nodes become domain Orders; new Shopify enum values become UNKNOWN, logged once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from service.admin.errors import ErrorKind, UpstreamUnavailable
from service.admin.snapshot import parse_order
from service.models import (
    FinancialStatus,
    FulfillmentOrder,
    FulfillmentOrderStatus,
    FulfillmentStatus,
    LineItem,
    Money,
    Order,
    ReturnStatus,
    RiskLevel,
    Shipment,
    ShipmentStatus,
)
from tests.admin.shopify_bodies import FULFILLMENT_ORDER_ID, ORDER_ID, fulfillment, order_node


def unknown_value_warnings(caplog: pytest.LogCaptureFixture, value: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "ordergate.admin" and r.levelno == logging.WARNING and value in r.getMessage()
    ]


def test_full_node_becomes_an_order() -> None:
    order = parse_order(order_node())

    assert order == Order(
        id=ORDER_ID,
        number="#1001",
        placed_at=datetime(2026, 3, 1, 10, 30, tzinfo=UTC),
        email="kari.nordmann@example.com",
        phone="+4791234567",
        financial_status=FinancialStatus.PAID,
        fulfillment_status=FulfillmentStatus.PARTIALLY_FULFILLED,
        return_status=ReturnStatus.NO_RETURN,
        total=Money(amount=Decimal("1249.50"), currency="NOK"),
        cancelled_at=None,
        closed=False,
        tags=("vip", "wholesale"),
        risk_levels=(RiskLevel.LOW, RiskLevel.MEDIUM),
        line_items=(
            LineItem("Wool sweater", "M / Navy", 1, ("knitwear", "non-cancellable")),
            LineItem("Gift wrapping", None, 2, ()),
        ),
        shipments=(
            Shipment(
                carrier="DHL Express",
                tracking_number="JD014600006281230704",
                tracking_url="https://www.dhl.com/track?tracking-id=JD014600006281230704",
                status=ShipmentStatus.IN_TRANSIT,
                shipped_at=datetime(2026, 3, 2, 9, 15, tzinfo=UTC),
                estimated_delivery_at=datetime(2026, 3, 5, 18, 0, tzinfo=UTC),
                delivered_at=None,
            ),
        ),
        fulfillment_orders=(
            FulfillmentOrder(FULFILLMENT_ORDER_ID, FulfillmentOrderStatus.CLOSED),
            FulfillmentOrder(
                "gid://shopify/FulfillmentOrder/6612345678902", FulfillmentOrderStatus.OPEN
            ),
        ),
    )


def test_datetimes_with_offsets_stay_aware() -> None:
    order = parse_order(order_node(cancelledAt="2026-03-01T12:00:00+01:00"))

    assert order.cancelled_at == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)


def test_only_successful_fulfillments_are_shipments() -> None:
    node = order_node(
        fulfillments=[
            fulfillment(status="CANCELLED"),
            fulfillment(status="FAILURE"),
            fulfillment(
                status="SUCCESS", displayStatus="DELIVERED", deliveredAt="2026-03-04T08:00:00Z"
            ),
        ]
    )

    (shipment,) = parse_order(node).shipments

    assert shipment.status is ShipmentStatus.DELIVERED
    assert shipment.delivered_at == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


def test_fulfillment_without_tracking_has_no_carrier() -> None:
    node = order_node(fulfillments=[fulfillment(trackingInfo=[], displayStatus=None)])

    (shipment,) = parse_order(node).shipments

    assert (shipment.carrier, shipment.tracking_number, shipment.tracking_url) == (None, None, None)
    assert shipment.status is ShipmentStatus.UNKNOWN


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/track",
        "https:///no-host",
    ],
)
def test_a_tracking_link_that_is_not_a_web_address_is_dropped(url: str) -> None:
    tracking = [{"company": "DHL", "number": "JD0146", "url": url}]
    node = order_node(fulfillments=[fulfillment(trackingInfo=tracking)])
    (shipment,) = parse_order(node).shipments
    assert (shipment.tracking_number, shipment.tracking_url) == ("JD0146", None)


def test_missing_financial_status_is_unknown() -> None:
    order = parse_order(order_node(displayFinancialStatus=None))

    assert order.financial_status is FinancialStatus.UNKNOWN


def test_fulfillment_not_required_is_understood() -> None:
    order = parse_order(order_node(displayFulfillmentStatus="FULFILLMENT_NOT_REQUIRED"))

    assert order.fulfillment_status is FulfillmentStatus.FULFILLMENT_NOT_REQUIRED


def test_unknown_enum_value_becomes_unknown() -> None:
    order = parse_order(order_node(displayFulfillmentStatus="AWAITING_TELEPORT"))

    assert order.fulfillment_status is FulfillmentStatus.UNKNOWN


def test_unknown_enum_value_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ordergate.admin")
    node = order_node(
        returnStatus="RETURN_TELEPORTED",
        risk={"assessments": [{"riskLevel": "EXTREME"}, {"riskLevel": "EXTREME"}]},
    )

    parse_order(node)
    parse_order(node)

    assert len(unknown_value_warnings(caplog, "RETURN_TELEPORTED")) == 1
    assert len(unknown_value_warnings(caplog, "EXTREME")) == 1
    assert "ReturnStatus" in unknown_value_warnings(caplog, "RETURN_TELEPORTED")[0]


def test_same_unknown_value_in_two_enums_is_logged_for_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ordergate.admin")
    fulfillment_orders = {"nodes": [{"id": FULFILLMENT_ORDER_ID, "status": "DRONE_LOADING"}]}
    node = order_node(
        fulfillments=[fulfillment(displayStatus="DRONE_LOADING")],
        fulfillmentOrders=fulfillment_orders,
    )

    order = parse_order(node)

    assert order.shipments[0].status is ShipmentStatus.UNKNOWN
    assert order.fulfillment_orders[0].status is FulfillmentOrderStatus.UNKNOWN
    assert len(unknown_value_warnings(caplog, "DRONE_LOADING")) == 2


def test_unknown_value_that_is_not_an_identifier_is_not_logged_verbatim(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ordergate.admin")

    order = parse_order(order_node(displayFinancialStatus="paid; call +47 912 34 567"))

    assert order.financial_status is FinancialStatus.UNKNOWN
    assert "+47" not in caplog.text


def without(key: str) -> dict[str, Any]:
    node = order_node()
    del node[key]
    return node


@pytest.mark.parametrize(
    "node",
    [
        without("id"),
        without("fulfillments"),
        order_node(createdAt="2026-03-01T10:30:00"),  # no offset
        order_node(createdAt="yesterday"),
        order_node(cancelledAt=17),
        order_node(totalPriceSet={"presentmentMoney": {"amount": "12,50", "currencyCode": "EUR"}}),
        order_node(totalPriceSet={"presentmentMoney": {"amount": "NaN", "currencyCode": "EUR"}}),
        order_node(closed="false"),
        order_node(tags="vip"),
        order_node(displayFulfillmentStatus=None),
        order_node(lineItems=[]),
        order_node(lineItems={"nodes": [{"title": "x", "variantTitle": None, "quantity": "1"}]}),
        order_node(lineItems={"nodes": [{"title": "x", "variantTitle": None, "quantity": True}]}),
        order_node(fulfillments=[{"status": "SUCCESS"}]),
        order_node(risk=None),
    ],
)
def test_malformed_node_is_upstream_unavailable(node: dict[str, Any]) -> None:
    with pytest.raises(UpstreamUnavailable) as caught:
        parse_order(node)

    assert caught.value.kind is ErrorKind.MALFORMED
