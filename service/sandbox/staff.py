"""What a shop's staff do in the Shopify admin, done to the sandbox's store: cancel, release a
hold, refund, ship a replacement, mark delivered. Each changes the store as Shopify would and
publishes the webhooks Shopify would send about it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from service.sandbox.payloads import fulfillment_event_payload, fulfillment_payload
from service.sandbox.records import (
    ORDER_GID,
    SandboxCancellation,
    SandboxFulfillment,
    SandboxOrder,
    SandboxTracking,
    gid_number,
)
from service.sandbox.store import ShopStore

STAFF_ACTIONS = ("cancel", "release_hold", "refund", "ship_replacement", "mark_delivered")
REPLACEMENT_CARRIER = SandboxTracking("PostNord", "", "https://tracking.postnord.com/?id=")
_ESTIMATED_TRANSIT = timedelta(days=3)


class UnknownOrder(LookupError):
    """No order in the sandbox answers to what was typed."""


class StaffActionRefused(Exception):
    """Shopify's admin would not let staff do this to the order now; the message says why."""


@dataclass(frozen=True, slots=True)
class StaffOutcome:
    """What a staff action did: on which order, and the webhook topics it published."""

    action: str
    order: str  # the order's name, e.g. "#1012"
    topics: tuple[str, ...]


class Staff:
    """The staff actions on one store; `order` is what a person types (#1012, 1012) or a gid."""

    def __init__(self, store: ShopStore) -> None:
        self._store = store

    def find(self, order: str | int) -> SandboxOrder:
        """The order named `#N` for `N`/`#N`, else the one whose id or gid it is."""
        typed = str(order).strip()
        number = typed.removeprefix("#")
        for candidate in self._store.orders.values():
            if candidate.name in (typed, f"#{number}"):
                return candidate
        order_id = gid_number(typed, ORDER_GID)
        if order_id is None and number.isdigit():
            order_id = int(number)
        found = self._store.orders.get(order_id) if order_id is not None else None
        if found is None:
            raise UnknownOrder(typed)
        return found

    def run(self, action: str, order: str | int) -> StaffOutcome:
        """Do one of STAFF_ACTIONS by name."""
        if action not in STAFF_ACTIONS:
            raise ValueError(f"unknown staff action {action!r}; one of {', '.join(STAFF_ACTIONS)}")
        method = {
            "cancel": self.cancel,
            "release_hold": self.release_hold,
            "refund": self.refund,
            "ship_replacement": self.ship_replacement,
            "mark_delivered": self.mark_delivered,
        }[action]
        return method(order)

    @contextmanager
    def _watch(self) -> Iterator[list[str]]:
        """The topics published inside the block (synchronous: nothing else runs meanwhile)."""
        topics: list[str] = []
        listener = self._store.on_webhook

        def record(topic: str, payload: dict[str, Any]) -> None:
            topics.append(topic)
            if listener is not None:
                listener(topic, payload)

        self._store.on_webhook = record
        try:
            yield topics
        finally:
            self._store.on_webhook = listener

    def cancel(self, order: str | int) -> StaffOutcome:
        """Cancel at once, refunding what was paid and restocking (the admin's defaults)."""
        found = self.find(order)
        refusal = self._store.cancel_refusal(found)
        if refusal is not None:
            raise StaffActionRefused(f"{found.name}: {refusal}")
        found.cancellation = SandboxCancellation(
            reason="STAFF", restock=True, refund=True, staff_note="Cancelled by staff"
        )
        with self._watch() as topics:
            self._store.apply_cancellation(found)
        return StaffOutcome("cancel", found.name, tuple(topics))

    def release_hold(self, order: str | int) -> StaffOutcome:
        """Release every hold on the order's fulfilment orders: the warehouse may ship."""
        found = self.find(order)
        held = [each for each in found.fulfillment_orders if each.status == "ON_HOLD"]
        if found.cancelled_at is not None or not held:
            raise StaffActionRefused(f"{found.name}: no fulfilment hold to release")
        for fulfillment_order in held:
            fulfillment_order.status = "OPEN"
            fulfillment_order.holds.clear()
        if found.fulfillment_status == "ON_HOLD":
            found.fulfillment_status = (
                "PARTIALLY_FULFILLED" if found.fulfillments else "UNFULFILLED"
            )
        with self._watch() as topics:
            self._store.order_changed(found, "orders/updated")
        return StaffOutcome("release_hold", found.name, tuple(topics))

    def refund(self, order: str | int) -> StaffOutcome:
        """Refund the whole order to the original payment method."""
        found = self.find(order)
        refusal = self._store.refund_refusal(found)
        if refusal is not None:
            raise StaffActionRefused(f"{found.name}: {refusal}")
        with self._watch() as topics:
            self._store.refunded(found)
            self._store.order_changed(found, "orders/updated")
        return StaffOutcome("refund", found.name, tuple(topics))

    def ship_replacement(self, order: str | int) -> StaffOutcome:
        """Ship the order's items (again) in a new parcel with its own tracking number."""
        found = self.find(order)
        if found.cancelled_at is not None:
            raise StaffActionRefused(f"{found.name}: the order is cancelled")
        if any(each.status == "ON_HOLD" for each in found.fulfillment_orders):
            raise StaffActionRefused(f"{found.name}: release the fulfilment hold first")
        now = self._store.clock()
        number = f"00{secrets.randbelow(10**18):018d}"
        parcel = SandboxFulfillment(
            id=self._store.next_fulfillment_id(),
            created_at=now,
            status="SUCCESS",
            display_status="IN_TRANSIT",
            in_transit_at=now,
            estimated_delivery_at=now + _ESTIMATED_TRANSIT,
            tracking=[
                SandboxTracking(
                    REPLACEMENT_CARRIER.company, number, REPLACEMENT_CARRIER.url + number
                )
            ],
        )
        was_fulfilled = found.fulfillment_status == "FULFILLED"
        found.fulfillments.append(parcel)
        for fulfillment_order in found.fulfillment_orders:
            if fulfillment_order.status in {"OPEN", "SCHEDULED", "IN_PROGRESS"}:
                fulfillment_order.status = "CLOSED"
        found.fulfillment_status = "FULFILLED"
        with self._watch() as topics:
            self._store.publish("fulfillments/create", fulfillment_payload(found, parcel, now=now))
            if not was_fulfilled:
                self._store.order_changed(found, "orders/fulfilled")
            self._store.order_changed(found, "orders/updated")
        return StaffOutcome("ship_replacement", found.name, tuple(topics))

    def mark_delivered(self, order: str | int) -> StaffOutcome:
        """The carrier reports the order's latest parcel still under way as delivered."""
        found = self.find(order)
        under_way = [
            each
            for each in found.fulfillments
            if each.status == "SUCCESS" and each.display_status != "DELIVERED"
        ]
        if not under_way:
            raise StaffActionRefused(f"{found.name}: no shipment under way to mark delivered")
        parcel = under_way[-1]
        now = self._store.clock()
        parcel.display_status = "DELIVERED"
        parcel.delivered_at = now
        event_id = self._store.next_fulfillment_event_id()
        with self._watch() as topics:
            self._store.publish(
                "fulfillment_events/create",
                fulfillment_event_payload(found, parcel, event_id=event_id, now=now),
            )
            self._store.publish("fulfillments/update", fulfillment_payload(found, parcel, now=now))
        return StaffOutcome("mark_delivered", found.name, tuple(topics))
