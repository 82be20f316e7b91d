"""Matching the contact a customer typed against the order's e-mail and phone."""

from __future__ import annotations

import pytest

from service.contact import contact_matches
from tests import factories


@pytest.mark.parametrize(
    ("phone", "typed", "matches"),
    [
        ("+44 20 7946 0958", "020 7946 0958", True),  # read in the order's country
        ("+44 20 7946 0958", "+442079460958", True),
        ("+1 415 555 0100", "(415) 555-0100", True),
        ("+44 20 7946 0958", "(415) 555-0100", False),
        ("not a number", "not a number", False),  # an unreadable phone matches nothing
        (None, "(415) 555-0100", False),
    ],
)
def test_a_phone_matches_however_it_is_written(
    phone: str | None, typed: str, matches: bool
) -> None:
    order = factories.order(email=None, phone=phone)
    # Twice: the order's side is remembered, and must answer the same the second time.
    assert contact_matches(order, typed) is matches
    assert contact_matches(order, typed) is matches


def test_orders_sharing_a_phone_string_read_typed_numbers_in_its_country() -> None:
    british = factories.order(email=None, phone="+44 20 7946 0958")
    american = factories.order(email=None, phone="+1 415 555 0100")
    assert contact_matches(british, "020 7946 0958")
    assert not contact_matches(american, "020 7946 0958")
    assert contact_matches(american, "415 555 0100")


def test_an_email_matches_trimmed_and_in_any_case() -> None:
    order = factories.order(email="Ada.Lovelace@example.com", phone=None)
    assert contact_matches(order, "  ada.lovelace@EXAMPLE.com ")
    assert not contact_matches(order, "ada@example.com")
