"""`POST /webhooks/shopify`: checks a delivery's signature and shop, stores it, answers 200.

Nothing is parsed before the signature and the shop domain are checked: a refusal is 401 with
an empty body, stores nothing and is counted by reason. A good delivery is written to the
webhook inbox (order topics: the order's gid only; compliance topics: the order ids they
name) and
answered 200 at once; a worker does the work. A redelivery is acknowledged and not stored
again; a topic ordergate does not handle is acknowledged and dropped. Postgres unreachable is
503, so Shopify delivers again later.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from service.config import Settings
from service.metrics import Metrics
from service.storage import StorageUnavailable, storage_errors, webhook_inbox
from service.webhooks.signature import valid_hmac
from service.webhooks.topics import COMPLIANCE_TOPICS, KNOWN_TOPICS, minimised, order_gid

logger = logging.getLogger("ordergate.webhooks")

MAX_BODY_BYTES = 256 * 1024
BODY_DEADLINE_SECONDS = 10.0
# Shopify gives up on an answer after 5 s and delivers again: better a quick 503 than a late 200.
STORE_DEADLINE_SECONDS = 3.0
MAX_DELIVERY_ID_LENGTH = 255

SANDBOX_SHOP_DOMAIN = "sandbox.myshopify.com"
"""The shop domain the built-in sandbox sends its webhooks as (`ordergate dev`)."""

HMAC_HEADER = "x-shopify-hmac-sha256"
SHOP_HEADER = "x-shopify-shop-domain"
TOPIC_HEADER = "x-shopify-topic"
EVENT_ID_HEADER = "x-shopify-event-id"
WEBHOOK_ID_HEADER = "x-shopify-webhook-id"


class _Refused(Exception):
    """The delivery is answered `status` and nothing is stored; `reason` labels the metric."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Delivery:
    """What is stored of a delivery that passed the checks."""

    delivery_id: str
    topic: str
    order_id: str | None
    payload: dict[str, Any] | None


class WebhookIntake:
    """The endpoint's state: where deliveries go, and what a genuine one must carry."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        metrics: Metrics,
        shop_domain: str | None,
        secret: str | None,
        clock: Callable[[], datetime],
        max_body: int = MAX_BODY_BYTES,
        body_deadline: float = BODY_DEADLINE_SECONDS,
        store_deadline: float = STORE_DEADLINE_SECONDS,
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self._shop_domain = shop_domain.strip().lower() if shop_domain else None
        self._secret = secret or None
        self._clock = clock
        self._max_body = max_body
        self._body_deadline = body_deadline
        self._store_deadline = store_deadline

    @classmethod
    def for_app(
        cls,
        settings: Settings,
        *,
        pool: asyncpg.Pool,
        metrics: Metrics,
        clock: Callable[[], datetime],
        shop_domain: str | None = None,
        secret: str | None = None,
    ) -> WebhookIntake:
        """The intake for these settings: SHOPIFY_SHOP (the sandbox's domain when ordergate
        runs on the sandbox), and SHOPIFY_WEBHOOK_SECRET or SHOPIFY_CLIENT_SECRET.

        `shop_domain` and `secret`, when given, win: the runtime knows what the built-in
        sandbox signs with.
        """
        if shop_domain is None:
            shop_domain = settings.shopify_shop
        if shop_domain is None and settings.uses_sandbox:
            shop_domain = SANDBOX_SHOP_DOMAIN
        return cls(
            pool=pool,
            metrics=metrics,
            shop_domain=shop_domain,
            secret=secret if secret is not None else settings.webhook_secret_value(),
            clock=clock,
        )

    @staticmethod
    def of(request: Request) -> WebhookIntake:
        """The intake of the app serving `request` (set by the app's lifespan)."""
        intake: WebhookIntake = request.app.state.webhooks
        return intake

    async def handle(self, request: Request) -> Response:
        """Check, store, acknowledge."""
        try:
            raw = await self._authentic_body(request)
        except _Refused as refused:
            self._metrics.webhook_rejected(refused.reason)
            logger.info("webhook refused", extra={"outcome": refused.reason})
            return Response(status_code=refused.status)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        delivery = self._read(request, raw)
        if delivery is None:
            return Response(status_code=200)
        try:
            async with storage_errors(), asyncio.timeout(self._store_deadline):
                stored = await webhook_inbox.store(
                    conn=self._pool,
                    delivery_id=delivery.delivery_id,
                    topic=delivery.topic,
                    order_id=delivery.order_id,
                    payload=delivery.payload,
                    received_at=self._clock(),
                )
        except StorageUnavailable as exc:
            self._metrics.webhook_rejected("unavailable")
            logger.warning("webhook not stored: Postgres unavailable", extra={"kind": str(exc)})
            return Response(status_code=503, headers={"Retry-After": "5"})
        if not stored:
            self._metrics.webhook_duplicate(delivery.topic)
        return Response(status_code=200)

    async def _authentic_body(self, request: Request) -> bytes:
        """The raw body, once the shop, the size and the signature are right."""
        if self._secret is None or self._shop_domain is None:
            raise _Refused(401, "unconfigured")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body:
            raise _Refused(413, "too_large")
        shop = request.headers.get(SHOP_HEADER, "").strip().lower()
        if shop != self._shop_domain:
            raise _Refused(401, "shop")
        try:
            async with asyncio.timeout(self._body_deadline):
                raw = await self._receive(request)
        except TimeoutError:
            raise _Refused(408, "timeout") from None
        if not valid_hmac(raw, request.headers.get(HMAC_HEADER), self._secret):
            raise _Refused(401, "signature")
        return raw

    async def _receive(self, request: Request) -> bytes:
        """The body, chunk by chunk; stops reading past the cap (a chunked body declares none)."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_body:
                raise _Refused(413, "too_large")
            chunks.append(chunk)
        return b"".join(chunks)

    def _read(self, request: Request, raw: bytes) -> _Delivery | None:
        """What to store of a signed delivery; None when it is acknowledged and dropped."""
        topic = request.headers.get(TOPIC_HEADER, "").strip().lower()
        if topic not in KNOWN_TOPICS:
            self._metrics.webhook_received("unknown")
            self._metrics.webhook_ignored("unknown_topic")
            return None
        self._metrics.webhook_received(topic)
        payload = _json_object(raw)
        delivery_id = _delivery_id(request, raw)
        if payload is None or delivery_id is None:
            self._metrics.webhook_ignored("malformed")
            return None
        if topic in COMPLIANCE_TOPICS:
            return _Delivery(delivery_id, topic, order_id=None, payload=minimised(payload))
        order_id = order_gid(topic, payload)
        if order_id is None:
            self._metrics.webhook_ignored("no_order")
            return None
        return _Delivery(delivery_id, topic, order_id=order_id, payload=None)


async def shopify_webhook(request: Request) -> Response:
    """`POST /webhooks/shopify` (CONTRACT §6)."""
    return await WebhookIntake.of(request).handle(request)


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


def _delivery_id(request: Request, raw: bytes) -> str | None:
    """`X-Shopify-Event-Id`, else `X-Shopify-Webhook-Id`: the same on every redelivery.

    Shopify always sends both; a delivery with neither (a hand-made one) is keyed by its body,
    so sending the same bytes twice still stores them once.
    """
    for header in (EVENT_ID_HEADER, WEBHOOK_ID_HEADER):
        value = request.headers.get(header, "").strip()
        if value:
            return value if len(value) <= MAX_DELIVERY_ID_LENGTH else None
    return "sha256:" + hashlib.sha256(raw).hexdigest()
