"""Pure leaky-bucket arithmetic for Shopify's calculated query cost: parsing a response's cost,
the bucket's level over time, and when a call may go. No I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThrottleStatus:
    """The shop's bucket as Shopify reported it: capacity, points left, refill per second."""

    maximum_available: float
    currently_available: float
    restore_rate: float


@dataclass(frozen=True, slots=True)
class QueryCost:
    """One response's `extensions.cost`; any part Shopify left out (or garbled) is None."""

    requested: int | None
    actual: int | None
    throttle: ThrottleStatus | None


def _number(value: object) -> float | None:
    # bool is an int subclass; a cost of `true` is junk, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _whole(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def _throttle(value: object) -> ThrottleStatus | None:
    if not isinstance(value, Mapping):
        return None
    maximum = _number(value.get("maximumAvailable"))
    current = _number(value.get("currentlyAvailable"))
    rate = _number(value.get("restoreRate"))
    if maximum is None or current is None or rate is None:
        return None
    return ThrottleStatus(maximum_available=maximum, currently_available=current, restore_rate=rate)


def parse_cost(extensions: object) -> QueryCost | None:
    """The cost in a GraphQL response's `extensions`, or None when there is none to read."""
    if not isinstance(extensions, Mapping):
        return None
    cost = extensions.get("cost")
    if not isinstance(cost, Mapping):
        return None
    return QueryCost(
        requested=_whole(cost.get("requestedQueryCost")),
        actual=_whole(cost.get("actualQueryCost")),
        throttle=_throttle(cost.get("throttleStatus")),
    )


def seconds_until_available(
    status: ThrottleStatus, *, needed: float, elapsed: float = 0.0
) -> float:
    """Seconds from now until `needed` points are in the bucket last seen `elapsed` seconds ago.

    It is 0 when the points there suffice, and `math.inf` when they never can: a query
    costing more than the bucket holds, or a bucket that does not refill.
    """
    available = level(observe(status, now=0.0), now=elapsed)
    if needed <= available:
        return 0.0
    if needed > status.maximum_available or status.restore_rate <= 0:
        return math.inf
    return (needed - available) / status.restore_rate


@dataclass(frozen=True, slots=True)
class BucketState:
    """The shop's bucket as last known: `available` points at time `observed_at`."""

    maximum: float
    available: float
    restore_rate: float
    observed_at: float


def observe(status: ThrottleStatus, *, now: float) -> BucketState:
    """The bucket as a response's `throttleStatus` reports it, received at `now`."""
    return BucketState(
        maximum=status.maximum_available,
        available=status.currently_available,
        restore_rate=status.restore_rate,
        observed_at=now,
    )


def level(state: BucketState, *, now: float) -> float:
    """Points in the bucket at `now`: refilled since it was observed, never beyond its maximum."""
    elapsed = max(now - state.observed_at, 0.0)
    return min(state.maximum, state.available + state.restore_rate * elapsed)


def admit(state: BucketState | None, *, cost: float, now: float, reserve: float) -> float:
    """Seconds until a call of `cost` may go, leaving `reserve` points: 0 is now, inf is never.

    An unknown bucket admits everything; the first response tells what it holds. A call
    that costs more than the bucket can hold never goes.
    """
    if state is None:
        return 0.0
    if cost > state.maximum:
        return math.inf
    needed = min(cost + reserve, state.maximum)
    status = ThrottleStatus(
        maximum_available=state.maximum,
        currently_available=state.available,
        restore_rate=state.restore_rate,
    )
    return seconds_until_available(status, needed=needed, elapsed=now - state.observed_at)


def take(state: BucketState | None, *, cost: float, now: float) -> BucketState | None:
    """The bucket after an admitted call of `cost` left at `now`."""
    if state is None:
        return None
    return BucketState(
        maximum=state.maximum,
        available=level(state, now=now) - cost,
        restore_rate=state.restore_rate,
        observed_at=now,
    )
