"""Pure rules: has staff settled a request, and how (CONTRACT §6)?

A request that waits for staff is judged against the order as it stood when the request
came (its `baseline`, kept with the request) and the order as Shopify shows it now. The
answer never depends on which webhook arrived, or in which order: the order is re-read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from service.eligibility import relevant_shipment
from service.models import (
    FinancialStatus,
    FulfillmentOrderStatus,
    Order,
    RequestKind,
    RequestStatus,
    Resolution,
    ShipmentStatus,
)

_REFUNDED = frozenset({FinancialStatus.REFUNDED, FinancialStatus.PARTIALLY_REFUNDED})
_HOLDABLE = frozenset({FulfillmentOrderStatus.OPEN, FulfillmentOrderStatus.SCHEDULED})


@dataclass(frozen=True, slots=True)
class Settled:
    """Staff's decision: the request's final status and how it was resolved."""

    status: RequestStatus
    resolution: Resolution


def baseline(order: Order) -> dict[str, object]:
    """What is kept of the order when a request comes, to tell staff's later changes apart."""
    parcel = relevant_shipment(order)
    return {
        "financial_status": order.financial_status.value,
        "shipments": len(order.shipments),
        "delivered": bool(parcel and _delivered(parcel.status, parcel.delivered_at)),
        "holdable_fulfillment_orders": sum(
            fulfillment.status in _HOLDABLE for fulfillment in order.fulfillment_orders
        ),
    }


def settled(
    *,
    kind: RequestKind,
    status: RequestStatus,
    details: Mapping[str, object],
    order: Order,
) -> Settled | None:
    """How staff settled the request, or None while it still waits for them."""
    if kind is RequestKind.CANCELLATION and status is RequestStatus.PENDING_REVIEW:
        return _review(details, order)
    if kind is RequestKind.NOT_RECEIVED and status is RequestStatus.OPEN:
        return _report(details, order)
    return None


def _review(details: Mapping[str, object], order: Order) -> Settled | None:
    if order.cancelled_at is not None:
        return Settled(RequestStatus.CANCELLED, Resolution.CANCELLED)
    held = details.get("holdable_fulfillment_orders")
    if not isinstance(held, int) or held == 0:
        return None  # nothing was put on hold, so no release can be seen: only a cancel ends it
    on_hold = any(f.status is FulfillmentOrderStatus.ON_HOLD for f in order.fulfillment_orders)
    return None if on_hold else Settled(RequestStatus.DECLINED, Resolution.DECLINED)


def _report(details: Mapping[str, object], order: Order) -> Settled | None:
    resolved = RequestStatus.RESOLVED
    refunded_before = details.get("financial_status")
    if (
        isinstance(refunded_before, str)
        and FinancialStatus(refunded_before) not in _REFUNDED
        and order.financial_status in _REFUNDED
    ):
        return Settled(resolved, Resolution.REFUNDED)
    # Counted, not timed: Shopify's timestamps are whole seconds, a request's are not.
    shipped_before = details.get("shipments")
    if isinstance(shipped_before, int) and len(order.shipments) > shipped_before:
        return Settled(resolved, Resolution.RESHIPPED)
    parcel = relevant_shipment(order)
    delivered_now = bool(parcel and _delivered(parcel.status, parcel.delivered_at))
    if details.get("delivered") is False and delivered_now:
        return Settled(resolved, Resolution.DELIVERED)
    return None


def _delivered(status: ShipmentStatus, delivered_at: datetime | None) -> bool:
    return delivered_at is not None or status is ShipmentStatus.DELIVERED
