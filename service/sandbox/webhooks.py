"""Delivers the sandbox's webhooks as Shopify does: a signed JSON POST per topic, retried in the
background on anything but a 2xx, never holding up the Admin call or staff action behind it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

logger = logging.getLogger("ordergate.sandbox.webhooks")

DEFAULT_RETRY_DELAYS = (0.5, 2.0, 5.0)
# What the sender remembers for tests and demos; a load test's thousands of changes are not kept.
KEPT = 10_000
# Shopify gives up on a delivery that takes longer than five seconds.
DELIVERY_TIMEOUT = aiohttp.ClientTimeout(total=5)


def signature(raw_body: bytes, secret: str) -> str:
    """`X-Shopify-Hmac-Sha256`: the base64 HMAC-SHA256 of the raw body with the secret."""
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass
class Delivery:
    """One webhook: what was sent, and each attempt's HTTP status (None: no answer)."""

    topic: str
    payload: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    url: str
    attempts: list[int | None] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        """Whether the receiver answered 2xx."""
        last = self.attempts[-1] if self.attempts else None
        return last is not None and 200 <= last < 300


@dataclass(frozen=True)
class Published:
    """A webhook the store published, whether or not a URL was configured to receive it."""

    topic: str
    payload: dict[str, Any]
    at: datetime


class WebhookSender:
    """Signs and posts each published webhook to `url`, when one is configured."""

    def __init__(
        self,
        *,
        shop_domain: str,
        api_version: str,
        secret: str,
        url: str | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        self.shop_domain = shop_domain
        self.api_version = api_version
        self.secret = secret
        self.url = url
        self.retry_delays = tuple(retry_delays)
        self.published: deque[Published] = deque(maxlen=KEPT)
        self.deliveries: deque[Delivery] = deque(maxlen=KEPT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def deliver_to(self, url: str | None, *, secret: str | None = None) -> None:
        """Send later webhooks to `url` (None: stop sending), signed with `secret` if given."""
        self.url = url
        if secret is not None:
            self.secret = secret

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Queue one webhook; returns at once (the POST runs in a background task)."""
        now = datetime.now(UTC)
        self.published.append(Published(topic, payload, now))
        if self.url is None:
            return
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature(body, self.secret),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            # Both stay the same when a delivery is retried.
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": now.isoformat(),
        }
        delivery = Delivery(topic, payload, body, headers, self.url)
        self.deliveries.append(delivery)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        for delay in (*self.retry_delays, None):
            delivery.attempts.append(await self._attempt(delivery))
            if delivery.delivered:
                return
            if delay is None:
                break
            await asyncio.sleep(delay)
        logger.warning(
            "sandbox webhook not delivered",
            extra={"topic": delivery.topic, "attempts": len(delivery.attempts)},
        )

    async def _attempt(self, delivery: Delivery) -> int | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=DELIVERY_TIMEOUT)
        try:
            async with self._session.post(
                delivery.url, data=delivery.body, headers=delivery.headers
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None

    async def drain(self) -> None:
        """Wait until every queued webhook was delivered or given up on (tests, demos)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Drop deliveries still retrying and close the HTTP session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
