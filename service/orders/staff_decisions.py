"""When Shopify says an order changed (a webhook), and every few minutes anyway (the
reconciler): re-read the order, drop its snapshot, settle the requests staff decided.

The payload of a webhook only says which order changed; what changed is read from Shopify,
so deliveries that come twice, late or out of order settle nothing twice (CONTRACT §6).
"""

from __future__ import annotations

import asyncpg

from service.admin.client import AdminClient
from service.order_cache import OrderCache
from service.orders.lifecycle import Lifecycle
from service.orders.trail import Trail
from service.storage import requests, storage_errors


class StaffDecisions:
    """Settles what staff decided in the Shopify admin, one order at a time."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        admin: AdminClient,
        lifecycle: Lifecycle,
        cache: OrderCache,
    ) -> None:
        self._pool = pool
        self._admin = admin
        self._lifecycle = lifecycle
        self._cache = cache

    async def order_changed(self, order_id: str) -> int:
        """Re-read the order once and settle its waiting requests; how many were settled."""
        trail = Trail.background("webhook")
        order = await trail.shop(self._admin).get_order(order_id=order_id)
        async with storage_errors():
            waiting = await requests.awaiting_staff(conn=self._pool, order_id=order_id)
        names = {order.number} if order else {stored.order_name for stored in waiting}
        for name in names:
            await self._cache.drop(name)  # every replica sees the change at once
        if order is None:
            return 0  # gone from Shopify: the reconciler declines what waited for it
        settled = 0
        for stored in waiting:
            moved = await self._lifecycle.settle(stored=stored, order=order, trail=trail)
            settled += moved is not stored
        return settled
