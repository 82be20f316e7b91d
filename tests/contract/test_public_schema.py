"""The public SDL is a committed artifact: a change to it is a visible diff, never an accident."""

from __future__ import annotations

import re

import yaml

from service.api.schema import export_sdl
from service.merchant_policy import Policy, parse_policy
from service.paths import PUBLIC_SDL
from tests.conftest import SHARED

CONTRACT = SHARED / "CONTRACT.md"


def test_exported_sdl_equals_the_committed_file() -> None:
    assert PUBLIC_SDL.read_text(encoding="utf-8") == export_sdl(), (
        "regenerate with: .venv/bin/python -m service.api.schema > schema/ordergate.graphql"
    )


def _contract_block(language: str) -> str:
    text = CONTRACT.read_text(encoding="utf-8")
    match = re.search(rf"```{language}\n(.*?)```", text, re.DOTALL)
    assert match is not None, f"CONTRACT.md has no {language} block"
    return match.group(1)


def _names(sdl: str, kind: str) -> set[str]:
    return set(re.findall(rf"^{kind} (\w+)", sdl, re.MULTILINE))


def test_every_pinned_type_and_enum_is_served() -> None:
    pinned = _contract_block("graphql")
    served = export_sdl()
    for kind in ("type", "enum", "input"):
        assert _names(pinned, kind) <= _names(served, kind)


def test_pinned_enum_values_are_served() -> None:
    pinned = _contract_block("graphql")
    served = export_sdl()
    for enum_name in ("UserErrorCode", "EligibilityReason"):
        pinned_values = set(
            re.search(rf"enum {enum_name} {{(.*?)}}", pinned, re.DOTALL).group(1).split()  # type: ignore[union-attr]
        )
        served_values = set(
            re.search(rf"enum {enum_name} {{(.*?)}}", served, re.DOTALL).group(1).split()  # type: ignore[union-attr]
        )
        assert pinned_values <= served_values


def test_policy_defaults_are_the_contracts() -> None:
    assert parse_policy(yaml.safe_load(_contract_block("yaml"))) == Policy()
