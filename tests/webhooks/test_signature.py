"""The webhook signature: base64 HMAC-SHA256 of the raw body, nothing else accepted."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from service.webhooks.signature import sign, valid_hmac

SECRET = "shpss_webhook_secret_for_tests"
BODY = b'{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508"}'
# A fixed vector, computed apart from the code under test: base64(HMAC-SHA256("secret", "hello")).
# (hmac.new(b"secret", b"hello", hashlib.sha256), then base64.)
KNOWN_BODY = b"hello"
KNOWN_SECRET = "secret"
KNOWN_SIGNATURE = "iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs="


def test_a_body_signed_with_the_secret_is_valid() -> None:
    assert valid_hmac(BODY, sign(BODY, SECRET), SECRET)


def test_the_signature_is_the_base64_hmac_sha256_of_the_raw_body() -> None:
    assert sign(KNOWN_BODY, KNOWN_SECRET) == KNOWN_SIGNATURE
    assert valid_hmac(KNOWN_BODY, KNOWN_SIGNATURE, KNOWN_SECRET)


def test_a_signature_made_with_another_secret_is_invalid() -> None:
    assert not valid_hmac(BODY, sign(BODY, "another-secret"), SECRET)


def test_a_missing_header_is_invalid() -> None:
    assert not valid_hmac(BODY, None, SECRET)


def test_an_empty_header_is_invalid() -> None:
    assert not valid_hmac(BODY, "", SECRET)


def test_an_empty_secret_accepts_nothing() -> None:
    assert not valid_hmac(BODY, sign(BODY, ""), "")


def test_an_empty_body_is_checked_like_any_other() -> None:
    assert valid_hmac(b"", sign(b"", SECRET), SECRET)
    assert not valid_hmac(b"", sign(BODY, SECRET), SECRET)


def test_a_body_altered_by_one_byte_is_invalid() -> None:
    altered = BODY[:10] + bytes([BODY[10] ^ 0x01]) + BODY[11:]
    assert not valid_hmac(altered, sign(BODY, SECRET), SECRET)


def test_a_body_with_a_byte_appended_is_invalid() -> None:
    assert not valid_hmac(BODY + b" ", sign(BODY, SECRET), SECRET)


def test_a_header_that_is_not_base64_is_invalid() -> None:
    assert not valid_hmac(BODY, "not base64 at all!", SECRET)


def test_a_header_that_is_not_ascii_is_invalid() -> None:
    assert not valid_hmac(BODY, "é" * 44, SECRET)


def test_a_hex_digest_is_invalid() -> None:
    assert not valid_hmac(BODY, "a" * 64, SECRET)


def test_a_truncated_digest_is_invalid() -> None:
    digest = base64.b64decode(sign(BODY, SECRET))
    assert not valid_hmac(BODY, base64.b64encode(digest[:16]).decode(), SECRET)


def test_surrounding_whitespace_in_the_header_is_tolerated() -> None:
    assert valid_hmac(BODY, f" {sign(BODY, SECRET)}\t", SECRET)


@given(st.binary(max_size=512), st.binary(min_size=1, max_size=512))
def test_no_other_body_matches_a_signature(body: bytes, other: bytes) -> None:
    if other != body:
        assert not valid_hmac(other, sign(body, SECRET), SECRET)
