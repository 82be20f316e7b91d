"""Leaky-bucket arithmetic and tolerant parsing of Shopify's `extensions.cost`."""

from __future__ import annotations

import math

import pytest

from service.admin.cost import QueryCost, ThrottleStatus, parse_cost, seconds_until_available

BUCKET = ThrottleStatus(maximum_available=2000.0, currently_available=100.0, restore_rate=100.0)


@pytest.mark.parametrize(
    ("needed", "elapsed", "expected"),
    [
        (50, 0.0, 0.0),  # already there
        (100, 0.0, 0.0),  # exactly enough
        (150, 0.0, 0.5),  # 50 missing at 100/s
        (1000, 0.0, 9.0),
        (1000, 4.0, 5.0),  # 4 s since the status was seen: 400 restored meanwhile
        (1000, 20.0, 0.0),  # refilled long ago
        (2000, 0.0, 19.0),  # a full bucket is reachable
        (2000, 100.0, 0.0),  # refilling stops at the maximum, and the maximum suffices
        (150, -3.0, 0.5),  # a clock that went backwards counts as no time passed
    ],
)
def test_seconds_until_available(needed: float, elapsed: float, expected: float) -> None:
    assert seconds_until_available(BUCKET, needed=needed, elapsed=elapsed) == pytest.approx(
        expected
    )


@pytest.mark.parametrize(
    ("status", "needed"),
    [
        (BUCKET, 2001),  # costs more than the bucket can ever hold
        (ThrottleStatus(2000.0, 10.0, 0.0), 50),  # a bucket that does not refill
    ],
)
def test_seconds_until_available_is_infinite_when_never_possible(
    status: ThrottleStatus, needed: float
) -> None:
    assert seconds_until_available(status, needed=needed) == math.inf


def test_parse_cost_reads_shopify_extensions() -> None:
    extensions = {
        "cost": {
            "requestedQueryCost": 52,
            "actualQueryCost": 14,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 1986,
                "restoreRate": 100.0,
            },
        }
    }

    assert parse_cost(extensions) == QueryCost(
        requested=52, actual=14, throttle=ThrottleStatus(2000.0, 1986.0, 100.0)
    )


@pytest.mark.parametrize(
    "extensions",
    [None, "cost", 3, [], {}, {"cost": None}, {"cost": "12"}, {"cost": [1, 2]}],
)
def test_parse_cost_without_a_cost_object_is_none(extensions: object) -> None:
    assert parse_cost(extensions) is None


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        ({}, QueryCost(None, None, None)),
        ({"requestedQueryCost": 10, "actualQueryCost": None}, QueryCost(10, None, None)),
        ({"requestedQueryCost": True, "actualQueryCost": "7"}, QueryCost(None, None, None)),
        ({"requestedQueryCost": -1, "actualQueryCost": 2.5}, QueryCost(None, None, None)),
        ({"requestedQueryCost": 12.0}, QueryCost(12, None, None)),
        ({"requestedQueryCost": float("nan")}, QueryCost(None, None, None)),
        ({"throttleStatus": {"maximumAvailable": 2000}}, QueryCost(None, None, None)),
        (
            {
                "throttleStatus": {
                    "maximumAvailable": 1,
                    "currentlyAvailable": "x",
                    "restoreRate": 1,
                }
            },
            QueryCost(None, None, None),
        ),
        (
            {"throttleStatus": {"maximumAvailable": 1, "currentlyAvailable": 0, "restoreRate": 1}},
            QueryCost(None, None, ThrottleStatus(1.0, 0.0, 1.0)),
        ),
    ],
)
def test_parse_cost_drops_junk_parts(cost: dict[str, object], expected: QueryCost) -> None:
    assert parse_cost({"cost": cost}) == expected
