"""The Dockerfile passes hadolint and keeps the image's promises (no Docker engine runs here)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.rendering import REPO

DOCKERFILE = REPO / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def test_hadolint_passes(hadolint: Path) -> None:
    completed = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_both_stages_use_the_same_slim_python_312() -> None:
    instructions = _instructions()
    base = dict(instructions)["ARG"].split("=", 1)[1]
    stages = [args.split()[0] for name, args in instructions if name == "FROM"]
    assert re.fullmatch(r"python:3\.12-slim(-\w+)?", base)
    assert stages == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]


def test_final_stage_copies_only_the_built_environment() -> None:
    copies = [args for name, args in _final_stage() if name in {"COPY", "ADD"}]
    assert copies == ["--from=build /opt/ordergate /opt/ordergate"]


def test_final_stage_runs_serve_as_a_numeric_non_root_user() -> None:
    final = dict(_final_stage())
    user, _, group = final["USER"].partition(":")
    assert user.isdigit()
    assert int(user) > 0
    assert group.isdigit()
    assert final["CMD"] == '["ordergate", "serve"]'


@pytest.mark.parametrize("path", ["pyproject.toml", "README.md", "service/", "schema/", "db/"])
def test_dockerignore_lets_the_build_inputs_through(path: str) -> None:
    rules = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert rules[rules.index("*") :].count(f"!{path}") == 1
