"""The two quick-start commands keep their promises (issue 14): `make dev` installs the runtime
only, and `make test`'s coverage finds the data it combines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def plan(target: str, tmp_path: Path) -> str:
    """What `make TARGET` would run on a fresh clone (`make -n`, a venv that does not exist)."""
    return subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


def test_make_dev_installs_the_runtime_dependencies_only(tmp_path: Path) -> None:
    planned = plan("dev", tmp_path)
    installs = [line for line in planned.splitlines() if " install " in line]
    assert any(line.endswith("install -e .") for line in installs), planned
    assert not [line for line in installs if "[" in line or "checkov" in line], planned


def test_coverage_combines_what_the_tests_and_their_subprocesses_wrote(tmp_path: Path) -> None:
    # The project's own [tool.coverage] settings, a run that starts a subprocess, then the
    # combine `make unit` does: it must find data files ("No data to combine" was the bug).
    environment = {**os.environ, "COVERAGE_FILE": str(tmp_path / ".coverage")}
    script = tmp_path / "child.py"
    script.write_text("import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'pass'])\n")
    coverage = [sys.executable, "-m", "coverage"]
    subprocess.run([*coverage, "run", str(script)], cwd=ROOT, env=environment, check=True)
    combined = subprocess.run(
        [*coverage, "combine", "--quiet"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert combined.returncode == 0, combined.stdout + combined.stderr
    assert "No data to combine" not in combined.stdout + combined.stderr
    assert (tmp_path / ".coverage").is_file()


def test_make_test_installs_a_redis_only_when_none_is_at_hand(tmp_path: Path) -> None:
    planned = plan("unit", tmp_path)
    # The guard, in order: TEST_REDIS_URL, a redis-server to start, a Redis on 6379; then apt.
    guard = planned[planned.index('[ -n "$TEST_REDIS_URL" ]') :]
    steps = ["command -v redis-server", "create_connection(('127.0.0.1', 6379)", "redis-server;"]
    positions = [guard.index(step) for step in steps]
    assert positions == sorted(positions), guard
    assert "apt-get install -y -qq redis-server" in guard
