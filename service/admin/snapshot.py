"""Turns one `orders.nodes[]` item of the OrderLookup documents into a domain `Order`."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import urlsplit

from service.admin.errors import ErrorKind, UpstreamUnavailable
from service.models import (
    FinancialStatus,
    FulfillmentOrder,
    FulfillmentOrderStatus,
    FulfillmentStatus,
    LenientEnum,
    LineItem,
    Money,
    Order,
    ReturnStatus,
    RiskLevel,
    Shipment,
    ShipmentStatus,
)

logger = logging.getLogger("ordergate.admin")

E = TypeVar("E", bound=LenientEnum)
_ENUM_VALUE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


class _Malformed(Exception):
    """A node that does not have the shape the OrderLookup document asks for."""


@functools.lru_cache(maxsize=256)
def _report_unknown(enum_name: str, value: str) -> None:
    # Cached so a new Shopify enum value is logged once per process, not once per order.
    logger.warning("unknown Shopify enum value enum=%s value=%s", enum_name, value)


def _enum(kind: type[E], value: object) -> E:
    if not isinstance(value, str):
        raise _Malformed(kind.__name__)
    member = kind(value)
    if member.value != value:
        _report_unknown(kind.__name__, value if _ENUM_VALUE.match(value) else "<not an identifier>")
    return member


def _optional_enum(kind: type[E], value: object) -> E:
    return kind("UNKNOWN") if value is None else _enum(kind, value)


def _field(node: object, key: str) -> Any:
    if not isinstance(node, Mapping) or key not in node:
        raise _Malformed(key)
    return node[key]


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise _Malformed("string")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Malformed("boolean")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _list(value: object) -> Sequence[Any]:
    if not isinstance(value, list):
        raise _Malformed("list")
    return value


def _datetime(value: object) -> datetime:
    parsed = datetime.fromisoformat(_str(value))
    if parsed.tzinfo is None:
        raise _Malformed("naive datetime")
    return parsed


def _optional_datetime(value: object) -> datetime | None:
    return None if value is None else _datetime(value)


def _money(node: object) -> Money:
    money = _field(_field(node, "totalPriceSet"), "presentmentMoney")
    amount = Decimal(_str(_field(money, "amount")))
    if not amount.is_finite():
        raise _Malformed("amount")
    return Money(amount=amount, currency=_str(_field(money, "currencyCode")))


def _line_item(node: object) -> LineItem:
    quantity = _field(node, "quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise _Malformed("quantity")
    # OrderLookupWithoutProductTags does not ask for the product: its tags read as none.
    product = _field(node, "product") if isinstance(node, Mapping) and "product" in node else None
    tags = () if product is None else tuple(_str(tag) for tag in _list(_field(product, "tags")))
    return LineItem(
        title=_str(_field(node, "title")),
        variant_title=_optional_str(_field(node, "variantTitle")),
        quantity=quantity,
        product_tags=tags,
    )


def _web_address(url: str | None) -> str | None:
    """A tracking link only when it is an http(s) address. Staff and carrier apps write it;
    `javascript:` or `data:` there would run in a storefront's page or an e-mail client
    that links it, so anything else reads as no link (the number is still shown)."""
    if url is None:
        return None
    parts = urlsplit(url.strip())
    return url if parts.scheme.lower() in {"http", "https"} and parts.netloc else None


def _shipment(node: object) -> Shipment:
    tracking = _list(_field(node, "trackingInfo"))
    first = tracking[0] if tracking else {"company": None, "number": None, "url": None}
    return Shipment(
        carrier=_optional_str(_field(first, "company")),
        tracking_number=_optional_str(_field(first, "number")),
        tracking_url=_web_address(_optional_str(_field(first, "url"))),
        status=_optional_enum(ShipmentStatus, _field(node, "displayStatus")),
        shipped_at=_datetime(_field(node, "createdAt")),
        estimated_delivery_at=_optional_datetime(_field(node, "estimatedDeliveryAt")),
        delivered_at=_optional_datetime(_field(node, "deliveredAt")),
    )


def _shipments(node: object) -> tuple[Shipment, ...]:
    # Only a successful fulfillment is a parcel on its way; cancelled or failed ones are not.
    fulfillments = _list(_field(node, "fulfillments"))
    return tuple(_shipment(f) for f in fulfillments if _field(f, "status") == "SUCCESS")


def _fulfillment_order(node: object) -> FulfillmentOrder:
    return FulfillmentOrder(
        id=_str(_field(node, "id")),
        status=_enum(FulfillmentOrderStatus, _field(node, "status")),
    )


def _nodes(node: object, key: str) -> Sequence[Any]:
    return _list(_field(_field(node, key), "nodes"))


def _order(node: object) -> Order:
    assessments = _list(_field(_field(node, "risk"), "assessments"))
    return Order(
        id=_str(_field(node, "id")),
        number=_str(_field(node, "name")),
        placed_at=_datetime(_field(node, "createdAt")),
        email=_optional_str(_field(node, "email")),
        phone=_optional_str(_field(node, "phone")),
        financial_status=_optional_enum(FinancialStatus, _field(node, "displayFinancialStatus")),
        fulfillment_status=_enum(FulfillmentStatus, _field(node, "displayFulfillmentStatus")),
        return_status=_enum(ReturnStatus, _field(node, "returnStatus")),
        total=_money(node),
        cancelled_at=_optional_datetime(_field(node, "cancelledAt")),
        closed=_bool(_field(node, "closed")),
        tags=tuple(_str(tag) for tag in _list(_field(node, "tags"))),
        risk_levels=tuple(_enum(RiskLevel, _field(a, "riskLevel")) for a in assessments),
        line_items=tuple(_line_item(item) for item in _nodes(node, "lineItems")),
        shipments=_shipments(node),
        fulfillment_orders=tuple(_fulfillment_order(f) for f in _nodes(node, "fulfillmentOrders")),
    )


def parse_order(node: Mapping[str, Any]) -> Order:
    """The domain `Order` for one OrderLookup node; UpstreamUnavailable(MALFORMED) otherwise."""
    try:
        return _order(node)
    except (_Malformed, ValueError, InvalidOperation):
        raise UpstreamUnavailable(ErrorKind.MALFORMED, operation="OrderLookup") from None
