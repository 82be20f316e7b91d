"""Shopify's order search syntax, as far as the sandbox needs it: `name:` and `id:` terms."""

from __future__ import annotations

import re
from collections.abc import Callable

from service.sandbox.records import SandboxOrder

# A term is `field:value`, the value bare, 'single-' or "double-quoted".
_TERM = re.compile(r"""(?P<field>\w+):(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)"|(?P<bare>\S+))""")

OrderFilter = Callable[[SandboxOrder], bool]


def _name_filter(value: str) -> OrderFilter:
    # Shopify matches `name:1001` and `name:#1001` alike: the `#` is optional.
    wanted = name_key(value)
    return lambda order: name_key(order.name) == wanted


def _id_filter(value: str) -> OrderFilter:
    wanted = value.strip()
    if not wanted.isdigit():
        return lambda _order: False
    number = int(wanted)
    return lambda order: order.id == number


_FILTERS: dict[str, Callable[[str], OrderFilter]] = {"name": _name_filter, "id": _id_filter}


def query_terms(query: str | None) -> list[tuple[str, str]]:
    """The `(field, value)` terms of a search string, field names lower-cased, quotes removed."""
    if not query:
        return []
    return [
        (match["field"].lower(), match["single"] or match["double"] or match["bare"] or "")
        for match in _TERM.finditer(query)
    ]


def parse_order_query(query: str | None) -> list[OrderFilter]:
    """The filters a search string asks for; terms on other fields are ignored, as Shopify does."""
    return [_FILTERS[field](value) for field, value in query_terms(query) if field in _FILTERS]


def name_key(name: str) -> str:
    """What `name:` compares: the order name without its optional `#`."""
    return name.strip().removeprefix("#")


def search_orders(orders: list[SandboxOrder], query: str | None) -> list[SandboxOrder]:
    """The orders matching every term of `query`, in id order."""
    filters = parse_order_query(query)
    ordered = sorted(orders, key=lambda order: order.id)
    return [order for order in ordered if all(accepts(order) for accepts in filters)]
