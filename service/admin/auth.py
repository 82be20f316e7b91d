"""Admin API access tokens: a static one, or one obtained and renewed with client credentials."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from pydantic import SecretStr

from service.admin.errors import ErrorKind, UpstreamUnavailable

logger = logging.getLogger("ordergate.admin")

_TOKEN_PATH = "/admin/oauth/access_token"
_RENEW_SHARE = 0.9
_RENEW_FLOOR = 0.5
_RETRY_AFTER_FAILURE = 30.0
_REFUSED = frozenset({400, 401, 403})
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)


class TokenProvider(Protocol):
    """Where the client gets the `X-Shopify-Access-Token` value."""

    async def token(self) -> str:
        """The token to send now."""
        ...

    async def renew(self, *, rejected: str) -> str:
        """A token to retry with after Shopify answered 401 to `rejected`."""
        ...


def token_url_for(endpoint: str) -> str:
    """The client-credentials token URL on the same origin as the Admin GraphQL `endpoint`."""
    parts = urlsplit(endpoint)
    if not parts.scheme or not parts.netloc:
        raise ValueError("the Admin endpoint must be an absolute URL")
    return urlunsplit((parts.scheme, parts.netloc, _TOKEN_PATH, "", ""))


def renew_after(lifetime: float, *, margin: float) -> float:
    """Seconds after issue to renew a token that lives `lifetime` seconds.

    At 90% of the lifetime or `margin` seconds before it ends, whichever is earlier, but never
    before half of it has passed, so a short-lived token is not fetched again on every call.
    """
    return max(lifetime * _RENEW_FLOOR, min(lifetime * _RENEW_SHARE, lifetime - margin))


class StaticToken:
    """A fixed Admin API token; a 401 cannot be repaired by renewing it."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(token=SecretStr('**********'))"

    async def token(self) -> str:
        """The configured token."""
        return self._token.get_secret_value()

    async def renew(self, *, rejected: str) -> str:
        """Always fails: Shopify rejected the only token there is."""
        raise UpstreamUnavailable(ErrorKind.UNAUTHORIZED)


class ClientCredentials:
    """Tokens from the client-credentials grant, cached and renewed before they expire."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        clock: Callable[[], float] = time.monotonic,
        renew_margin: float = 300.0,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._renew_margin = renew_margin
        self._timeout = timeout
        # One renewal at a time: concurrent callers wait for it and reuse its token.
        self._lock = asyncio.Lock()
        self._current: SecretStr | None = None
        self._renew_at = -float("inf")
        self._expires_at = -float("inf")

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self._token_url!r}, client_id={self._client_id!r})"

    def _fresh(self) -> str | None:
        if self._current is not None and self._clock() < self._renew_at:
            return self._current.get_secret_value()
        return None

    async def token(self) -> str:
        """The cached token, fetching a new one first when it is due for renewal."""
        fresh = self._fresh()
        if fresh is not None:
            return fresh
        async with self._lock:
            return self._fresh() or await self._refresh(proactive=True)

    async def renew(self, *, rejected: str) -> str:
        """A new token, unless another caller already replaced the rejected one."""
        async with self._lock:
            if self._current is not None and self._current.get_secret_value() != rejected:
                return self._fresh() or await self._refresh(proactive=True)
            self._current = None
            return await self._refresh(proactive=False)

    async def _refresh(self, *, proactive: bool) -> str:
        # The lifetime counts from before the request, so the token never outlives our estimate.
        now = self._clock()
        try:
            token, lifetime = await self._fetch()
        except UpstreamUnavailable:
            # A renewal ahead of expiry may fail; the old token still works until it ends.
            if proactive and self._current is not None and now < self._expires_at:
                logger.warning("admin token renewal failed; keeping the current token")
                self._renew_at = min(now + _RETRY_AFTER_FAILURE, self._expires_at)
                return self._current.get_secret_value()
            raise
        self._current = SecretStr(token)
        if lifetime is None:
            self._renew_at = self._expires_at = float("inf")
        else:
            self._renew_at = now + renew_after(lifetime, margin=self._renew_margin)
            self._expires_at = now + lifetime
        logger.info("admin token obtained lifetime=%s", lifetime)
        return token

    async def _fetch(self) -> tuple[str, float | None]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.get_secret_value(),
        }
        try:
            async with self._session.post(
                self._token_url,
                data=form,
                timeout=self._timeout,
                headers={"Accept": "application/json"},
            ) as response:
                status = response.status
                body = await response.read()
        except TimeoutError:
            raise UpstreamUnavailable(ErrorKind.TIMEOUT, operation="token") from None
        except aiohttp.ClientError:
            raise UpstreamUnavailable(ErrorKind.CONNECTION, operation="token") from None
        if status != 200:
            kind = ErrorKind.UNAUTHORIZED if status in _REFUSED else ErrorKind.HTTP_STATUS
            raise UpstreamUnavailable(kind, operation="token", status=status)
        return _parse_token(body)


def _parse_token(body: bytes) -> tuple[str, float | None]:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    token = payload.get("access_token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        raise UpstreamUnavailable(ErrorKind.MALFORMED, operation="token")
    lifetime = payload.get("expires_in") if isinstance(payload, dict) else None
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        return token, None
    return token, float(lifetime)
