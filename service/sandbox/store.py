"""The sandbox shop's in-memory state and the effects of the Admin mutations it allows.

Every change to an order is published as the webhooks Shopify would send about it
(`on_webhook`, wired to the deliverer by `server.py`); publishing never waits for delivery.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from service.client_address import LOOPBACK_HOSTS
from service.sandbox.payloads import order_payload, refund_payload
from service.sandbox.records import (
    FULFILLMENT_ORDER_GID,
    JOB_GID,
    ORDER_GID,
    SandboxCancellation,
    SandboxFulfillmentOrder,
    SandboxHold,
    SandboxJob,
    SandboxMetafield,
    SandboxOrder,
    SandboxWebhookSubscription,
    gid_number,
)
from service.sandbox.search import name_key, query_terms, search_orders

# The namespace Shopify uses when metafieldsSet is called without one.
APP_NAMESPACE = "$app"
METAFIELDS_PER_CALL = 25
_HOLDABLE = frozenset({"OPEN", "SCHEDULED"})
_CLOSED_ON_CANCEL = frozenset({"OPEN", "SCHEDULED", "ON_HOLD", "INCOMPLETE"})
_REFUNDABLE = frozenset({"PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED"})
WebhookListener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class UserError:
    """A mutation's refusal, shaped like Shopify's `userErrors` entries."""

    message: str
    field: list[str | int]
    code: str | None = None


@dataclass(frozen=True)
class MetafieldInput:
    """One entry of `metafieldsSet(metafields:)`."""

    owner_id: str
    key: str
    value: str
    namespace: str | None = None
    type: str | None = None


class ShopStore:
    """Orders by id, their tags, metafields, holds and the jobs behind cancellations."""

    def __init__(self, *, clock: Callable[[], datetime], job_delay_seconds: float) -> None:
        self.clock = clock
        self.job_delay_seconds = job_delay_seconds
        self.orders: dict[int, SandboxOrder] = {}
        self._ids_by_name: dict[str, list[int]] = {}
        self.metafields: dict[tuple[str, str, str], SandboxMetafield] = {}
        self.jobs: dict[str, SandboxJob] = {}
        self._metafield_ids = itertools.count(1)
        self._timers: list[asyncio.TimerHandle] = []
        self.subscriptions: list[SandboxWebhookSubscription] = []
        self.on_webhook: WebhookListener | None = None
        self._subscription_ids = itertools.count(1_300_000_001)
        self._fulfillment_ids = itertools.count(4_100_000_001)
        self._refund_ids = itertools.count(9_200_000_001)
        self._fulfillment_event_ids = itertools.count(2_700_000_001)

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Hand one webhook (e.g. "orders/updated") to whoever delivers them."""
        if self.on_webhook is not None:
            self.on_webhook(topic, payload)

    def order_changed(self, order: SandboxOrder, *topics: str) -> None:
        """Publish the order's own payload under each of `topics`."""
        for topic in topics:
            self.publish(topic, order_payload(order, now=self.clock()))

    def next_fulfillment_id(self) -> int:
        """A fresh fulfilment id."""
        return next(self._fulfillment_ids)

    def next_fulfillment_event_id(self) -> int:
        """A fresh fulfilment event id."""
        return next(self._fulfillment_event_ids)

    def add_order(self, order: SandboxOrder) -> None:
        """Put an order into the shop (demo seeding and tests)."""
        for fulfillment in order.fulfillments:
            if not fulfillment.id:
                fulfillment.id = self.next_fulfillment_id()
        self.orders[order.id] = order
        same_name = self._ids_by_name.setdefault(name_key(order.name), [])
        if order.id not in same_name:
            same_name.append(order.id)

    def order_named(self, name: str) -> SandboxOrder:
        """The order with this exact name, e.g. "#1001"; KeyError when there is none."""
        for order in self.orders.values():
            if order.name == name:
                return order
        raise KeyError(name)

    def find_orders(self, query: str | None) -> list[SandboxOrder]:
        """The orders a Shopify search string selects, in id order."""
        return search_orders(self._candidates(query), query)

    def _candidates(self, query: str | None) -> list[SandboxOrder]:
        # Scanning every order per search makes a shop of 20,000 generated orders the
        # bottleneck of a load test; a `name:` or `id:` term narrows the search to the
        # orders of that name or id, and search_orders still applies every term to them.
        for field, value in query_terms(query):
            if field == "name":
                ids = self._ids_by_name.get(name_key(value), [])
            elif field == "id" and value.strip().isdigit():
                ids = [int(value.strip())]
            else:
                continue
            return [self.orders[each] for each in ids if each in self.orders]
        return list(self.orders.values())

    def order_by_gid(self, gid: str) -> SandboxOrder | None:
        """The order a `gid://shopify/Order/N` names, if it exists."""
        number = gid_number(gid, ORDER_GID)
        return None if number is None else self.orders.get(number)

    def fulfillment_order_by_gid(self, gid: str) -> SandboxFulfillmentOrder | None:
        """The fulfilment order a `gid://shopify/FulfillmentOrder/N` names, if it exists."""
        number = gid_number(gid, FULFILLMENT_ORDER_GID)
        for order in self.orders.values():
            for fulfillment_order in order.fulfillment_orders:
                if fulfillment_order.id == number:
                    return fulfillment_order
        return None

    def cancel(self, *, order_id: str, cancellation: SandboxCancellation) -> SandboxJob | UserError:
        """Start cancelling an order; the effect lands when the returned job completes."""
        order = self.order_by_gid(order_id)
        if order is None:
            return UserError("Order does not exist", ["orderId"], "NOT_FOUND")
        refusal = self.cancel_refusal(order)
        if refusal is not None:
            return UserError(refusal, ["orderId"], "INVALID")
        order.cancellation = cancellation
        job = SandboxJob(id=f"{JOB_GID}{uuid.uuid4()}", order_id=order.id)
        self.jobs[job.id] = job
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(self.job_delay_seconds, self._complete, job))
        return job

    def cancel_refusal(self, order: SandboxOrder) -> str | None:
        """Why Shopify would refuse to cancel the order now, or None when it may be."""
        pending = any(job.order_id == order.id and not job.done for job in self.jobs.values())
        if order.cancelled_at is not None or pending:
            return "Order has already been cancelled"
        if any(fulfillment.status == "SUCCESS" for fulfillment in order.fulfillments):
            return "Cannot cancel an order with fulfilled items"
        return None

    def _complete(self, job: SandboxJob) -> None:
        order = self.orders[job.order_id]
        self.apply_cancellation(order)
        job.done = True

    def apply_cancellation(self, order: SandboxOrder) -> None:
        """Cancel the order as `order.cancellation` says, and publish what Shopify would."""
        cancellation = order.cancellation
        assert cancellation is not None  # set by whoever asked for the cancellation
        refundable = order.financial_status in _REFUNDABLE
        order.cancelled_at = self.clock()
        order.closed = True
        order.restocked = cancellation.restock
        if order.financial_status in {"AUTHORIZED", "PENDING"}:
            # Nothing was captured, so Shopify voids the authorisation whatever the refund says.
            order.financial_status = "VOIDED"
        elif cancellation.refund or cancellation.store_credit:
            order.financial_status = "REFUNDED"
        for fulfillment_order in order.fulfillment_orders:
            if fulfillment_order.status in _CLOSED_ON_CANCEL:
                fulfillment_order.status = "CLOSED"
            elif fulfillment_order.status == "IN_PROGRESS":
                fulfillment_order.status = "CANCELLED"
        if refundable and order.financial_status == "REFUNDED":
            self.refunded(order)
        self.order_changed(order, "orders/cancelled", "orders/updated")

    def refund_refusal(self, order: SandboxOrder) -> str | None:
        """Why there is nothing to refund on the order, or None when there is."""
        if order.financial_status not in _REFUNDABLE:
            return f"Nothing to refund: the order's payment is {order.financial_status}"
        return None

    def refunded(self, order: SandboxOrder) -> None:
        """Record a full refund of the order and publish `refunds/create`."""
        order.financial_status = "REFUNDED"
        refund_id = next(self._refund_ids)
        self.publish("refunds/create", refund_payload(order, refund_id=refund_id, now=self.clock()))

    def add_tags(self, *, id: str, tags: list[str]) -> list[UserError]:
        """Add tags to an order, ignoring ones it already has (case-insensitively, as Shopify)."""
        order = self.order_by_gid(id)
        if order is None:
            return [UserError("Order does not exist", ["id"])]
        present = {tag.lower() for tag in order.tags}
        added = False
        for tag in (raw.strip() for raw in tags):
            if tag and tag.lower() not in present:
                order.tags.append(tag)
                present.add(tag.lower())
                added = True
        if added:
            self.order_changed(order, "orders/updated")
        return []

    def set_metafields(
        self, inputs: list[MetafieldInput]
    ) -> tuple[list[SandboxMetafield] | None, list[UserError]]:
        """Create or update metafields, all or none, like Shopify's `metafieldsSet`."""
        if len(inputs) > METAFIELDS_PER_CALL:
            message = f"Exceeded the maximum metafields input limit of {METAFIELDS_PER_CALL}."
            return None, [UserError(message, ["metafields"], "LESS_THAN_OR_EQUAL_TO")]
        errors = [error for index, item in enumerate(inputs) for error in self._check(index, item)]
        if errors:
            return None, errors
        return [self._store_metafield(item) for item in inputs], []

    def _check(self, index: int, item: MetafieldInput) -> list[UserError]:
        field: list[str | int] = ["metafields", index]
        if self.order_by_gid(item.owner_id) is None:
            return [UserError("Owner does not exist.", [*field, "ownerId"], "INVALID")]
        key = (item.owner_id, item.namespace or APP_NAMESPACE, item.key)
        if item.type is None and key not in self.metafields:
            return [UserError("Type can't be blank.", [*field, "type"], "BLANK")]
        if (item.type or self.metafields[key].type) == "json":
            try:
                json.loads(item.value)
            except ValueError:
                return [UserError("Value must be valid JSON.", [*field, "value"], "INVALID_VALUE")]
        return []

    def _store_metafield(self, item: MetafieldInput) -> SandboxMetafield:
        namespace = item.namespace or APP_NAMESPACE
        key = (item.owner_id, namespace, item.key)
        existing = self.metafields.get(key)
        metafield = SandboxMetafield(
            id=existing.id if existing else next(self._metafield_ids),
            owner_id=item.owner_id,
            namespace=namespace,
            key=item.key,
            value=item.value,
            type=item.type or (existing.type if existing else "single_line_text_field"),
        )
        self.metafields[key] = metafield
        return metafield

    def owner_metafields(self, owner_id: str) -> list[SandboxMetafield]:
        """The metafields stored on one owner (for tests and the demo)."""
        return [field for field in self.metafields.values() if field.owner_id == owner_id]

    def hold(
        self, *, id: str, hold: SandboxHold
    ) -> tuple[SandboxFulfillmentOrder | None, list[UserError]]:
        """Put a fulfilment order on hold; only OPEN and SCHEDULED ones can be held."""
        fulfillment_order = self.fulfillment_order_by_gid(id)
        if fulfillment_order is None:
            message = "Fulfillment order does not exist."
            return None, [UserError(message, ["id"], "FULFILLMENT_ORDER_NOT_FOUND")]
        handles = {existing.handle for existing in fulfillment_order.holds}
        if hold.handle is not None and hold.handle in handles:
            message = "A fulfillment hold with this handle already exists."
            field: list[str | int] = ["fulfillmentHold", "handle"]
            return None, [UserError(message, field, "DUPLICATE_FULFILLMENT_HOLD_HANDLE")]
        if fulfillment_order.status not in _HOLDABLE:
            message = f"The fulfillment order's status {fulfillment_order.status} can't be held."
            return None, [UserError(message, ["id"])]
        fulfillment_order.status = "ON_HOLD"
        fulfillment_order.holds.append(hold)
        order = self._sync_hold_status(fulfillment_order)
        if order is not None:
            self.order_changed(order, "orders/updated")
        return fulfillment_order, []

    def _sync_hold_status(self, held: SandboxFulfillmentOrder) -> SandboxOrder | None:
        for order in self.orders.values():
            if not any(candidate is held for candidate in order.fulfillment_orders):
                continue
            all_held = all(each.status == "ON_HOLD" for each in order.fulfillment_orders)
            if all_held and not order.fulfillments:
                order.fulfillment_status = "ON_HOLD"
            return order
        return None

    def subscribe(
        self, *, topic: str, uri: str | None, format: str = "JSON"
    ) -> tuple[SandboxWebhookSubscription | None, list[UserError]]:
        """Create a webhook subscription; one per topic and URI, as Shopify allows."""
        field: list[str | int] = ["webhookSubscription", "uri"]
        if not uri:
            return None, [UserError("Address can't be blank", field)]
        parts = urlsplit(uri)
        loopback = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
        if not (parts.scheme == "https" or loopback) or not parts.hostname:
            return None, [UserError(f"Address protocol {parts.scheme}:// is not supported", field)]
        if any(each.topic == topic and each.uri == uri for each in self.subscriptions):
            return None, [UserError("Address for this topic has already been taken", field)]
        subscription = SandboxWebhookSubscription(
            id=next(self._subscription_ids),
            topic=topic,
            uri=uri,
            format=format,
            created_at=self.clock(),
        )
        self.subscriptions.append(subscription)
        return subscription, []

    def find_subscriptions(
        self, *, topics: Sequence[str] | None, uri: str | None
    ) -> list[SandboxWebhookSubscription]:
        """The subscriptions to any of `topics` at `uri` (either filter may be absent)."""
        return [
            each
            for each in self.subscriptions
            if (topics is None or each.topic in topics) and (uri is None or each.uri == uri)
        ]

    def close(self) -> None:
        """Stop jobs still waiting to complete."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
