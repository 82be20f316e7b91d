"""The pure eligibility rules: every reason, their precedence, exact edges, cut-offs across DST."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.eligibility import (
    cancellation_eligibility,
    first_cutoff_after,
    needs_review,
    not_received_eligibility,
    relevant_shipment,
)
from service.models import (
    Eligibility,
    EligibilityReason,
    FulfillmentOrder,
    FulfillmentOrderStatus,
    FulfillmentStatus,
    LineItem,
    Order,
    RiskLevel,
    Shipment,
    ShipmentStatus,
)
from service.policy import CancellationMode, CancellationPolicy, NotReceivedPolicy
from tests import factories
from tests.factories import PLACED_AT

R = EligibilityReason
US = timedelta(microseconds=1)
OSLO = ZoneInfo("Europe/Oslo")


def utc(
    year: int, month: int, day: int, hour: int, minute: int, second: int = 0, micro: int = 0
) -> datetime:
    """A moment given in UTC."""
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# --- first_cutoff_after ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("placed_at", "cutoff", "zone", "expected"),
    [
        pytest.param(
            utc(2025, 6, 2, 9, 0), time(14, 30), ZoneInfo("UTC"), utc(2025, 6, 2, 14, 30),
            id="before-cutoff-same-day",
        ),
        pytest.param(
            utc(2025, 6, 2, 14, 29, 59, 999999), time(14, 30), ZoneInfo("UTC"),
            utc(2025, 6, 2, 14, 30), id="one-microsecond-before-cutoff-same-day",
        ),
        pytest.param(
            utc(2025, 6, 2, 14, 30), time(14, 30), ZoneInfo("UTC"), utc(2025, 6, 3, 14, 30),
            id="exactly-at-cutoff-next-day",
        ),
        pytest.param(
            utc(2025, 6, 2, 14, 30, 0, 1), time(14, 30), ZoneInfo("UTC"),
            utc(2025, 6, 3, 14, 30), id="just-after-cutoff-next-day",
        ),
        pytest.param(
            utc(2025, 3, 29, 14, 0), time(14, 30), OSLO, utc(2025, 3, 30, 12, 30),
            id="oslo-spring-forward-next-day-is-summer-time",
        ),
        pytest.param(
            utc(2025, 10, 25, 13, 0), time(14, 30), OSLO, utc(2025, 10, 26, 13, 30),
            id="oslo-fall-back-next-day-is-winter-time",
        ),
        pytest.param(
            utc(2025, 3, 29, 23, 0), time(2, 30), OSLO, utc(2025, 3, 30, 1, 30),
            id="oslo-cutoff-in-gap-shifts-later-by-the-gap",
        ),
        pytest.param(
            utc(2025, 10, 25, 23, 0), time(2, 30), OSLO, utc(2025, 10, 26, 0, 30),
            id="oslo-cutoff-in-fold-is-first-occurrence",
        ),
        pytest.param(
            utc(2025, 10, 26, 0, 45), time(2, 30), OSLO, utc(2025, 10, 27, 1, 30),
            id="oslo-placed-between-repeated-cutoffs-waits-for-next-day",
        ),
        pytest.param(
            utc(2025, 6, 3, 2, 0), time(20, 0), ZoneInfo("America/Los_Angeles"),
            utc(2025, 6, 3, 3, 0), id="los-angeles-local-date-behind-utc-date",
        ),
        pytest.param(
            utc(2025, 6, 2, 20, 0), time(9, 0), ZoneInfo("Pacific/Auckland"),
            utc(2025, 6, 2, 21, 0), id="auckland-local-date-ahead-of-utc-date",
        ),
        pytest.param(
            datetime(2025, 6, 2, 16, 0, tzinfo=OSLO), time(14, 30), OSLO,
            utc(2025, 6, 3, 12, 30), id="placed-at-given-in-shop-zone",
        ),
        pytest.param(
            utc(2025, 3, 30, 1, 10), time(23, 30), ZoneInfo("America/Nuuk"),
            utc(2025, 3, 30, 1, 30), id="nuuk-gap-before-midnight-pushes-cutoff-past-it",
        ),
        pytest.param(
            utc(2011, 12, 29, 23, 0), time(14, 30), ZoneInfo("Pacific/Apia"),
            utc(2011, 12, 30, 0, 30), id="apia-before-the-skipped-day",
        ),
    ],
)  # fmt: skip
def test_first_cutoff_after(
    placed_at: datetime, cutoff: time, zone: ZoneInfo, expected: datetime
) -> None:
    assert first_cutoff_after(placed_at, cutoff=cutoff, zone=zone) == expected


def test_first_cutoff_after_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        first_cutoff_after(datetime(2025, 6, 2, 9, 0), cutoff=time(14, 30), zone=OSLO)  # noqa: DTZ001


# --- cancellation: every reason and its precedence ----------------------------------------

SHIPPED = factories.shipment(PLACED_AT + timedelta(minutes=5))
CLOSED_FO = FulfillmentOrder(id="fo-1", status=FulfillmentOrderStatus.CLOSED)
OPEN_FO = FulfillmentOrder(id="fo-2", status=FulfillmentOrderStatus.OPEN)
IN_PROGRESS_FO = FulfillmentOrder(id="fo-3", status=FulfillmentOrderStatus.IN_PROGRESS)
ON_HOLD_FO = FulfillmentOrder(id="fo-4", status=FulfillmentOrderStatus.ON_HOLD)
CUTOFF_POLICY = CancellationPolicy(window_minutes=24 * 60, fulfillment_cutoff="11:00")
CANCELLATION_CASES: list[Any] = [
    pytest.param({"cancelled_at": PLACED_AT}, {}, 10, False, R.ALREADY_CANCELLED, id="cancelled"),
    pytest.param({}, {}, 10, True, R.ALREADY_REQUESTED, id="open-request"),
    pytest.param({"closed": True}, {}, 10, False, R.ORDER_CLOSED, id="closed"),
    pytest.param(
        {"fulfillment_status": FulfillmentStatus.FULFILLED}, {}, 10, False, R.ALREADY_FULFILLED,
        id="fulfilled",
    ),
    pytest.param(
        {"shipments": (SHIPPED,), "fulfillment_orders": (CLOSED_FO,)}, {}, 10, False,
        R.ALREADY_FULFILLED, id="shipped-nothing-left-while-status-lags",
    ),
    pytest.param(
        {"fulfillment_status": FulfillmentStatus.PARTIALLY_FULFILLED}, {}, 10, False,
        R.PARTIALLY_FULFILLED, id="partially-fulfilled",
    ),
    pytest.param(
        {"shipments": (SHIPPED,), "fulfillment_orders": (CLOSED_FO, OPEN_FO)}, {}, 10, False,
        R.PARTIALLY_FULFILLED, id="shipped-with-items-left-while-status-lags",
    ),
    pytest.param(
        {"fulfillment_status": FulfillmentStatus.PARTIALLY_FULFILLED, "shipments": (SHIPPED,)},
        {}, 10, False, R.PARTIALLY_FULFILLED, id="partially-fulfilled-with-no-fulfillment-orders",
    ),
    pytest.param(
        {"fulfillment_status": FulfillmentStatus.IN_PROGRESS}, {}, 10, False,
        R.FULFILLMENT_IN_PROGRESS, id="in-progress",
    ),
    pytest.param(
        {"fulfillment_orders": (OPEN_FO, IN_PROGRESS_FO)}, {}, 10, False,
        R.FULFILLMENT_IN_PROGRESS, id="fulfillment-order-in-progress",
    ),
    pytest.param(
        {"fulfillment_status": FulfillmentStatus.ON_HOLD}, {}, 10, False,
        R.FULFILLMENT_ON_HOLD, id="on-hold",
    ),
    pytest.param(
        {"fulfillment_orders": (ON_HOLD_FO,)}, {}, 10, False, R.FULFILLMENT_ON_HOLD,
        id="fulfillment-order-on-hold",
    ),
    pytest.param(
        {"tags": ("gift", " Non-Cancellable ")}, {}, 10, False, R.NON_CANCELLABLE_ITEM,
        id="order-tag-any-case-and-spacing",
    ),
    pytest.param(
        {"line_items": (LineItem("Cake", None, 1, product_tags=("FRESH",)),)},
        {"non_cancellable_tags": ("fresh",)}, 10, False, R.NON_CANCELLABLE_ITEM,
        id="product-tag",
    ),
    pytest.param({}, {}, 61, False, R.WINDOW_CLOSED, id="window-closed"),
    pytest.param({}, {"window_minutes": 0}, 0, False, R.WINDOW_CLOSED, id="zero-minute-window"),
    pytest.param({}, CUTOFF_POLICY, 61, False, R.PAST_FULFILLMENT_CUTOFF, id="past-cutoff"),
    # Precedence: with several rules failing, the first in the documented order wins.
    pytest.param(
        {"cancelled_at": PLACED_AT, "closed": True}, {}, 10, True, R.ALREADY_CANCELLED,
        id="cancelled-beats-requested-and-closed",
    ),
    pytest.param(
        {"closed": True}, {}, 10, True, R.ALREADY_REQUESTED, id="requested-beats-closed"
    ),
    pytest.param(
        {"closed": True, "fulfillment_status": FulfillmentStatus.FULFILLED}, {}, 10, False,
        R.ORDER_CLOSED, id="closed-beats-fulfilled",
    ),
    pytest.param(
        {"fulfillment_status": FulfillmentStatus.PARTIALLY_FULFILLED,
         "fulfillment_orders": (IN_PROGRESS_FO,)}, {}, 10, False,
        R.PARTIALLY_FULFILLED, id="partially-fulfilled-beats-in-progress",
    ),
    pytest.param(
        {"fulfillment_orders": (ON_HOLD_FO, IN_PROGRESS_FO)}, {}, 10, False,
        R.FULFILLMENT_IN_PROGRESS, id="in-progress-beats-on-hold",
    ),
    pytest.param(
        {"fulfillment_status": FulfillmentStatus.ON_HOLD, "tags": ("non-cancellable",)}, {},
        10, False, R.FULFILLMENT_ON_HOLD, id="on-hold-beats-tag",
    ),
    pytest.param(
        {"tags": ("non-cancellable",)}, {}, 61, False, R.NON_CANCELLABLE_ITEM,
        id="tag-beats-window",
    ),
    pytest.param(
        {}, {"window_minutes": 30, "fulfillment_cutoff": "11:00"}, 61, False, R.WINDOW_CLOSED,
        id="window-beats-cutoff",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("order_changes", "policy_fields", "minutes_after", "open_request", "reason"),
    CANCELLATION_CASES,
)
def test_cancellation_refusal_reason(
    order_changes: dict[str, Any],
    policy_fields: dict[str, Any] | CancellationPolicy,
    minutes_after: int,
    open_request: bool,
    reason: EligibilityReason,
) -> None:
    policy = (
        policy_fields
        if isinstance(policy_fields, CancellationPolicy)
        else CancellationPolicy.model_validate(policy_fields)
    )
    now = PLACED_AT + timedelta(minutes=minutes_after)
    result = cancellation_eligibility(
        factories.order(**order_changes), policy, now, open_request=open_request
    )
    assert result == Eligibility.refused(reason)


def test_cancellation_ignores_tags_the_policy_does_not_name() -> None:
    order = factories.order(tags=("gift",), line_items=(LineItem("Socks", None, 1, ("wool",)),))
    result = cancellation_eligibility(order, CancellationPolicy(), PLACED_AT)
    assert result == Eligibility.allowed(until=PLACED_AT + timedelta(minutes=60))


# --- cancellation: exact edges of the window and the cut-off -------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(PLACED_AT, Eligibility.allowed(until=utc(2025, 6, 2, 11, 0)), id="at-placing"),
        pytest.param(
            utc(2025, 6, 2, 10, 59, 59), Eligibility.allowed(until=utc(2025, 6, 2, 11, 0)),
            id="one-second-before",
        ),
        pytest.param(
            utc(2025, 6, 2, 11, 0) - US, Eligibility.allowed(until=utc(2025, 6, 2, 11, 0)),
            id="one-microsecond-before",
        ),
        pytest.param(utc(2025, 6, 2, 11, 0), Eligibility.refused(R.WINDOW_CLOSED), id="at-end"),
        pytest.param(
            utc(2025, 6, 2, 11, 0) + US, Eligibility.refused(R.WINDOW_CLOSED), id="after-end"
        ),
    ],
)  # fmt: skip
def test_cancellation_window_is_half_open(now: datetime, expected: Eligibility) -> None:
    assert cancellation_eligibility(factories.order(), CancellationPolicy(), now) == expected


@pytest.mark.parametrize(
    ("placed_at", "cutoff", "window_minutes", "until"),
    [
        pytest.param(
            utc(2025, 6, 2, 13, 59), time(14, 0), 60, utc(2025, 6, 2, 14, 0),
            id="placed-just-before-cutoff-until-is-cutoff",
        ),
        pytest.param(
            utc(2025, 6, 2, 14, 1), time(14, 0), 60, utc(2025, 6, 2, 15, 1),
            id="placed-just-after-cutoff-until-is-window",
        ),
        pytest.param(
            utc(2025, 6, 2, 14, 0), time(14, 0), 48 * 60, utc(2025, 6, 3, 14, 0),
            id="placed-at-cutoff-until-is-next-days-cutoff",
        ),
    ],
)  # fmt: skip
def test_cancellation_until_is_earlier_of_window_and_cutoff(
    placed_at: datetime, cutoff: time, window_minutes: int, until: datetime
) -> None:
    policy = CancellationPolicy(window_minutes=window_minutes, fulfillment_cutoff=f"{cutoff:%H:%M}")
    result = cancellation_eligibility(factories.order(placed_at=placed_at), policy, placed_at)
    assert result == Eligibility.allowed(until=until)


@pytest.mark.parametrize(
    ("placed_at", "cutoff_utc"),
    [
        pytest.param(utc(2025, 3, 29, 14, 0), utc(2025, 3, 30, 12, 30), id="spring-forward"),
        pytest.param(utc(2025, 10, 25, 13, 0), utc(2025, 10, 26, 13, 30), id="fall-back"),
    ],
)
@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        pytest.param(-US, None, id="microsecond-before"),
        pytest.param(timedelta(0), R.PAST_FULFILLMENT_CUTOFF, id="at"),
        pytest.param(timedelta(seconds=1), R.PAST_FULFILLMENT_CUTOFF, id="second-after"),
    ],
)
def test_cancellation_cutoff_across_oslo_dst_change(
    placed_at: datetime, cutoff_utc: datetime, offset: timedelta, reason: EligibilityReason | None
) -> None:
    policy = CancellationPolicy(
        window_minutes=3 * 24 * 60, fulfillment_cutoff="14:30", timezone="Europe/Oslo"
    )
    result = cancellation_eligibility(
        factories.order(placed_at=placed_at), policy, cutoff_utc + offset
    )
    expected = (
        Eligibility.allowed(until=cutoff_utc) if reason is None else Eligibility.refused(reason)
    )
    assert result == expected


def test_cancellation_cutoff_in_shop_zone_where_local_date_differs_from_utc() -> None:
    # 23:30 UTC on 2 June is already 3 June in Tokyo, so the 10:00 cut-off is the same night.
    policy = CancellationPolicy(
        window_minutes=24 * 60, fulfillment_cutoff="10:00", timezone="Asia/Tokyo"
    )
    order = factories.order(placed_at=utc(2025, 6, 2, 23, 30))
    result = cancellation_eligibility(order, policy, utc(2025, 6, 2, 23, 45))
    assert result == Eligibility.allowed(until=utc(2025, 6, 3, 1, 0))


def test_cancellation_compares_instants_not_wall_times_of_the_same_zone() -> None:
    # Both datetimes in Europe/Oslo: same-zone comparisons in Python ignore `fold`.
    placed_at = datetime(2025, 10, 26, 2, 10, tzinfo=OSLO)  # first 02:10, 00:10 UTC
    now = datetime(2025, 10, 26, 2, 5, fold=1, tzinfo=OSLO)  # second 02:05, 01:05 UTC
    policy = CancellationPolicy(window_minutes=30)  # 55 minutes have passed, 5 on the wall clock
    result = cancellation_eligibility(factories.order(placed_at=placed_at), policy, now)
    assert result == Eligibility.refused(R.WINDOW_CLOSED)


def test_cancellation_window_counts_elapsed_minutes_across_fall_back() -> None:
    placed_at = datetime(2025, 10, 26, 1, 30, tzinfo=OSLO)  # 23:30 UTC the day before
    policy = CancellationPolicy(window_minutes=120)
    result = cancellation_eligibility(factories.order(placed_at=placed_at), policy, placed_at)
    assert result == Eligibility.allowed(until=utc(2025, 10, 26, 1, 30))


# --- needs_review ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "risk_levels", "expected"),
    [
        pytest.param(CancellationMode.AUTOMATIC, (), False, id="automatic-no-risk"),
        pytest.param(CancellationMode.AUTOMATIC, (RiskLevel.LOW,), False, id="automatic-low"),
        pytest.param(
            CancellationMode.AUTOMATIC, (RiskLevel.LOW, RiskLevel.HIGH), True, id="automatic-high"
        ),
        pytest.param(CancellationMode.REVIEW, (), True, id="review-mode"),
    ],
)
def test_needs_review(
    mode: CancellationMode, risk_levels: tuple[RiskLevel, ...], expected: bool
) -> None:
    policy = CancellationPolicy(mode=mode)
    assert needs_review(factories.order(risk_levels=risk_levels), policy) is expected


# --- not received ----------------------------------------------------------------------------

SHIP = utc(2025, 6, 3, 12, 0)
DAY = timedelta(days=1)
NR_POLICY = NotReceivedPolicy()  # min 5 days, grace 2 days, window 60 days


@pytest.mark.parametrize(
    ("order_changes", "now", "open_report", "expected"),
    [
        pytest.param(
            {"cancelled_at": PLACED_AT}, SHIP + 10 * DAY, False,
            Eligibility.refused(R.ALREADY_CANCELLED), id="cancelled-before-shipping",
        ),
        pytest.param(
            {"cancelled_at": PLACED_AT, "shipments": (factories.shipment(SHIP),)}, SHIP + 10 * DAY,
            False, Eligibility.allowed(until=SHIP + 60 * DAY), id="cancelled-after-shipping",
        ),
        pytest.param(
            {"shipments": (factories.shipment(SHIP),)}, SHIP + 10 * DAY, True,
            Eligibility.refused(R.ALREADY_REPORTED), id="open-report",
        ),
        pytest.param(
            {}, SHIP + 10 * DAY, False, Eligibility.refused(R.NOT_SHIPPED_YET),
            id="not-shipped",
        ),
        pytest.param(
            {"cancelled_at": PLACED_AT}, SHIP, True, Eligibility.refused(R.ALREADY_CANCELLED),
            id="cancelled-beats-reported",
        ),
        pytest.param(
            {}, SHIP, True, Eligibility.refused(R.ALREADY_REPORTED),
            id="reported-beats-not-shipped",
        ),
    ],
)  # fmt: skip
def test_not_received_order_state(
    order_changes: dict[str, Any], now: datetime, open_report: bool, expected: Eligibility
) -> None:
    order = factories.order(**order_changes)
    assert not_received_eligibility(order, NR_POLICY, now, open_report=open_report) == expected


@pytest.mark.parametrize(
    ("estimate", "now", "expected"),
    [
        pytest.param(
            None, SHIP + 5 * DAY - US,
            Eligibility.refused(R.TOO_EARLY, available_from=SHIP + 5 * DAY),
            id="min-days-microsecond-before",
        ),
        pytest.param(
            None, SHIP + 5 * DAY, Eligibility.allowed(until=SHIP + 60 * DAY), id="min-days-at"
        ),
        pytest.param(
            SHIP + 7 * DAY, SHIP + 9 * DAY - US,
            Eligibility.refused(R.TOO_EARLY, available_from=SHIP + 9 * DAY),
            id="estimate-plus-grace-later-microsecond-before",
        ),
        pytest.param(
            SHIP + 7 * DAY, SHIP + 9 * DAY, Eligibility.allowed(until=SHIP + 60 * DAY),
            id="estimate-plus-grace-later-at",
        ),
        pytest.param(
            SHIP + DAY, SHIP + 5 * DAY - US,
            Eligibility.refused(R.TOO_EARLY, available_from=SHIP + 5 * DAY),
            id="min-days-later-than-estimate-plus-grace",
        ),
        pytest.param(
            None, SHIP + 60 * DAY - timedelta(seconds=1),
            Eligibility.allowed(until=SHIP + 60 * DAY), id="window-second-before-end",
        ),
        pytest.param(
            None, SHIP + 60 * DAY - US, Eligibility.allowed(until=SHIP + 60 * DAY),
            id="window-microsecond-before-end",
        ),
        pytest.param(
            None, SHIP + 60 * DAY, Eligibility.refused(R.REPORT_WINDOW_CLOSED), id="window-end"
        ),
        pytest.param(
            None, SHIP + 60 * DAY + US, Eligibility.refused(R.REPORT_WINDOW_CLOSED),
            id="window-after-end",
        ),
        pytest.param(
            SHIP + 70 * DAY, SHIP + 59 * DAY, Eligibility.refused(R.TOO_EARLY),
            id="never-possible-is-too-early-without-from",
        ),
        pytest.param(
            SHIP + 70 * DAY, SHIP + 60 * DAY, Eligibility.refused(R.REPORT_WINDOW_CLOSED),
            id="never-possible-closes-with-the-window",
        ),
    ],
)  # fmt: skip
def test_not_received_time_edges(
    estimate: datetime | None, now: datetime, expected: Eligibility
) -> None:
    order = factories.order(shipments=(factories.shipment(SHIP, estimated_delivery_at=estimate),))
    assert not_received_eligibility(order, NR_POLICY, now) == expected


def test_not_received_counts_days_as_24_hours_across_dst() -> None:
    # Shipped the day before Oslo springs forward: 5 days later is 5 * 24 h, whatever the zone.
    shipped = datetime(2025, 3, 29, 12, 0, tzinfo=OSLO)
    order = factories.order(shipments=(factories.shipment(shipped),))
    result = not_received_eligibility(order, NR_POLICY, shipped)
    assert result.available_from == utc(2025, 4, 3, 11, 0)


def test_not_received_window_ends_after_exact_days_across_dst() -> None:
    shipped = datetime(2025, 3, 1, 12, 0, tzinfo=OSLO)  # 11:00 UTC, winter time
    order = factories.order(shipments=(factories.shipment(shipped),))
    result = not_received_eligibility(order, NR_POLICY, shipped + timedelta(days=10))
    assert result == Eligibility.allowed(until=utc(2025, 4, 30, 11, 0))


def test_not_received_allows_reporting_a_delivered_parcel() -> None:
    delivered = factories.shipment(
        SHIP, status=ShipmentStatus.DELIVERED, delivered_at=SHIP + 2 * DAY
    )
    order = factories.order(shipments=(delivered,))
    result = not_received_eligibility(order, NR_POLICY, SHIP + 6 * DAY)
    assert result == Eligibility.allowed(until=SHIP + 60 * DAY)


def test_not_received_judges_the_latest_undelivered_shipment() -> None:
    old_undelivered = factories.shipment(SHIP)
    new_delivered = factories.shipment(SHIP + 4 * DAY, delivered_at=SHIP + 5 * DAY)
    order = factories.order(shipments=(old_undelivered, new_delivered))
    result = not_received_eligibility(order, NR_POLICY, SHIP + 6 * DAY)
    assert result == Eligibility.allowed(until=SHIP + 60 * DAY)


FIRST = factories.shipment(SHIP, tracking_number="1")
SECOND = factories.shipment(SHIP + DAY, tracking_number="2")
THIRD = factories.shipment(SHIP + 2 * DAY, tracking_number="3")


def delivered(shipment: Shipment, *, with_date: bool = True) -> Shipment:
    """`shipment` as the carrier reports it once delivered, with or without a delivery date."""
    delivered_at = shipment.shipped_at + DAY if with_date else None
    return replace(shipment, status=ShipmentStatus.DELIVERED, delivered_at=delivered_at)


@pytest.mark.parametrize(
    ("shipments", "expected_tracking"),
    [
        pytest.param((), None, id="none"),
        pytest.param((THIRD, FIRST, SECOND), "3", id="latest-by-shipped-at-not-list-order"),
        pytest.param((FIRST, SECOND, delivered(THIRD)), "2", id="latest-undelivered"),
        pytest.param(
            (FIRST, SECOND, delivered(THIRD, with_date=False)), "2",
            id="delivered-status-without-date-counts-as-delivered",
        ),
        pytest.param(
            (FIRST, SECOND, replace(THIRD, delivered_at=SHIP + 3 * DAY)), "2",
            id="delivery-date-without-status-counts-as-delivered",
        ),
        pytest.param(
            (delivered(FIRST), delivered(THIRD), delivered(SECOND)), "3", id="all-delivered"
        ),
        pytest.param(
            (FIRST, replace(FIRST, tracking_number="tie")), "tie", id="tie-takes-listed-last"
        ),
    ],
)  # fmt: skip
def test_relevant_shipment(shipments: tuple[Shipment, ...], expected_tracking: str | None) -> None:
    chosen = relevant_shipment(factories.order(shipments=shipments))
    assert (chosen.tracking_number if chosen else None) == expected_tracking


# --- properties over random orders -----------------------------------------------------------

ZONES = ["UTC", "Europe/Oslo", "America/Los_Angeles", "Pacific/Auckland", "Australia/Lord_Howe"]
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2040, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([ZoneInfo(name) for name in ZONES]),
)
offsets = st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=90))
cancellation_policies = st.builds(
    CancellationPolicy,
    window_minutes=st.integers(min_value=0, max_value=5 * 24 * 60),
    fulfillment_cutoff=st.none()
    | st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59)),
    timezone=st.sampled_from(ZONES),
)
orders = st.builds(
    factories.order,
    placed_at=moments,
    closed=st.booleans(),
    fulfillment_status=st.sampled_from(FulfillmentStatus),
)
shipments = st.builds(
    factories.shipment,
    moments,
    estimated_delivery_at=st.none() | moments,
    delivered_at=st.none() | moments,
)
not_received_policies = st.builds(
    NotReceivedPolicy,
    min_days_after_shipment=st.integers(0, 30),
    grace_days_after_estimated_delivery=st.integers(0, 30),
    report_window_days=st.integers(1, 90),
)


@given(order=orders, policy=cancellation_policies, offset=offsets)
def test_cancellation_eligible_only_until_a_later_until(
    order: Order, policy: CancellationPolicy, offset: timedelta
) -> None:
    now = order.placed_at + offset
    result = cancellation_eligibility(order, policy, now)
    if result.eligible:
        assert result.until is not None
        assert result.until > now
        assert cancellation_eligibility(order, policy, result.until - US).eligible
        assert not cancellation_eligibility(order, policy, result.until).eligible


@given(
    shipped=st.lists(shipments, min_size=1, max_size=3),
    policy=not_received_policies,
    offset=offsets,
)
def test_not_received_from_and_until_are_exact(
    shipped: list[Shipment], policy: NotReceivedPolicy, offset: timedelta
) -> None:
    order = factories.order(shipments=tuple(shipped))
    now = shipped[0].shipped_at + offset
    result = not_received_eligibility(order, policy, now)
    if result.reason is R.TOO_EARLY and result.available_from is not None:
        assert result.available_from > now
        assert not not_received_eligibility(order, policy, result.available_from - US).eligible
        assert not_received_eligibility(order, policy, result.available_from).eligible
    if result.eligible:
        assert result.until is not None
        assert result.until > now
        assert not not_received_eligibility(order, policy, result.until).eligible


# Two arbitrary instants: what an answer promises at one holds at the other (issue 16).
TIME_BOUND = (R.WINDOW_CLOSED, R.PAST_FULFILLMENT_CUTOFF)


@given(order=orders, policy=cancellation_policies, first=offsets, second=offsets)
def test_cancellation_until_holds_at_every_instant(
    order: Order, policy: CancellationPolicy, first: timedelta, second: timedelta
) -> None:
    earlier, later = sorted((order.placed_at + first, order.placed_at + second))
    before = cancellation_eligibility(order, policy, earlier)
    after = cancellation_eligibility(order, policy, later)
    if before.eligible:
        assert before.until is not None
        # Eligible strictly before `until`, with the same `until`; refused for time at it.
        assert after.eligible is (later < before.until)
        if after.eligible:
            assert after.until == before.until
        else:
            assert after.reason in TIME_BOUND
    elif before.reason in TIME_BOUND:
        assert not after.eligible  # a closed window never opens again
    else:
        assert after.reason == before.reason  # a state refusal does not depend on time
    if after.eligible:
        assert before.eligible or before.reason not in TIME_BOUND


@given(
    shipped=st.lists(shipments, min_size=1, max_size=3),
    policy=not_received_policies,
    first=offsets,
    second=offsets,
)
def test_not_received_from_and_until_hold_at_every_instant(
    shipped: list[Shipment], policy: NotReceivedPolicy, first: timedelta, second: timedelta
) -> None:
    order = factories.order(shipments=tuple(shipped))
    at, other = shipped[0].shipped_at + first, shipped[0].shipped_at + second
    answer = not_received_eligibility(order, policy, at)
    then = not_received_eligibility(order, policy, other)
    if answer.reason is R.TOO_EARLY:
        if answer.available_from is None:
            assert not then.eligible  # no `from` promised: never possible here
        else:
            # Too early before `from`, eligible from it until the window closes.
            assert answer.available_from > at
            if other < answer.available_from:
                assert then.reason is R.TOO_EARLY
                assert then.available_from == answer.available_from
            else:
                closes = not_received_eligibility(order, policy, answer.available_from).until
                assert closes is not None
                assert answer.available_from < closes
                assert then.eligible is (other < closes)
    if answer.eligible:
        assert answer.until is not None
        assert then.eligible is (then.reason is not R.TOO_EARLY and other < answer.until)
        if other >= answer.until:
            assert then.reason is R.REPORT_WINDOW_CLOSED
