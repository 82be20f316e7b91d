"""The sandbox's credentials: a static Admin token, client id and secret, and granted tokens."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable

GRANTED_SCOPES = (
    "read_orders,write_orders,"
    "read_merchant_managed_fulfillment_orders,write_merchant_managed_fulfillment_orders"
)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class Credentials:
    """Random per sandbox: what it accepts, and the tokens its client-credentials grant issued."""

    def __init__(
        self, *, token_lifetime_seconds: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.admin_token = f"shpat_{secrets.token_hex(16)}"
        self.client_id = secrets.token_hex(16)
        self.client_secret = f"shpss_{secrets.token_hex(16)}"
        self.token_lifetime_seconds = token_lifetime_seconds
        self._monotonic = monotonic
        self._granted: dict[str, float] = {}

    def client_matches(self, client_id: str, client_secret: str) -> bool:
        """Whether a client-credentials grant names this app and its secret."""
        # `&`, not `and`: both comparisons always run, so timing does not tell which one failed.
        return _same(client_id, self.client_id) & _same(client_secret, self.client_secret)

    def grant(self) -> str:
        """A new access token, valid for the configured lifetime."""
        token = f"shpat_{secrets.token_hex(16)}"
        self._granted[token] = self._monotonic() + self.token_lifetime_seconds
        return token

    def accepts(self, token: str | None) -> bool:
        """Whether a request carrying this `X-Shopify-Access-Token` is let in."""
        if not token:
            return False
        if _same(token, self.admin_token):
            return True
        expires = self._granted.get(token)
        return expires is not None and self._monotonic() < expires
