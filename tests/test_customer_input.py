"""What operators and customers type, read the one way every command reads it."""

from __future__ import annotations

import pytest

from service.customer_input import OrderArgument, order_argument


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("#1001", OrderArgument(name="#1001")),
        (" 1001 ", OrderArgument(name="#1001")),
        ("gid://shopify/Order/5800001001", OrderArgument(gid="gid://shopify/Order/5800001001")),
        ("gid://shopify/Customer/7", None),
        ("ada@example.com", None),
        ("", None),
    ],
)
def test_an_order_argument_is_a_name_or_a_gid(typed: str, expected: OrderArgument | None) -> None:
    assert order_argument(typed) == expected


def test_an_order_argument_follows_the_shops_name_format() -> None:
    assert order_argument("1001", prefix="EU-", suffix="-B") == OrderArgument(name="EU-1001-B")
