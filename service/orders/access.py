"""The one way to an order: its number as typed, checked against the per-order limit, read
from Shopify (or the snapshot cache) and matched against the customer's contact."""

from __future__ import annotations

from dataclasses import dataclass

from service.admin.client import AdminClient
from service.contact import contact_matches
from service.customer_input import canonical_order_name
from service.models import Order
from service.order_cache import OrderCache
from service.orders.trail import Trail
from service.ratelimit import RateLimits


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
        self, *, order_number: str, contact: str, trail: Trail, fresh: bool
    ) -> Order | None:
        """The order when the contact matches it, else None: an unknown number and a wrong
        contact look the same to the caller. Lookups may use a cached snapshot, mutations
        read fresh. The per-order limit is decided before Shopify is asked."""
        name = canonical_order_name(
            order_number, prefix=self._names.prefix, suffix=self._names.suffix
        )
        if name is None or not contact.strip():
            return None
        await self._limits.check_order(name)
        shop = trail.shop(self.admin)
        if fresh:
            order = await shop.find_order(name=name)
        else:
            order = await self.cache.get_or_load(name, lambda: shop.find_order(name=name))
        if order is None or not contact_matches(order, contact):
            await self._limits.record_failed_contact(name)
            return None
        return order
