"""Lookups a second inside Shopify's standard-plan budget: ordergate measured on W1 against a
stand-in that enforces the budget; both it and the naive BFF computed from their cost per
lookup in the throughput runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench import servers
from bench.loadgen import run_wrk
from bench.processes import get_json
from bench.servers import Backends, ShopSettings
from bench.shop import STANDARD_RESTORE_RATE
from bench.workloads import PICKS

# The timed run starts half the sequence away from the warm-up, so it asks for other orders
# than those the warm-up left in the cache (at these rates neither gets near the other).
TIMED_START = PICKS // 2


@dataclass(frozen=True)
class BudgetResult:
    """What ordergate sustained once the stand-in's bucket had run dry."""

    warmup_points: int
    seconds: float
    requests: int
    lookups_answered: int
    errors: int
    admin_points: int

    @property
    def lookups_per_second(self) -> float:
        """Lookups answered with the order, a second."""
        return self.lookups_answered / self.seconds

    @property
    def points_per_second(self) -> float:
        """Actual cost points the stand-in charged, a second."""
        return self.admin_points / self.seconds


def lookups_within_restore_rate(points_per_lookup: float) -> float:
    """The lookups a second the restore rate pays for, at a given cost per lookup."""
    return STANDARD_RESTORE_RATE / points_per_lookup if points_per_lookup else float("inf")


def _points(stats: dict[str, dict[str, int]]) -> int:
    return sum(counts["actual_points"] for counts in stats.values())


def measure_ordergate(
    *,
    backends: Backends,
    shop_settings: ShopSettings,
    data: Path,
    warmup: float,
    duration: float,
    connections: int,
    threads: int,
    logs: Path,
) -> BudgetResult:
    """W1 against ordergate on a standard-plan stand-in. A fresh stand-in's bucket is full;
    `warmup` untimed seconds spend it first, so what is measured is what the restore rate
    sustains."""
    with (
        servers.shop(shop_settings, logs=logs) as shop,
        servers.fresh_database(backends.postgres) as database,
        servers.ordergate(
            database=database, redis=backends.redis, shop=shop, logs=logs, label="-standard-plan"
        ) as ordergate,
    ):
        run_wrk(
            url=ordergate.url, data=data, seconds=warmup, connections=connections, threads=threads
        )
        before = get_json(shop["stats"])
        load = run_wrk(
            url=ordergate.url,
            data=data,
            seconds=duration,
            connections=connections,
            threads=threads,
            start=TIMED_START,
        )
        after = get_json(shop["stats"])
    return BudgetResult(
        warmup_points=_points(before),
        seconds=load.seconds,
        requests=load.requests,
        lookups_answered=load.found,
        errors=load.errors,
        admin_points=_points(after) - _points(before),
    )
