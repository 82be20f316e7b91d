"""The sandbox's leaky bucket arithmetic, on a clock the test moves."""

from __future__ import annotations

from service.sandbox.cost import LeakyBucket


class FakeMonotonic:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refuses_a_cost_above_what_is_available() -> None:
    bucket = LeakyBucket(size=100, restore_rate=10, monotonic=FakeMonotonic())

    assert bucket.take(80)
    assert not bucket.take(21)
    assert bucket.available() == 20


def test_bucket_restores_at_its_rate() -> None:
    clock = FakeMonotonic()
    bucket = LeakyBucket(size=100, restore_rate=10, monotonic=clock)
    bucket.take(100)

    clock.now += 2.5

    assert bucket.available() == 25


def test_bucket_never_holds_more_than_its_size() -> None:
    clock = FakeMonotonic()
    bucket = LeakyBucket(size=100, restore_rate=10, monotonic=clock)
    bucket.take(10)
    clock.now += 60

    bucket.refund(50)

    assert bucket.available() == 100


def test_refund_returns_unspent_points() -> None:
    bucket = LeakyBucket(size=100, restore_rate=10, monotonic=FakeMonotonic())
    bucket.take(60)

    bucket.refund(45)

    assert bucket.available() == 85
