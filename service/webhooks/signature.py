"""Is a webhook signed by Shopify: base64 HMAC-SHA256 of the raw body with the shared secret."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_DIGEST_BYTES = hashlib.sha256().digest_size


def sign(raw_body: bytes, secret: str) -> str:
    """The `X-Shopify-Hmac-Sha256` value Shopify sends with `raw_body` (tests, the sandbox)."""
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def valid_hmac(raw_body: bytes, header: str | None, secret: str) -> bool:
    """Whether `header` is the base64 HMAC-SHA256 of the exact bytes received, under `secret`.

    False for a missing, empty or malformed header and for an empty secret. The digests are
    compared in constant time.
    """
    if not header or not secret:
        return False
    try:
        given = base64.b64decode(header.strip().encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        return False
    if len(given) != _DIGEST_BYTES:
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)
