"""Does the contact a customer typed match the order? E-mail or phone, compared in constant time."""

from __future__ import annotations

import functools
import hashlib
import hmac

import phonenumbers

from service.models import Order


def normalise_email(value: str) -> str:
    """E-mail addresses compare trimmed and case-insensitively."""
    return value.strip().casefold()


def normalise_phone(value: str, *, region: str | None) -> str | None:
    """E.164 form of a phone number, read in `region` when it has no country code."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _region_of(e164: str | None) -> str | None:
    if not e164:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def _digest(value: str) -> bytes:
    # Any string a client can send, lone surrogates included, has a digest: a contact that
    # cannot be encoded must fail the comparison like any other wrong contact, not raise.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def _same(left: str | None, right: str | None) -> bool:
    # Compare even when one side is missing, so timing says nothing about which part failed.
    return hmac.compare_digest(_digest(left or "\x00"), _digest(right or "\x01"))


@functools.lru_cache(maxsize=4096)
def _order_phone(phone: str) -> tuple[str | None, str]:
    """The order's phone in E.164 and the region typed numbers are read in. Remembered: a
    cached order is looked up again and again, and parsing it twice a lookup was measurable.
    Only the order's side: a cache of typed contacts would time what others typed."""
    e164 = normalise_phone(phone, region=None)
    return e164, _region_of(e164) or "US"


def contact_matches(order: Order, contact: str) -> bool:
    """True when `contact` is the order's e-mail or phone.

    A phone typed without a country code is read in the country of the order's own
    number: customers type numbers the way they write them at home.
    """
    email_match = _same(normalise_email(contact), normalise_email(order.email or ""))
    order_phone, region = _order_phone(order.phone) if order.phone else (None, "US")
    typed_phone = normalise_phone(contact, region=region)
    phone_match = _same(typed_phone, order_phone)
    return (bool(order.email) and email_match) or (bool(order_phone) and phone_match)
