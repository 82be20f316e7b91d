"""The storefront journey in Debian's Chromium against `ordergate dev` (web/tests/browser.mjs):
#1001 cancelled through the code step read from /dev/mail, #1008 too early with the server's
date alone in a New York browser, inputs held to the server's limits and HTTP errors (413,
502, network) said in Norwegian,
#1009 reported, Norwegian and Dutch, keyboard only, axe-core, GraphiQL with the network closed,
the README's two lines on a storefront of another loopback origin (no CORS setting), and the
server's 429 with its localised message and retryAfter.
Screenshots and axe's findings land in web/test-results/ (CI keeps them as artifacts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.web.conftest import DEV_CLIENT_LIMIT, WEB, Node

pytestmark = pytest.mark.timeout(180)


async def test_the_whole_journey_works_in_chromium(
    node: Node, chromium: Path, dev_url: str
) -> None:
    env = {
        "ORDERGATE_URL": dev_url,
        "CHROMIUM": str(chromium),
        "CLIENT_LIMIT": str(DEV_CLIENT_LIMIT),
    }
    code, out, err = await node.run("tests/browser.mjs", env=env, within=150)
    assert code == 0, f"{out}\n{err}"
    assert "12 passed, 0 failed" in out, out
    axe = json.loads((WEB / "test-results" / "axe.json").read_text())
    blocking = [
        (state["state"], violation["id"])
        for state in axe
        for violation in state["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]
    assert len(axe) == 5
    assert blocking == []
    for shot in json.loads((WEB / "test-results" / "screenshots.json").read_text()):
        assert (WEB.parent / shot).stat().st_size > 0
