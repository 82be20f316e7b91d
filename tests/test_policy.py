"""The policy file: defaults, partial files, and start-up errors that name the key."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from service.policy import (
    CancellationMode,
    CancellationPolicy,
    Policy,
    PolicyError,
    load_policy,
    parse_policy,
)


def test_no_file_means_the_defaults() -> None:
    assert load_policy(None) == Policy()


def test_a_file_may_set_any_subset(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("cancellation:\n  mode: review\n  fulfillment_cutoff: '14:30'\n")
    policy = load_policy(path)
    assert policy.cancellation.mode is CancellationMode.REVIEW
    assert policy.cancellation.fulfillment_cutoff == time(14, 30)
    assert policy.cancellation.window_minutes == 60
    assert policy.not_received == Policy().not_received


def test_unquoted_yaml_time_is_read_as_the_time_it_looks_like() -> None:
    policy = parse_policy({"cancellation": {"fulfillment_cutoff": 14 * 60 + 30}})
    assert policy.cancellation.fulfillment_cutoff == time(14, 30)


def test_a_policy_survives_its_own_dump() -> None:
    policy = CancellationPolicy(fulfillment_cutoff=time(11, 0), timezone="Europe/Oslo")
    assert CancellationPolicy.model_validate(policy.model_dump()) == policy


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"cancelation": {}}, "cancelation: unknown key"),
        ({"cancellation": {"timezone": "Europe/Atlantis"}}, "cancellation.timezone"),
        ({"cancellation": {"fulfillment_cutoff": "9:5"}}, "cancellation.fulfillment_cutoff"),
        ({"cancellation": {"mode": "sometimes"}}, "cancellation.mode"),
        ({"cancellation": {"review_risk_levels": ["SCARY"]}}, "cancellation.review_risk_levels"),
        ({"not_received": {"min_days_after_shipment": -1}}, "not_received.min_days_after_shipment"),
    ],
)
def test_bad_values_are_named(document: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace(".", r"\.")):
        parse_policy(document)


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path / "absent.yaml")
