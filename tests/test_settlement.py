"""How staff settled a request, judged from the order as it stood then and as it stands now."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from service.models import (
    FinancialStatus,
    FulfillmentOrderStatus,
    Order,
    RequestKind,
    RequestStatus,
    Resolution,
    ShipmentStatus,
)
from service.settlement import Settled, baseline, settled
from tests import factories

REPORTED_AT = factories.PLACED_AT + timedelta(days=12)


def review(order_then: Order, order_now: Order) -> Settled | None:
    return settled(
        kind=RequestKind.CANCELLATION,
        status=RequestStatus.PENDING_REVIEW,
        details=baseline(order_then),
        order=order_now,
    )


def report(order_then: Order, order_now: Order) -> Settled | None:
    return settled(
        kind=RequestKind.NOT_RECEIVED,
        status=RequestStatus.OPEN,
        details=baseline(order_then),
        order=order_now,
    )


OPEN_FULFILMENT = factories.fulfillment_order(FulfillmentOrderStatus.OPEN)
HELD = factories.fulfillment_order(FulfillmentOrderStatus.ON_HOLD)
UNDER_REVIEW = factories.order(fulfillment_orders=(OPEN_FULFILMENT,))
IN_TRANSIT = factories.order(
    financial_status=FinancialStatus.PAID,
    shipments=(
        factories.shipment(
            factories.PLACED_AT + timedelta(days=1), status=ShipmentStatus.IN_TRANSIT
        ),
    ),
)


def test_a_review_ends_cancelled_when_staff_cancel_the_order() -> None:
    now = replace(UNDER_REVIEW, cancelled_at=REPORTED_AT, fulfillment_orders=(HELD,))
    assert review(UNDER_REVIEW, now) == Settled(RequestStatus.CANCELLED, Resolution.CANCELLED)


def test_a_review_ends_declined_when_staff_release_the_hold() -> None:
    now = replace(UNDER_REVIEW, fulfillment_orders=(OPEN_FULFILMENT,))
    assert review(UNDER_REVIEW, now) == Settled(RequestStatus.DECLINED, Resolution.DECLINED)


def test_a_review_waits_while_the_order_is_held() -> None:
    assert review(UNDER_REVIEW, replace(UNDER_REVIEW, fulfillment_orders=(HELD,))) is None


def test_a_review_with_nothing_held_ends_only_by_a_cancel() -> None:
    nothing_to_hold = factories.order(fulfillment_orders=())
    assert review(nothing_to_hold, nothing_to_hold) is None


def test_a_report_ends_refunded_when_the_order_is_refunded_after_it() -> None:
    now = replace(IN_TRANSIT, financial_status=FinancialStatus.REFUNDED)
    assert report(IN_TRANSIT, now) == Settled(RequestStatus.RESOLVED, Resolution.REFUNDED)


def test_a_refund_from_before_the_report_settles_nothing() -> None:
    refunded = replace(IN_TRANSIT, financial_status=FinancialStatus.PARTIALLY_REFUNDED)
    assert report(refunded, refunded) is None


def test_a_report_ends_reshipped_when_a_new_parcel_leaves_after_it() -> None:
    replacement = factories.shipment(
        REPORTED_AT + timedelta(hours=2), status=ShipmentStatus.IN_TRANSIT
    )
    now = replace(IN_TRANSIT, shipments=(*IN_TRANSIT.shipments, replacement))
    assert report(IN_TRANSIT, now) == Settled(RequestStatus.RESOLVED, Resolution.RESHIPPED)


def test_a_report_ends_delivered_when_the_carrier_reports_delivery_after_it() -> None:
    delivered = replace(
        IN_TRANSIT.shipments[0],
        status=ShipmentStatus.DELIVERED,
        delivered_at=REPORTED_AT + timedelta(days=1),
    )
    now = replace(IN_TRANSIT, shipments=(delivered,))
    assert report(IN_TRANSIT, now) == Settled(RequestStatus.RESOLVED, Resolution.DELIVERED)


def test_a_report_waits_while_nothing_changed() -> None:
    assert report(IN_TRANSIT, IN_TRANSIT) is None


@pytest.mark.parametrize(
    "status", [RequestStatus.CANCELLED, RequestStatus.PROCESSING, RequestStatus.DECLINED]
)
def test_only_a_request_that_waits_for_staff_is_settled(status: RequestStatus) -> None:
    now = replace(UNDER_REVIEW, cancelled_at=REPORTED_AT)
    decision = settled(
        kind=RequestKind.CANCELLATION,
        status=status,
        details=baseline(UNDER_REVIEW),
        order=now,
    )
    assert decision is None


def test_a_request_kept_before_baselines_existed_waits_instead_of_guessing() -> None:
    now = replace(IN_TRANSIT, financial_status=FinancialStatus.REFUNDED)
    decision = settled(
        kind=RequestKind.NOT_RECEIVED,
        status=RequestStatus.OPEN,
        details={},
        order=now,
    )
    assert decision is None
