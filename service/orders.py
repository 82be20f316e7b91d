"""The storefront use cases: the one place that sequences lookup, policy, audit and Admin calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from service import policy, requests_store
from service.admin.client import AdminCall
from service.admin.shop import Shop
from service.audit import AdminCallRecord, AuditEvent
from service.audit_writer import AuditWriter
from service.contact import contact_matches
from service.merchant_policy import Policy
from service.models import (
    Order,
    OrderView,
    Refusal,
    RequestKind,
    UserErrorCode,
)
from service.order_number import canonical_order_name

ShopFactory = Callable[[Callable[[AdminCall], None]], Shop]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: for the audit log and the customer's language."""

    request_id: str
    client_address: str | None
    locale: str = "en"


class _CallLog:
    """The Admin calls one storefront operation made, for its audit event."""

    def __init__(self) -> None:
        self.calls: list[AdminCallRecord] = []

    def __call__(self, call: AdminCall) -> None:
        self.calls.append(
            AdminCallRecord(
                operation=call.operation,
                requested_cost=call.requested_cost,
                actual_cost=call.actual_cost,
            )
        )


class OrderDesk:
    """Answers storefront operations; every answer, refusal or failure is audited."""

    def __init__(
        self,
        *,
        shop: ShopFactory,
        pool: asyncpg.Pool,
        audit: AuditWriter,
        policy: Policy,
        clock: Callable[[], datetime],
        order_name_prefix: str = "#",
        order_name_suffix: str = "",
    ) -> None:
        self._shop = shop
        self._pool = pool
        self._audit = audit
        self._policy = policy
        self._clock = clock
        self._prefix = order_name_prefix
        self._suffix = order_name_suffix

    async def order_status(
        self, *, order_number: str, contact: str, caller: Caller
    ) -> OrderView | Refusal:
        """Look up one order for the customer who placed it."""
        log = _CallLog()
        outcome = "error"
        order: Order | None = None
        try:
            order = await self._verified_order(order_number, contact, log)
            if order is None:
                outcome = UserErrorCode.ORDER_NOT_FOUND.value
                return Refusal(code=UserErrorCode.ORDER_NOT_FOUND)
            view = await self._view(order)
            outcome = "ok"
            return view
        finally:
            await self._audit.submit(
                AuditEvent(
                    operation="orderStatus",
                    request_id=caller.request_id,
                    client_address=caller.client_address,
                    order_id=order.id if order else None,
                    outcome=outcome,
                    admin_calls=tuple(log.calls),
                )
            )

    async def _verified_order(self, order_number: str, contact: str, log: _CallLog) -> Order | None:
        # An unknown number and a wrong contact must look the same to the caller.
        name = canonical_order_name(order_number, prefix=self._prefix, suffix=self._suffix)
        if name is None or not contact.strip():
            return None
        order = await self._shop(log).find_order(name=name)
        if order is None or not contact_matches(order, contact):
            return None
        return order

    async def _view(self, order: Order) -> OrderView:
        requests = await requests_store.list_for_order(conn=self._pool, order_id=order.id)
        now = self._clock()
        open_kinds = {request.kind for request in requests if request.status.is_open}
        return OrderView(
            order=order,
            cancellation=policy.cancellation_eligibility(
                order,
                self._policy.cancellation,
                now,
                open_request=RequestKind.CANCELLATION in open_kinds,
            ),
            not_received=policy.not_received_eligibility(
                order,
                self._policy.not_received,
                now,
                open_report=RequestKind.NOT_RECEIVED in open_kinds,
            ),
            requests=tuple(requests),
            zone=self._policy.cancellation.zone,
        )
