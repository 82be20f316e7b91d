"""Turns measurements into the printed table, the ratios and bench/RESULTS.md."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.budget import BudgetResult, lookups_within_restore_rate
from bench.cpu_profile import Profile
from bench.loadgen import LoadResult
from bench.servers import FLOOR, NAIVE, ORDERGATE
from bench.shop import STANDARD_BUCKET, STANDARD_RESTORE_RATE
from bench.workloads import Workload


@dataclass(frozen=True)
class Measurement:
    """One timed run of one server on one workload, and what the stand-in saw meanwhile."""

    server: str
    workload: str
    load: LoadResult
    admin_calls: int
    admin_points: int
    peak_mib: float


@dataclass(frozen=True)
class Summary:
    """All rounds of one server on one workload."""

    server: str
    workload: str
    rounds: int
    per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    refused: int
    calls_per_1k: float
    points_per_1k: float
    peak_mib: float


def summarise(measurements: Iterable[Measurement]) -> list[Summary]:
    """Per server and workload: medians of the rounds' rates and percentiles, sums of counts
    (Admin use per 1,000 requests over every round), the highest RSS."""
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for measurement in measurements:
        groups.setdefault((measurement.server, measurement.workload), []).append(measurement)
    summaries = []
    for (server, workload), runs in groups.items():
        requests = sum(run.load.requests for run in runs)
        thousands = max(requests, 1) / 1000
        summaries.append(
            Summary(
                server=server,
                workload=workload,
                rounds=len(runs),
                per_second=statistics.median(run.load.per_second for run in runs),
                p50_ms=statistics.median(run.load.p50_ms for run in runs),
                p99_ms=statistics.median(run.load.p99_ms for run in runs),
                requests=requests,
                errors=sum(run.load.errors for run in runs),
                refused=sum(run.load.refused for run in runs),
                calls_per_1k=sum(run.admin_calls for run in runs) / thousands,
                points_per_1k=sum(run.admin_points for run in runs) / thousands,
                peak_mib=max(run.peak_mib for run in runs),
            )
        )
    return summaries


def table(summaries: list[Summary], titles: dict[str, str]) -> str:
    """The results as a Markdown table, one row per server and workload."""
    lines = [
        "| server | workload | req/s | p50 ms | p99 ms | errors | refusals "
        "| Admin calls / 1k | cost points / 1k | peak RSS MiB |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in summaries:
        lines.append(
            f"| {row.server} | {row.workload} {titles[row.workload]} | {row.per_second:,.0f} "
            f"| {row.p50_ms:,.1f} | {row.p99_ms:,.1f} | {row.errors:,} of {row.requests:,} "
            f"| {row.refused:,} | {row.calls_per_1k:,.0f} | {row.points_per_1k:,.0f} "
            f"| {row.peak_mib:,.0f} |"
        )
    return "\n".join(lines)


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator else "n/a"


def ratios(summaries: list[Summary], *, subject: str, others: list[str]) -> list[str]:
    """`subject` ÷ each of `others`, per workload they both ran."""
    found = {(row.server, row.workload): row for row in summaries}
    lines = []
    for workload in dict.fromkeys(row.workload for row in summaries):
        mine = found.get((subject, workload))
        for other in others:
            theirs = found.get((other, workload))
            if mine is None or theirs is None:
                continue
            parts = [
                f"req/s {_ratio(mine.per_second, theirs.per_second)}",
                f"p50 {_ratio(mine.p50_ms, theirs.p50_ms)}",
                f"p99 {_ratio(mine.p99_ms, theirs.p99_ms)}",
            ]
            if theirs.points_per_1k:
                parts.append(f"cost points {_ratio(mine.points_per_1k, theirs.points_per_1k)}")
            lines.append(f"{workload} {subject} ÷ {other}: " + ", ".join(parts))
    return lines


NOTES = """\
- req/s, p50 and p99 are medians over the rounds; errors, refusals and Admin use are totals
  over every round; peak RSS is the highest of the server process's RSS, sampled every 0.1 s
  during its timed runs.
- errors: socket errors and timeouts, non-2xx answers, GraphQL `errors`, and userErrors other
  than designed refusals (ORDER_NOT_FOUND, UPSTREAM_UNAVAILABLE, INVALID_INPUT; every request
  carries the order's right contact). wrk's script reads every response body; before timing,
  whole sample answers of every server are checked and compared across the servers.
- refusals: NOT_ELIGIBLE answers to W3's mutations, which the policy gives by design, and
  VERIFICATION_REQUIRED to its cancellations (W3 sends no one-time code).
- Admin calls and cost points (actual, as charged to the bucket) are counted at the Shopify
  stand-in, by operation name, between the start and the end of each timed run.
- W3: the naive BFF implements orderStatus only, so W3 runs ordergate and the floor (which
  answers mutations with a canned request).
- The naive BFF and the floor parse and validate each GraphQL document once
  (bench/sdl_endpoint.py), as ordergate's Strawberry caches do: without that graphql-core's
  parser alone would cap the naive BFF near 100 req/s on this machine.
- All processes share the machine's cores: the servers, the Shopify stand-in, wrk, Postgres,
  Redis, and whatever else runs there (the load average above says how busy it was).
- Throughput runs lift the stand-in's cost budget; the budget run enforces the standard plan's."""


def _budget_section(standard: BudgetResult | None, summaries: list[Summary]) -> list[str]:
    if standard is None:
        return []
    lines = [
        "## Inside Shopify's standard-plan budget (W1)",
        "",
        f"- ordergate, measured against a stand-in enforcing the standard plan "
        f"({STANDARD_BUCKET:,.0f}-point bucket, {STANDARD_RESTORE_RATE:.0f} points restored a "
        f"second) after an untimed warm-up that spent {standard.warmup_points:,} points: "
        f"**{standard.lookups_per_second:,.1f} lookups/s** answered with the order "
        f"({standard.errors:,} errors of {standard.requests:,} requests), spending "
        f"{standard.points_per_second:,.1f} points/s. wrk keeps its connections busy (a closed "
        f"loop): a lookup waiting for points holds its connection, up to ordergate's 5 s.",
    ]
    computed = {}
    for row in summaries:
        if row.workload == "W1" and row.server in (ORDERGATE, NAIVE) and row.points_per_1k:
            per_lookup = row.points_per_1k / 1000
            computed[row.server] = lookups_within_restore_rate(per_lookup)
            lines.append(
                f"- {row.server}, computed from its W1 throughput run: "
                f"{STANDARD_RESTORE_RATE:.0f} points/s ÷ {per_lookup:.2f} points per lookup = "
                f"**{computed[row.server]:,.1f} lookups/s**."
            )
    if NAIVE in computed:
        naive = computed[NAIVE]
        line = f"- ordergate ÷ naive BFF: measured {_ratio(standard.lookups_per_second, naive)}"
        if ORDERGATE in computed:
            line += f", computed {_ratio(computed[ORDERGATE], naive)}"
        lines.append(line)
    return [*lines, ""]


def per_round(measurements: list[Measurement]) -> list[str]:
    """Each round's requests a second, in the order they ran: how much the machine drifted."""
    rounds: dict[tuple[str, str], list[str]] = {}
    for each in measurements:
        rounds.setdefault((each.workload, each.server), []).append(f"{each.load.per_second:,.0f}")
    return [
        f"{workload} {server}: {', '.join(rates)}" for (workload, server), rates in rounds.items()
    ]


def results(
    measurements: list[Measurement],
    *,
    standard: BudgetResult | None,
    machine: dict[str, str],
    command: str,
    settings: dict[str, object],
    workloads: list[Workload],
) -> str:
    """bench/RESULTS.md: machine, command, table, ratios, budget, and how to read them."""
    summaries = summarise(measurements)
    titles = {workload.name: f"({workload.title})" for workload in workloads}
    shown = ", ".join(f"{key}={value}" for key, value in settings.items())
    lines = [
        "# Benchmark results",
        "",
        f"Written by `bench/run` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in machine.items()),
        "",
        "## Command",
        "",
        f"`{command}`",
        "",
        f"Settings: {shown}.",
        "",
        "## Results",
        "",
        table(summaries, titles),
        "",
        *(f"- {line}" for line in ratios(summaries, subject=ORDERGATE, others=[NAIVE, FLOOR])),
        "",
        *_budget_section(standard, summaries),
        "## Requests a second in each round",
        "",
        *(f"- {line}" for line in per_round(measurements)),
        "",
        "## How to read it",
        "",
        NOTES,
        "",
    ]
    return "\n".join(lines)


def profile_text(workload: str, profile: Profile, *, rows: int) -> str:
    """ordergate's CPU profile on one workload: where the CPU was, by package and function,
    and which of ordergate's own functions were on the stack."""
    lines = [f"## ordergate's CPU profile on {workload} ({profile.samples:,} samples)", ""]
    lines += ["CPU in (innermost frame's package):", ""]
    lines += [f"- {share:6.1%} {name}" for name, share in profile.top_packages(rows // 2)]
    lines += ["", "CPU in (innermost function):", ""]
    lines += [f"- {share:6.1%} {name}" for name, share in profile.top_own_functions(rows // 2)]
    lines += ["", "ordergate's functions on the stack (time in them and what they call):", ""]
    lines += [f"- {share:6.1%} {name}" for name, share in profile.top_service_functions(rows)]
    return "\n".join([*lines, ""])
