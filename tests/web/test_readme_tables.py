"""The README says what the code does: its demo-orders table is the sandbox's own list (which
the demo page shows), and it spells the sandbox staff actions as `--help` does."""

from __future__ import annotations

import re

import pytest

from service.cli import parser
from service.sandbox.demo import DEMO_ORDERS
from service.sandbox.staff import STAFF_ACTIONS
from tests.web.conftest import REPO

README = (REPO / "README.md").read_text()


def _table_after(heading: str) -> list[list[str]]:
    """The body rows of the first Markdown table after `heading`, cells stripped."""
    section = README.split(heading, 1)[1]
    lines = section.split("\n\n|", 1)[1].split("\n\n", 1)[0].splitlines()
    rows = [line.strip().strip("|").split(" | ") for line in ["|" + lines[0], *lines[1:]]]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def test_readme_demo_orders_are_the_sandboxs_demo_orders() -> None:
    rows = _table_after("### Demo orders in the sandbox shop")
    expected = [[o.number, o.contact, o.state, o.what_to_try] for o in DEMO_ORDERS]
    assert rows == expected


def test_readme_and_help_spell_the_staff_actions_alike(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["sandbox", "staff", "--help"])
    help_text = capsys.readouterr().out
    spelled = [action.replace("_", "-") for action in STAFF_ACTIONS]
    assert ", ".join(spelled) in help_text
    for action in (action for action in STAFF_ACTIONS if "_" in action):
        assert f"`{action}`" not in README  # only the hyphenated spelling
    (row,) = [line for line in README.splitlines() if line.startswith("| `ordergate sandbox staff")]
    assert re.findall(r"`([a-z_-]+)`", row.split("|")[2]) == spelled
