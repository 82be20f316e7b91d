"""Pure checks of what people type: order numbers (customers and operators alike), lengths,
control characters, keys."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from service.models import Refusal, UserErrorCode

CANCELLATION_COMMENT_LIMIT = 500
NOT_RECEIVED_COMMENT_LIMIT = 1000
IDEMPOTENCY_KEY_LIMIT = 255
# The longest e-mail address SMTP allows (RFC 3696 errata); phone numbers are far shorter.
CONTACT_LIMIT = 320
ORDER_NUMBER_LIMIT = 64
_DIGITS = re.compile(r"^\d{1,20}$")
_KEPT_CONTROLS = {"\n", "\t"}


def clean_text(value: str) -> str:
    """Strip control and format characters (bidi overrides, NULs), keeping newlines and tabs."""
    return "".join(
        char
        for char in value
        if char in _KEPT_CONTROLS or unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co"}
    ).strip()


def _invalid(
    field: str, problem: str, *, limit: int | None = None, within: tuple[str, ...] = ("input",)
) -> Refusal:
    return Refusal(
        code=UserErrorCode.INVALID_INPUT, field=(*within, field), problem=problem, limit=limit
    )


def clean_comment(value: str | None, *, limit: int) -> str | Refusal | None:
    """The comment as stored: cleaned, None when empty, refused when longer than `limit`."""
    if value is None:
        return None
    cleaned = clean_text(value)
    if len(cleaned) > limit:
        return _invalid("comment", "TOO_LONG", limit=limit)
    return cleaned or None


def check_idempotency_key(value: str | None) -> Refusal | None:
    """A key is at most `IDEMPOTENCY_KEY_LIMIT` printable ASCII characters."""
    if value is None:
        return None
    if not value or len(value) > IDEMPOTENCY_KEY_LIMIT:
        return _invalid(
            "idempotencyKey", "TOO_LONG" if value else "REQUIRED", limit=IDEMPOTENCY_KEY_LIMIT
        )
    if not (value.isascii() and value.isprintable()):
        return _invalid("idempotencyKey", "INVALID")
    return None


def check_identity(
    order_number: str, contact: str, *, within: tuple[str, ...] = ("input",)
) -> Refusal | None:
    """Order number and contact must be present and of sane length: the same answer for the
    lookup (`within=()`, its arguments) and both mutations (their `input`), decided before
    any order is read, so it tells nothing about which orders exist."""
    for field, value in (("orderNumber", order_number), ("contact", contact)):
        if not value.strip():
            return _invalid(field, "REQUIRED", within=within)
        if len(value) > CONTACT_LIMIT:
            return _invalid(field, "TOO_LONG", limit=CONTACT_LIMIT, within=within)
    return None


def canonical_order_name(typed: str, *, prefix: str = "#", suffix: str = "") -> str | None:
    """`#1001`, `1001` and ` #1001 ` all become `#1001`; None when it cannot be an order name.

    Shops may configure a prefix and suffix for order names (`EU-1001-B`): customers
    type the full name, the bare number, or the number after a `#`.
    """
    text = typed.strip()
    if not text or len(text) > ORDER_NUMBER_LIMIT or not text.isprintable():
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


ORDER_GID_PREFIX = "gid://shopify/Order/"
_ORDER_GID = re.compile(r"^gid://shopify/Order/[1-9][0-9]{0,19}$")


@dataclass(frozen=True, slots=True)
class OrderArgument:
    """An order as an operator typed it: exactly one of its gid or its canonical name."""

    gid: str | None = None
    name: str | None = None


def order_argument(typed: str, *, prefix: str = "#", suffix: str = "") -> OrderArgument | None:
    """`#1001`, `1001` (a name, as the shop writes it) or `gid://shopify/Order/…` as typed on a
    command line; None when it is none of them. Commands taking an order share this one."""
    text = typed.strip()
    if _ORDER_GID.match(text):
        return OrderArgument(gid=text)
    name = canonical_order_name(text, prefix=prefix, suffix=suffix)
    return OrderArgument(name=name) if name is not None else None


VERIFICATION_CODE_DIGITS = 6
_CODE_SEPARATORS = str.maketrans("", "", " -\t")


def typed_code(value: str | None) -> str | None:
    """A one-time code as typed (`123 456`, `123-456`) as its digits; None if it cannot be one."""
    if value is None:
        return None
    digits = value.translate(_CODE_SEPARATORS)
    if len(digits) != VERIFICATION_CODE_DIGITS or not (digits.isascii() and digits.isdigit()):
        return None
    return digits


def masked_email(address: str) -> str:
    """`ada.lovelace@example.com` as `a•••@example.com`: enough to recognise, not to learn."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"
