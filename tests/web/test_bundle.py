"""The files the wheel serves are what web/ builds: the element's bundle from its sources and
the committed SDL (graphql-codegen validates the documents, tsc checks the types), and GraphiQL's
vendored assets from the npm packages in web/package-lock.json."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from service.paths import PUBLIC_SDL
from service.web_assets import ELEMENT_SCRIPT
from tests.web.conftest import Node

pytestmark = pytest.mark.timeout(120)

# The element is loaded on storefront pages: a budget, so growth is a decision.
GZIP_BUDGET_BYTES = 20 * 1024


async def test_committed_bundle_and_graphiql_assets_are_current(node: Node) -> None:
    # codegen against ../schema/ordergate.graphql, tsc --noEmit, then the build compared with
    # service/static/ byte for byte.
    code, out, err = await node.run("node_modules/.bin/graphql-codegen", "--config", "codegen.ts")
    assert code == 0, f"the documents no longer fit the committed SDL:\n{out}\n{err}"
    code, out, err = await node.run("node_modules/typescript/bin/tsc", "--noEmit")
    assert code == 0, f"the element does not type-check against the generated types:\n{out}{err}"
    code, out, err = await node.run("scripts/build.mjs", "--check")
    assert code == 0, f"{out}\n{err}"


async def test_a_schema_change_breaks_the_build_not_the_page(node: Node, tmp_path: Path) -> None:
    # A field the element reads, renamed in the SDL: graphql-codegen refuses the documents.
    renamed = PUBLIC_SDL.read_text().replace("trackingUrl: String", "trackingLink: String")
    assert "trackingLink" in renamed
    (tmp_path / "changed.graphql").write_text(renamed)
    env = {"ORDERGATE_SDL": str(tmp_path / "changed.graphql")}
    code, out, err = await node.run(
        "node_modules/.bin/graphql-codegen", "--config", "codegen.ts", env=env
    )
    assert code != 0
    assert "trackingUrl" in out + err


def test_the_element_stays_within_its_size_budget() -> None:
    compressed = gzip.compress(ELEMENT_SCRIPT.read_bytes(), compresslevel=9)
    assert len(compressed) <= GZIP_BUDGET_BYTES
