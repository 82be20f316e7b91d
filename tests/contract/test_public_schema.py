"""The public SDL is a committed artifact: a change to it is a visible diff, never an accident."""

from __future__ import annotations

import re

import yaml

from service.api.schema import export_sdl
from service.paths import PUBLIC_SDL
from service.policy import Policy, parse_policy
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


# What CONTRACT.md pins ahead of the code, with the issue that builds it. An entry goes when
# its issue lands: `test_nothing_pending_is_served_already` fails as soon as one is served.
PENDING_TYPES: dict[str, str] = {}
PENDING_ENUM_VALUES: dict[tuple[str, str], str] = {}
PENDING_POLICY_SECTIONS: dict[str, str] = {}
PINNED_ENUMS = ("UserErrorCode", "EligibilityReason")


def _names(sdl: str, kind: str) -> set[str]:
    return set(re.findall(rf"^{kind} (\w+)", sdl, re.MULTILINE))


def _enum_values(sdl: str, name: str) -> set[str]:
    match = re.search(rf"enum {name} {{(.*?)}}", sdl, re.DOTALL)
    assert match is not None, f"no enum {name}"
    without_comments = re.sub(r"#[^\n]*", "", match.group(1))
    return set(without_comments.split())


def test_every_pinned_type_and_enum_is_served() -> None:
    pinned = _contract_block("graphql")
    served = export_sdl()
    for kind in ("type", "enum", "input"):
        missing = _names(pinned, kind) - _names(served, kind) - set(PENDING_TYPES)
        assert not missing, f"pinned {kind}s not served: {sorted(missing)}"


def test_pinned_enum_values_are_served() -> None:
    pinned = _contract_block("graphql")
    served = export_sdl()
    for enum_name in PINNED_ENUMS:
        pending = {value for (name, value) in PENDING_ENUM_VALUES if name == enum_name}
        missing = _enum_values(pinned, enum_name) - _enum_values(served, enum_name) - pending
        assert not missing, f"{enum_name} lacks {sorted(missing)}"


def test_policy_defaults_are_the_contracts() -> None:
    pinned = yaml.safe_load(_contract_block("yaml"))
    built = {key: value for key, value in pinned.items() if key not in PENDING_POLICY_SECTIONS}
    assert parse_policy(built) == Policy()


def test_nothing_pending_is_served_already() -> None:
    served = export_sdl()
    served_names = _names(served, "type") | _names(served, "enum")
    assert not set(PENDING_TYPES) & served_names, "a pending type is served: unlist it"
    for (enum_name, value), issue in PENDING_ENUM_VALUES.items():
        assert value not in _enum_values(served, enum_name), f"{issue} landed: unlist {value}"
    for section, issue in PENDING_POLICY_SECTIONS.items():
        assert section not in Policy.model_fields, f"{issue} landed: unlist {section}"
