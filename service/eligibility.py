"""Pure eligibility rules: may this order be cancelled, or reported as not received, at `now`?"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.models import (
    Eligibility,
    EligibilityReason,
    FulfillmentOrderStatus,
    FulfillmentStatus,
    Order,
    OrderFacts,
    Shipment,
    ShipmentStatus,
)
from service.policy import CancellationMode, CancellationPolicy, NotReceivedPolicy

# A fulfillment order in one of these states has nothing left for the warehouse to ship.
_DONE_FULFILLMENT_ORDERS = frozenset(
    {FulfillmentOrderStatus.CLOSED, FulfillmentOrderStatus.CANCELLED}
)


def first_cutoff_after(placed_at: datetime, *, cutoff: time, zone: ZoneInfo) -> datetime:
    """The first daily cut-off in `zone` strictly after `placed_at`, as an aware UTC datetime.

    The cut-off closes the day's packing batch, so an order placed exactly at it belongs to
    the next day's batch. It happens once per local day: on a fall-back day it is the first
    of the two moments showing that wall time; on a spring-forward day when the wall time does
    not exist it is shifted later by the length of the gap (02:30 in Europe/Oslo becomes 03:30
    summer time), as java.time does, so it stays the same elapsed time after local midnight.
    """
    placed = _utc(placed_at)
    local_day = placed.astimezone(zone).date()
    # The previous local day matters only when a cut-off late in the evening is pushed past
    # midnight by a gap; two days ahead covers a zone skipping a whole day (Pacific/Apia, 2011).
    for offset in range(-1, 3):
        candidate = _cutoff_on(local_day + timedelta(days=offset), cutoff=cutoff, zone=zone)
        if candidate > placed:
            return candidate
    raise AssertionError("unreachable: a cut-off two local days later is always after placed_at")


def cancellation_eligibility(
    order: Order, policy: CancellationPolicy, now: datetime, *, open_request: bool = False
) -> Eligibility:
    """May the customer request cancellation of `order` at `now`? The first failing rule wins."""
    refusal = _cancellation_state_refusal(order, policy, open_request=open_request)
    if refusal is not None:
        return Eligibility.refused(refusal)
    current = _utc(now)
    window_end = _utc(order.placed_at) + timedelta(minutes=policy.window_minutes)
    if current >= window_end:
        return Eligibility.refused(EligibilityReason.WINDOW_CLOSED)
    if policy.fulfillment_cutoff is None:
        return Eligibility.allowed(until=window_end)
    cutoff = first_cutoff_after(order.placed_at, cutoff=policy.fulfillment_cutoff, zone=policy.zone)
    if current >= cutoff:
        return Eligibility.refused(EligibilityReason.PAST_FULFILLMENT_CUTOFF)
    return Eligibility.allowed(until=min(window_end, cutoff))


def not_received_eligibility(
    order: Order, policy: NotReceivedPolicy, now: datetime, *, open_report: bool = False
) -> Eligibility:
    """May the customer report `order` as not received at `now`? The first failing rule wins."""
    if order.cancelled_at is not None and not order.shipments:
        return Eligibility.refused(EligibilityReason.ALREADY_CANCELLED)
    if open_report:
        return Eligibility.refused(EligibilityReason.ALREADY_REPORTED)
    shipment = relevant_shipment(order)
    if shipment is None:
        return Eligibility.refused(EligibilityReason.NOT_SHIPPED_YET)
    current = _utc(now)
    # Days are exact 24-hour durations, not calendar days in some zone: the carrier and the
    # customer may be in different zones, and a fixed duration is the same answer for both.
    shipped_at = _utc(shipment.shipped_at)
    window_end = shipped_at + timedelta(days=policy.report_window_days)
    if current >= window_end:
        return Eligibility.refused(EligibilityReason.REPORT_WINDOW_CLOSED)
    earliest = _earliest_report(shipment, policy)
    if current < earliest:
        # When the earliest report falls at or after the window's end the report never becomes
        # possible here, so no `from` is promised rather than a moment that would be refused.
        available_from = earliest if earliest < window_end else None
        return Eligibility.refused(EligibilityReason.TOO_EARLY, available_from=available_from)
    return Eligibility.allowed(until=window_end)


def order_facts(order: Order, cancellation: Eligibility) -> OrderFacts:
    """The facts a refusal's text rests on, from the order and whether it can be cancelled."""
    delivered = bool(order.shipments) and all(_delivered(each) for each in order.shipments)
    return OrderFacts(cancellable=cancellation.eligible, delivered=delivered)


def relevant_shipment(order: Order) -> Shipment | None:
    """The shipment the not-received rules judge: the latest undelivered one, else the latest."""
    undelivered = [shipment for shipment in order.shipments if not _delivered(shipment)]
    return _latest(undelivered) or _latest(order.shipments)


def needs_review(order: Order, policy: CancellationPolicy) -> bool:
    """Whether a cancellation request goes to staff instead of being carried out at once."""
    if policy.mode is CancellationMode.REVIEW:
        return True
    return any(level in policy.review_risk_levels for level in order.risk_levels)


def _cancellation_state_refusal(
    order: Order, policy: CancellationPolicy, *, open_request: bool
) -> EligibilityReason | None:
    """The first rule about the order's state (not about time) that refuses cancellation."""
    if order.cancelled_at is not None:
        return EligibilityReason.ALREADY_CANCELLED
    if open_request:
        return EligibilityReason.ALREADY_REQUESTED
    if order.closed:
        return EligibilityReason.ORDER_CLOSED
    fulfillment_reason = _fulfillment_refusal(order)
    if fulfillment_reason is not None:
        return fulfillment_reason
    if _has_non_cancellable_tag(order, policy):
        return EligibilityReason.NON_CANCELLABLE_ITEM
    return None


def _fulfillment_refusal(order: Order) -> EligibilityReason | None:
    """Refuse an order the warehouse has shipped, partly shipped, started on or holds."""
    status = order.fulfillment_status
    left_over = any(fo.status not in _DONE_FULFILLMENT_ORDERS for fo in order.fulfillment_orders)
    if status is FulfillmentStatus.FULFILLED or (
        order.shipments and not left_over and status is not FulfillmentStatus.PARTIALLY_FULFILLED
    ):
        return EligibilityReason.ALREADY_FULFILLED
    # A parcel is already on its way even when Shopify's display status lags behind.
    if status is FulfillmentStatus.PARTIALLY_FULFILLED or order.shipments:
        return EligibilityReason.PARTIALLY_FULFILLED
    fulfillment_order_states = {fo.status for fo in order.fulfillment_orders}
    if (
        status is FulfillmentStatus.IN_PROGRESS
        or FulfillmentOrderStatus.IN_PROGRESS in fulfillment_order_states
    ):
        return EligibilityReason.FULFILLMENT_IN_PROGRESS
    if (
        status is FulfillmentStatus.ON_HOLD
        or FulfillmentOrderStatus.ON_HOLD in fulfillment_order_states
    ):
        return EligibilityReason.FULFILLMENT_ON_HOLD
    return None


def _has_non_cancellable_tag(order: Order, policy: CancellationPolicy) -> bool:
    """Whether the order or one of its products has a tag the merchant made non-cancellable."""
    blocked = {_normalise_tag(tag) for tag in policy.non_cancellable_tags} - {""}
    return any(_normalise_tag(tag) in blocked for tag in _all_tags(order))


def _all_tags(order: Order) -> Iterator[str]:
    yield from order.tags
    for line_item in order.line_items:
        yield from line_item.product_tags


def _normalise_tag(tag: str) -> str:
    # Shopify tags are case-insensitive and merchants type them with stray spaces.
    return tag.strip().casefold()


def _earliest_report(shipment: Shipment, policy: NotReceivedPolicy) -> datetime:
    """The first moment a report is not too early: the later of the two waiting periods."""
    earliest = _utc(shipment.shipped_at) + timedelta(days=policy.min_days_after_shipment)
    if shipment.estimated_delivery_at is not None:
        after_estimate = _utc(shipment.estimated_delivery_at) + timedelta(
            days=policy.grace_days_after_estimated_delivery
        )
        earliest = max(earliest, after_estimate)
    return earliest


def _delivered(shipment: Shipment) -> bool:
    return shipment.delivered_at is not None or shipment.status is ShipmentStatus.DELIVERED


def _latest(shipments: tuple[Shipment, ...] | list[Shipment]) -> Shipment | None:
    """The shipment shipped last; on a tie the one listed last (Shopify lists oldest first)."""
    indexed = list(enumerate(shipments))
    if not indexed:
        return None
    return max(indexed, key=lambda pair: (_utc(pair[1].shipped_at), pair[0]))[1]


def _cutoff_on(day: date, *, cutoff: time, zone: ZoneInfo) -> datetime:
    """The cut-off instant of one local day, in UTC (gap and fold rules: `first_cutoff_after`)."""
    # fold=0 picks the first of two repeated wall times, and for a wall time inside a gap it
    # applies the offset from before the gap, which lands the gap's length later.
    wall = datetime.combine(day, cutoff.replace(tzinfo=None, fold=0)).replace(tzinfo=zone)
    return wall.astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC, so that comparisons and arithmetic are in elapsed time, never wall time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime has no place in policy decisions: {moment!r}")
    return moment.astimezone(UTC)
