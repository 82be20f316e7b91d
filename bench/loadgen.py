"""Drives one load run with wrk and bench/wrk.lua; returns what wrk measured and what it read."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
# A lookup that waits for Shopify's budget may take its full five seconds: that is an answer,
# not a timeout, so wrk waits longer than ordergate does.
REQUEST_TIMEOUT_SECONDS = 10
# wrk's own start-up and its goodbye on top of the run's duration, before giving up on it.
GRACE_SECONDS = 30


@dataclass(frozen=True)
class LoadResult:
    """One wrk run: counts, latency percentiles, and what the response bodies said."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    timeouts: int
    http_errors: int
    graphql_errors: int
    failed: int
    refused: int
    found: int

    @property
    def errors(self) -> int:
        """Everything but designed refusals that did not give the customer an answer."""
        return (
            self.socket_errors
            + self.timeouts
            + self.http_errors
            + self.graphql_errors
            + self.failed
        )

    @property
    def per_second(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds


def run_wrk(
    *, url: str, data: Path, seconds: float, connections: int, threads: int, start: int = 0
) -> LoadResult:
    """Run wrk against `url` for `seconds` with the request sequence in `data`, from `start`."""
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={REQUEST_TIMEOUT_SECONDS}s",
        f"--script={SCRIPT}",
        url,
        "--",
        str(data),
        str(start),
    ]
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + GRACE_SECONDS, check=True
    )
    for line in finished.stdout.splitlines():
        if line.startswith("BENCH "):
            return _result(json.loads(line.removeprefix("BENCH ")))
    raise RuntimeError(f"wrk printed no result:\n{finished.stdout}\n{finished.stderr}")


def _result(raw: dict[str, int]) -> LoadResult:
    return LoadResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        socket_errors=raw["socket_errors"],
        timeouts=raw["timeouts"],
        http_errors=raw["http_errors"],
        graphql_errors=raw["graphql_errors"],
        failed=raw["failed"],
        refused=raw["refused"],
        found=raw["found"],
    )
