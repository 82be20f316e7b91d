"""Seal what the outbox stores: a queued mail's recipient and texts are never readable at rest.

A verification code may only be stored as a keyed hash (CONTRACT §5), yet a mail queued during
an SMTP outage must still go out later, so the whole rendered mail is encrypted and
authenticated with a key derived from `ORDERGATE_SECRET_KEY`, and erased once delivered.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# The label keeps this key apart from every other key derived from the same secret
# (the keyed hashes of codes and personal data): one leaked derived key opens nothing else.
_CONTEXT = b"ordergate/mail-outbox/seal/v1"


class SealBroken(Exception):
    """A sealed blob was altered, truncated, or sealed under another secret."""

    def __init__(self) -> None:
        super().__init__("the sealed mail could not be opened")


class Sealer:
    """Encrypts and authenticates small JSON documents (Fernet: AES-128-CBC with HMAC-SHA256)."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the sealing secret must not be empty")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_CONTEXT).derive(secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, data: Mapping[str, object]) -> bytes:
        """`data` as JSON, encrypted and authenticated; each call gives a different blob."""
        plain = json.dumps(dict(data), ensure_ascii=False, separators=(",", ":"))
        return self._fernet.encrypt(plain.encode("utf-8"))

    def open(self, blob: bytes) -> dict[str, object]:
        """The document `seal` was given; raises `SealBroken` when `blob` is not one of ours."""
        try:
            document = json.loads(self._fernet.decrypt(blob))
        except (InvalidToken, ValueError):
            raise SealBroken from None
        if not isinstance(document, dict):
            raise SealBroken
        return document
