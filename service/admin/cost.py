"""Pure leaky-bucket arithmetic for Shopify's calculated query cost; no I/O."""

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

    The bucket refills at `restore_rate` but never beyond `maximum_available`, so the points
    it holds now are `min(maximum, current + rate * elapsed)`. It is 0 when they already
    suffice, and `math.inf` when they never can: a query costing more than the bucket holds,
    or a bucket that does not refill.
    """
    elapsed = max(elapsed, 0.0)
    available = min(
        status.maximum_available, status.currently_available + status.restore_rate * elapsed
    )
    if needed <= available:
        return 0.0
    if needed > status.maximum_available or status.restore_rate <= 0:
        return math.inf
    return (needed - available) / status.restore_rate
