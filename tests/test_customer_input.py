"""Orders as people type them: `#1001`, `1001`, a gid (`parse_order_argument`)."""

from __future__ import annotations

import pytest

from service.customer_input import OrderArgument, parse_order_argument


@pytest.mark.parametrize("typed", ["#1001", " #1001 ", "#1001\n"])
def test_a_number_with_its_hash_is_the_order_name(typed: str) -> None:
    assert parse_order_argument(typed) == OrderArgument(name="#1001", gid=None)


def test_bare_digits_are_the_name_or_the_id_in_an_admin_url() -> None:
    order = parse_order_argument("1001")
    assert order == OrderArgument(name="#1001", gid="gid://shopify/Order/1001")


def test_a_gid_is_taken_as_it_is() -> None:
    gid = "gid://shopify/Order/5800001001"
    assert parse_order_argument(f" {gid} ") == OrderArgument(name=None, gid=gid)


def test_the_shops_own_name_format_is_understood() -> None:
    order = parse_order_argument("1001", prefix="EU-", suffix="-B")
    assert order is not None
    assert order.name == "EU-1001-B"


@pytest.mark.parametrize(
    "typed",
    ["", "#", "abc", "gid://shopify/Order/", "gid://shopify/Order/x", "gid://shopify/Customer/1"],
)
def test_what_cannot_be_an_order_is_none(typed: str) -> None:
    assert parse_order_argument(typed) is None
