"""Turn an order number as a customer types it into the shop's order name."""

from __future__ import annotations

import re

MAX_TYPED_LENGTH = 64
_DIGITS = re.compile(r"^\d{1,20}$")


def canonical_order_name(typed: str, *, prefix: str = "#", suffix: str = "") -> str | None:
    """`#1001`, `1001` and ` #1001 ` all become `#1001`; None when it cannot be an order name.

    Shops may configure a prefix and suffix for order names (`EU-1001-B`): customers
    type the full name, the bare number, or the number after a `#`.
    """
    text = typed.strip()
    if not text or len(text) > MAX_TYPED_LENGTH or not text.isprintable():
        return None
    core = text
    if prefix and core.casefold().startswith(prefix.casefold()):
        core = core[len(prefix) :]
    elif core.startswith("#"):
        core = core[1:]
    if suffix and core.casefold().endswith(suffix.casefold()):
        core = core[: -len(suffix)]
    core = core.strip()
    if not _DIGITS.match(core):
        return None
    return f"{prefix}{core}{suffix}"
