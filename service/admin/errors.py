"""Exceptions of the Admin API client; their text is ours alone, never Shopify's or a secret."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

# Shopify's error and userError codes are SCREAMING_SNAKE identifiers; anything else is
# dropped so an exception never carries free text from upstream.
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


class ErrorKind(enum.StrEnum):
    """Which way the Admin API failed; metrics and the audit log record it."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    HTTP_STATUS = "http_status"
    UNAUTHORIZED = "unauthorized"
    THROTTLED = "throttled"
    GRAPHQL_ERRORS = "graphql_errors"
    MALFORMED = "malformed"


_DESCRIPTIONS = {
    ErrorKind.TIMEOUT: "the Shopify Admin API did not answer in time",
    ErrorKind.CONNECTION: "the Shopify Admin API could not be reached",
    ErrorKind.HTTP_STATUS: "the Shopify Admin API answered with an HTTP error",
    ErrorKind.UNAUTHORIZED: "the Shopify Admin API rejected ordergate's credentials",
    ErrorKind.THROTTLED: "the Shopify Admin API rate limit did not allow the call in time",
    ErrorKind.GRAPHQL_ERRORS: "the Shopify Admin API refused the operation",
    ErrorKind.MALFORMED: "the Shopify Admin API answered with an unexpected body",
}


def safe_codes(codes: Iterable[object]) -> tuple[str, ...]:
    """The identifier-shaped codes among `codes`; free text is left out."""
    return tuple(code for code in codes if isinstance(code, str) and _CODE.match(code))


class UpstreamUnavailable(Exception):
    """Any failure of the Shopify Admin API; `str()` is a fixed description, `kind` says which."""

    def __init__(
        self,
        kind: ErrorKind,
        *,
        operation: str | None = None,
        status: int | None = None,
        codes: Iterable[object] = (),
    ) -> None:
        self.kind = kind
        self.operation = operation
        self.status = status
        self.codes = safe_codes(codes)
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = _DESCRIPTIONS[self.kind]
        details = []
        if self.operation is not None:
            details.append(f"operation {self.operation}")
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.codes:
            details.append("codes " + ",".join(self.codes))
        return f"{text} ({'; '.join(details)})" if details else text


class OperationNotAllowed(LookupError):
    """An operation name that is not in the registry: a programming error, never user input."""
