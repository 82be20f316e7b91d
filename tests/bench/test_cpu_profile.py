"""Summing py-spy's collapsed stacks by package and function."""

from __future__ import annotations

from pathlib import Path

from bench.cpu_profile import read_profiles

GUARD = "main (service/cli.py:97);RequestGuard.__call__ (service/api/hardening.py:{line})"
STACKS = (
    GUARD.format(line=207)
    + ";write (asyncio/selector_events.py:1057) 3\n"
    + GUARD.format(line=212)
    + ";execute (graphql/execution/executor.py:9) 1\n"
)


def test_samples_are_summed_by_innermost_package(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(STACKS, encoding="utf-8")

    profile = read_profiles([tmp_path / "p.txt"])

    assert profile.top_packages(2) == [("asyncio", 0.75), ("graphql", 0.25)]


def test_ordergate_functions_count_once_per_sample_whatever_the_line(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(STACKS, encoding="utf-8")

    profile = read_profiles([tmp_path / "p.txt"])

    assert profile.top_service_functions(5) == [
        ("RequestGuard.__call__ (service/api/hardening.py)", 1.0)
    ]
