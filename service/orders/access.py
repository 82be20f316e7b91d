"""The one way to an order: its number as typed, checked against the per-order limit, read
from Shopify (or the snapshot cache) and matched against the customer's contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from service.admin.client import AdminClient
from service.contact import contact_matches
from service.customer_input import CONTACT_LIMIT, canonical_order_name
from service.models import (
    FinancialStatus,
    FulfillmentStatus,
    Money,
    Order,
    ReturnStatus,
)
from service.order_cache import OrderCache
from service.orders.trail import Trail
from service.ratelimit import ORDER_LIMIT, RateLimited, RateLimits

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
        names: OrderNameFormat = OrderNameFormat(),
    ) -> None:
        self.admin = admin
        self.cache = cache
        self._limits = limits
        self._names = names

    async def verified_order(
        self, *, order_number: str, contact: str, trail: Trail, for_action: bool
    ) -> Order | Locked | None:
        """The order when the contact matches it, else None: an unknown number and a wrong
        contact look the same to the caller. Lookups may use a cached snapshot; a read
        `for_action` is fresh and admitted like the action it decides. The per-order limit
        is decided before Shopify is asked."""
        name = canonical_order_name(
            order_number, prefix=self._names.prefix, suffix=self._names.suffix
        )
        if name is None:
            return None
        # Counted before anything else, whatever the contact is: every wrong contact, odd or
        # empty, is one failed check, and none of them reaches Shopify sooner or later than
        # another for an existing order than for an unknown one.
        try:
            check = await self._limits.start_contact_check(name)
        except RateLimited as limited:
            if limited.limit != ORDER_LIMIT:
                raise
            return await self._locked(name, contact, trail, for_action=for_action)
        if not contact.strip() or len(contact) > CONTACT_LIMIT:
            return None
        try:
            order = await self._read(name, trail, for_action=for_action)
        except BaseException:
            await check.discard()  # Shopify failed: no contact was checked
            raise
        # Compared even when there is no order, so both answers take the same work.
        if not contact_matches(order or _NOBODY, contact) or order is None:
            return None  # the attempt stays counted toward the order's lock
        await check.discard()
        return order

    async def _locked(self, name: str, contact: str, trail: Trail, *, for_action: bool) -> Locked:
        """Whether the contact matched a locked order, found the same way either way."""
        order = await self._read(name, trail, for_action=for_action)
        matched = contact_matches(order or _NOBODY, contact[:CONTACT_LIMIT]) and order is not None
        return Locked(order if matched else None)

    async def _read(self, name: str, trail: Trail, *, for_action: bool) -> Order | None:
        shop = trail.shop(self.admin)
        if for_action:
            return await shop.find_order(name=name, for_action=True)
        return await self.cache.get_or_load(name, lambda: shop.find_order(name=name))
