"""The one way to an order: its number as typed, checked against the per-order limit, read
from Shopify (or the snapshot cache, with the customer's requests on it) and matched against
the customer's contact."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg

from service.admin.client import AdminClient
from service.contact import contact_matches
from service.customer_input import CONTACT_LIMIT, canonical_order_name
from service.models import (
    CustomerRequest,
    FinancialStatus,
    FulfillmentStatus,
    Money,
    Order,
    OrderSnapshot,
    ReturnStatus,
)
from service.order_cache import OrderCache
from service.orders.trail import Trail
from service.ratelimit import ORDER_LIMIT, RateLimited, RateLimits
from service.storage import requests, storage_errors

Snapshot = OrderSnapshot | None

# Stands in for a missing order in the contact comparison; it matches no contact.
_NOBODY = Order(
    id="",
    number="",
    placed_at=datetime(1970, 1, 1, tzinfo=UTC),
    email=None,
    phone=None,
    financial_status=FinancialStatus.UNKNOWN,
    fulfillment_status=FulfillmentStatus.UNKNOWN,
    return_status=ReturnStatus.UNKNOWN,
    total=Money(Decimal(0), "XXX"),
)


@dataclass(frozen=True, slots=True)
class Locked:
    """The order number is locked by failed contact checks from anywhere: only a one-time
    code from the order's inbox opens it now (step-up instead of lock-out, CONTRACT §5)."""

    order: Order | None  # the order when the contact matched it; None tells nobody anything
    # With a lookup's snapshot: the customer's requests on the order, shown once it opens.
    requests: tuple[CustomerRequest, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderNameFormat:
    """How the shop writes order names: `#1001`, or `EU-1001-B` with a prefix and suffix."""

    prefix: str = "#"
    suffix: str = ""


class OrderAccess:
    """Finds an order for the customer who placed it, and for nobody else."""

    def __init__(
        self,
        *,
        admin: AdminClient,
        limits: RateLimits,
        cache: OrderCache,
        pool: asyncpg.Pool,
        names: OrderNameFormat = OrderNameFormat(),
        product_tags: bool = True,
    ) -> None:
        self.admin = admin
        self.cache = cache
        self._pool = pool
        self._product_tags = product_tags  # whether the policy needs them (non-cancellable)
        self._limits = limits
        self._names = names

    async def verified_order(
        self, *, order_number: str, contact: str, trail: Trail
    ) -> Order | Locked | None:
        """The order, read fresh from Shopify and admitted like the action it decides, when
        the contact matches it, else None."""

        async def fresh(name: str) -> OrderSnapshot | None:
            order = await trail.shop(self.admin).find_order(
                name=name, for_action=True, product_tags=self._product_tags
            )
            return None if order is None else OrderSnapshot(order, requests=())

        found = await self._verified(order_number, contact, trail, read=fresh)
        return found.order if isinstance(found, OrderSnapshot) else found

    async def verified_snapshot(
        self, *, order_number: str, contact: str, trail: Trail
    ) -> OrderSnapshot | Locked | None:
        """The order and the customer's requests on it, possibly from the snapshot cache,
        when the contact matches it, else None."""

        async def cached(name: str) -> OrderSnapshot | None:
            return await self.cache.get_or_load(name, lambda: self._load(name, trail))

        name = self._canonical(order_number)
        in_hand = self.cache.in_process(name) if name is not None else None
        if name is not None and in_hand is not None:
            return await self._verified_in_hand(name, contact, in_hand.snapshot, trail)
        return await self._verified(order_number, contact, trail, read=cached)

    async def _verified_in_hand(
        self, name: str, contact: str, snapshot: Snapshot, trail: Trail
    ) -> OrderSnapshot | Locked | None:
        """A snapshot this process already holds: nothing to wait for between counting an
        attempt and comparing, so the contact is compared first and one limit call follows
        either way. A match asks whether the order is locked, taking nothing; a mismatch is
        counted as a failed check (or finds the order locked)."""
        order = snapshot.order if snapshot is not None else _NOBODY
        valid = bool(contact.strip()) and len(contact) <= CONTACT_LIMIT
        if valid and contact_matches(order, contact) and snapshot is not None:
            if (await self._limits.order_locked(name, count=trail.client_count)).allowed:
                return snapshot
            return Locked(snapshot.order, requests=snapshot.requests)
        try:
            # Stays counted: it failed.
            await self._limits.start_contact_check(name, count=trail.client_count)
        except RateLimited as limited:
            if limited.limit != ORDER_LIMIT:
                raise
            if snapshot is not None and contact_matches(order, contact[:CONTACT_LIMIT]):
                return Locked(snapshot.order, requests=snapshot.requests)
            return Locked(None)
        return None

    def _canonical(self, order_number: str) -> str | None:
        return canonical_order_name(
            order_number, prefix=self._names.prefix, suffix=self._names.suffix
        )

    async def _load(self, name: str, trail: Trail) -> OrderSnapshot | None:
        shop = trail.shop(self.admin)
        order = await shop.find_order(name=name, product_tags=self._product_tags)
        if order is None:
            return None
        async with storage_errors():
            stored = await requests.list_for_order(conn=self._pool, order_id=order.id)
        return OrderSnapshot(order, requests=tuple(stored))

    async def _verified(
        self,
        order_number: str,
        contact: str,
        trail: Trail,
        *,
        read: Callable[[str], Awaitable[Snapshot]],
    ) -> OrderSnapshot | Locked | None:
        """An unknown number and a wrong contact look the same to the caller. The per-order
        limit is decided before Shopify is asked."""
        name = self._canonical(order_number)
        if name is None:
            return None
        # Counted before anything else, whatever the contact is: every wrong contact, odd or
        # empty, is one failed check, and none of them reaches Shopify sooner or later than
        # another for an existing order than for an unknown one.
        try:
            check = await self._limits.start_contact_check(name, count=trail.client_count)
        except RateLimited as limited:
            if limited.limit != ORDER_LIMIT:
                raise
            return await self._locked(name, contact, read)
        if not contact.strip() or len(contact) > CONTACT_LIMIT:
            return None
        try:
            snapshot = await read(name)
        except BaseException:
            await check.discard()  # Shopify failed: no contact was checked
            raise
        # Compared even when there is no order, so both answers take the same work.
        order = snapshot.order if snapshot is not None else _NOBODY
        if not contact_matches(order, contact) or snapshot is None:
            return None  # the attempt stays counted toward the order's lock
        await check.discard()
        return snapshot

    async def _locked(
        self, name: str, contact: str, read: Callable[[str], Awaitable[Snapshot]]
    ) -> Locked:
        """Whether the contact matched a locked order, found the same way either way."""
        snapshot = await read(name)
        order = snapshot.order if snapshot is not None else _NOBODY
        if not contact_matches(order, contact[:CONTACT_LIMIT]) or snapshot is None:
            return Locked(None)
        return Locked(snapshot.order, requests=snapshot.requests)
