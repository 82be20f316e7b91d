"""`bench/run`: ordergate, the naive BFF and the GraphQL floor side by side, in one run.

Starts the Shopify stand-in, ordergate (production mode, fresh Postgres database, Redis), the
naive BFF and the floor on loopback; checks sample answers; then, per workload and round, loads
each server in turn (A, B, C, A, B, C, …) so drift in the machine affects all alike. Prints the
table and the ratios and writes bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shlex
import shutil
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bench import budget, report, servers
from bench.cpu_profile import read_profiles, start_recording
from bench.loadgen import run_wrk
from bench.machine import describe_machine
from bench.processes import PeakMemory, Server, get_json
from bench.report import Measurement
from bench.samples import check_answers, compare_orders
from bench.servers import FLOOR, NAIVE, ORDERGATE, Backends, ShopSettings
from bench.workloads import W1, WORKLOADS, Workload, picks, write_wrk_data
from service.paths import ADMIN_OPERATIONS_DIR
from service.sandbox.generated import GENERATED_FIRST_NUMBER

# The Admin operations each server sends, told apart by name at the stand-in, so a call that
# lands while another server is loaded is never counted against that one.
OPERATIONS = {
    ORDERGATE: frozenset(path.stem for path in ADMIN_OPERATIONS_DIR.glob("*.graphql")),
    NAIVE: frozenset({"NaiveLookup"}),
    FLOOR: frozenset[str](),
}
SERVER_NAMES = {"ordergate": ORDERGATE, "naive": NAIVE, "floor": FLOOR}
SAMPLE_SEED = 7
PROFILE_GRACE_SECONDS = 30
PROFILE_ROWS = 25
# What shapes the numbers, for bench/RESULTS.md.
# Where each wrk run starts in the request sequence: a prime stride apart, so no timed run
# repeats the requests of its warm-up or of an earlier run.
STARTS = itertools.count(0, 104_729)
SHOWN_SETTINGS = (
    "duration",
    "warmup",
    "rounds",
    "connections",
    "threads",
    "orders",
    "hot_orders",
    "latency_ms",
    "jitter_ms",
    "budget_warmup",
    "budget_duration",
)


def log(text: str) -> None:
    """Progress, on stderr, so stdout holds only the results."""
    print(text, file=sys.stderr, flush=True)  # noqa: T201


def supports(server: str, workload: Workload) -> bool:
    """The naive BFF answers orderStatus only, so it sits out the mixed workload."""
    return server != NAIVE or workload.lookups_only


def admin_use(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], *, server: str
) -> tuple[int, int]:
    """Admin calls and actual cost points of `server`'s operations between two stats."""
    calls = points = 0
    for name in OPERATIONS[server]:
        now, then = after.get(name, {}), before.get(name, {})
        calls += now.get("calls", 0) - then.get("calls", 0)
        points += now.get("actual_points", 0) - then.get("actual_points", 0)
    return calls, points


def measure(
    server: Server,
    workload: Workload,
    *,
    data: Path,
    stats: str,
    args: argparse.Namespace,
    profile_to: Path | None,
) -> Measurement:
    """One warm-up, then one timed run, with the Admin use and peak RSS it caused; py-spy
    records the timed run into `profile_to` when given."""
    load = {"url": server.url, "data": data, "connections": args.connections}
    if args.warmup > 0:
        run_wrk(seconds=args.warmup, threads=args.threads, start=next(STARTS), **load)
    recording = None
    if profile_to is not None:
        recording = start_recording(server.pid, seconds=args.duration, out=profile_to)
    before = get_json(stats)
    with PeakMemory(server.pid) as memory:
        result = run_wrk(seconds=args.duration, threads=args.threads, start=next(STARTS), **load)
    if recording is not None:
        recording.wait(timeout=args.duration + PROFILE_GRACE_SECONDS)
    calls, points = admin_use(before, get_json(stats), server=server.name)
    return Measurement(server.name, workload.name, result, calls, points, memory.peak_mib)


def check_samples(running: list[Server], workloads: list[Workload], *, orders: int) -> None:
    """Stop before timing anything when a server answers wrongly or they disagree."""
    rng = random.Random(SAMPLE_SEED)
    numbers = [GENERATED_FIRST_NUMBER + index for index in rng.sample(range(orders), 7)]
    problems = compare_orders(running, numbers=numbers[:5])
    kinds = {kind for workload in workloads for kind in workload.kinds}
    for server in running:
        supported = {kind for kind in kinds if server.name != NAIVE or kind == "L"}
        # Mutations change orders: they get orders of their own, not the compared ones.
        problems += check_answers(server, kinds=supported, numbers=numbers[5:])
    if problems:
        raise SystemExit("wrong answers before timing:\n" + "\n".join(problems))
    log(f"sample answers checked: {', '.join(server.name for server in running)}")


def throughput(
    args: argparse.Namespace,
    *,
    workloads: list[Workload],
    data: dict[str, Path],
    logs: Path,
    profiles: Path,
) -> list[Measurement]:
    """Every selected server on every workload it supports, alternating within each round."""
    backends = Backends.from_environment()
    measurements = []
    with ExitStack() as stack:
        shop = stack.enter_context(servers.shop(shop_settings(args, unlimited=True), logs=logs))
        running: list[Server] = []
        if ORDERGATE in args.servers:
            database = stack.enter_context(servers.fresh_database(backends.postgres))
            running.append(
                stack.enter_context(
                    servers.ordergate(database=database, redis=backends.redis, shop=shop, logs=logs)
                )
            )
        if NAIVE in args.servers:
            running.append(stack.enter_context(servers.naive_bff(shop=shop, logs=logs)))
        if FLOOR in args.servers:
            running.append(stack.enter_context(servers.floor(orders=args.orders, logs=logs)))
        check_samples(running, workloads, orders=args.orders)
        for workload in workloads:
            for round_number in range(1, args.rounds + 1):
                for server in (each for each in running if supports(each.name, workload)):
                    profile_to = None
                    if args.profile and server.name == ORDERGATE:
                        profile_to = profiles / f"{workload.name}-{round_number}.txt"
                    result = measure(
                        server,
                        workload,
                        data=data[workload.name],
                        stats=shop["stats"],
                        args=args,
                        profile_to=profile_to,
                    )
                    measurements.append(result)
                    log(
                        f"{workload.name} round {round_number}/{args.rounds} {server.name}: "
                        f"{result.load.per_second:,.0f} req/s, p50 {result.load.p50_ms:.1f} ms, "
                        f"p99 {result.load.p99_ms:.1f} ms, {result.load.errors} errors"
                    )
    return measurements


def shop_settings(args: argparse.Namespace, *, unlimited: bool) -> ShopSettings:
    """The stand-in's options from the command line."""
    return ShopSettings(
        orders=args.orders,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        unlimited_budget=unlimited,
    )


def parser() -> argparse.ArgumentParser:
    """The command line of bench/run."""
    options = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    add = options.add_argument
    add("--duration", type=float, default=5, help="seconds per timed run (default 5)")
    add("--warmup", type=float, default=2, help="untimed seconds before each run (default 2)")
    add("--rounds", type=int, default=3, help="rounds per workload (default 3)")
    add("--connections", type=int, default=32, help="wrk connections (default 32)")
    add("--threads", type=int, default=2, help="wrk threads (default 2)")
    add("--orders", type=int, default=20_000, help="orders in the stand-in, W2's range")
    add("--hot-orders", type=int, default=1_000, help="W1's Zipf range (default 1,000)")
    add("--latency-ms", type=float, default=80, help="stand-in latency per call (default 80)")
    add("--jitter-ms", type=float, default=10, help="± uniform jitter on it (default 10)")
    add("--workloads", default="W1,W2,W3", help="comma-separated subset of W1,W2,W3")
    add("--servers", default="ordergate,naive,floor", help="comma-separated subset")
    add("--budget-warmup", type=float, default=10, help="seconds to drain the bucket first")
    add("--budget-duration", type=float, default=15, help="seconds of the budget run")
    add("--no-budget-run", action="store_true", help="skip the standard-plan budget run")
    add("--results", default="bench/RESULTS.md", help="where to write results ('' for nowhere)")
    add("--profile", action="store_true", help="py-spy ordergate during its timed runs")
    add("--keep-logs", action="store_true", help="keep server logs, request data and profiles")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of bench/run."""
    args = parser().parse_args(argv)
    args.servers = [SERVER_NAMES[name.strip()] for name in args.servers.split(",")]
    workloads = [WORKLOADS[name.strip()] for name in args.workloads.split(",")]
    machine = describe_machine()
    logs = Path(tempfile.mkdtemp(prefix="ordergate-bench-"))
    log(f"logs and request data in {logs}")
    data = {
        workload.name: write_wrk_data(
            logs / f"{workload.name}.tsv",
            picks(workload, orders=args.orders, hot_orders=args.hot_orders),
        )
        for workload in {*workloads, W1}
    }
    recordings = logs / "profiles"
    recordings.mkdir()
    measurements = throughput(args, workloads=workloads, data=data, logs=logs, profiles=recordings)
    profiles = {
        workload.name: read_profiles(sorted(recordings.glob(f"{workload.name}-*.txt")))
        for workload in workloads
        if args.profile
    }
    standard = None
    if ORDERGATE in args.servers and not args.no_budget_run:
        log("standard-plan budget run: ordergate on W1")
        standard = budget.measure_ordergate(
            backends=Backends.from_environment(),
            shop_settings=shop_settings(args, unlimited=False),
            data=data[W1.name],
            warmup=args.budget_warmup,
            duration=args.budget_duration,
            connections=args.connections,
            threads=args.threads,
            logs=logs,
        )
    text = report.results(
        measurements,
        standard=standard,
        machine=machine,
        command=shlex.join(["bench/run", *(argv if argv is not None else sys.argv[1:])]),
        settings={name: getattr(args, name) for name in SHOWN_SETTINGS},
        workloads=workloads,
    )
    for name, profile in profiles.items():
        text += "\n" + report.profile_text(name, profile, rows=PROFILE_ROWS)
    print(text)  # noqa: T201
    if args.results:
        Path(args.results).write_text(text, encoding="utf-8")
        log(f"wrote {args.results}")
    if not args.keep_logs:
        shutil.rmtree(logs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
