"""How rounds become one row: medians of rates and percentiles, totals of counts."""

from __future__ import annotations

from bench.loadgen import LoadResult
from bench.report import Measurement, ratios, summarise


def _run(per_second: float, p99_ms: float, *, calls: int, points: int) -> Measurement:
    load = LoadResult(
        requests=int(per_second * 10),
        seconds=10.0,
        p50_ms=p99_ms / 4,
        p99_ms=p99_ms,
        socket_errors=0,
        timeouts=0,
        http_errors=1,
        graphql_errors=0,
        failed=1,
        refused=3,
        found=0,
    )
    return Measurement("ordergate", "W1", load, calls, points, peak_mib=per_second / 10)


def test_rounds_give_medians_of_rates_and_totals_of_counts() -> None:
    runs = [_run(100, 40, calls=50, points=800), _run(300, 20, calls=150, points=2400)]
    runs.append(_run(200, 90, calls=100, points=1600))

    (row,) = summarise(runs)

    assert (row.per_second, row.p99_ms, row.rounds) == (200, 40, 3)
    assert (row.requests, row.errors, row.refused) == (6000, 6, 9)
    assert (row.calls_per_1k, row.points_per_1k, row.peak_mib) == (50, 800, 30)


def test_ratios_divide_the_subject_by_each_other_server() -> None:
    mine = _run(300, 30, calls=0, points=0)
    theirs = Measurement("floor", "W1", _run(600, 10, calls=0, points=0).load, 0, 0, 0)

    (line,) = ratios(summarise([mine, theirs]), subject="ordergate", others=["floor"])

    assert line == "W1 ordergate ÷ floor: req/s 0.50x, p50 3.00x, p99 3.00x"
