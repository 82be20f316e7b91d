"""`orderStatus`: the order, its shipments, and what its customer may do now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import asyncpg

from service import eligibility
from service.customer_input import check_identity
from service.models import (
    AuditOperation,
    AuditOutcome,
    OrderSnapshot,
    OrderView,
    Refusal,
    RequestKind,
    UserErrorCode,
)
from service.orders.access import Locked, OrderAccess
from service.orders.trail import Trail
from service.orders.verification import Codes
from service.policy import Policy
from service.ratelimit import RateLimited
from service.storage.audit_writer import AuditWriter


class OrderLookup:
    """Answers `orderStatus`; every answer, refusal and failure is audited."""

    def __init__(
        self,
        *,
        access: OrderAccess,
        codes: Codes,
        pool: asyncpg.Pool,
        audit: AuditWriter,
        policy: Policy,
        clock: Callable[[], datetime],
    ) -> None:
        self._access = access
        self._codes = codes
        self._pool = pool
        self._audit = audit
        self._policy = policy
        self._clock = clock

    async def order_status(
        self,
        *,
        order_number: str,
        contact: str,
        trail: Trail,
        verification_code: str | None = None,
    ) -> OrderView | Refusal:
        """Look up one order for the customer who placed it; a locked order needs its code."""
        outcome, order = AuditOutcome.UPSTREAM_UNAVAILABLE, None
        try:
            opened = await self._found(order_number, contact, verification_code, trail)
            if isinstance(opened, Refusal):
                outcome = AuditOutcome.of(opened.code)
                return opened
            order = opened.order
            outcome = AuditOutcome.OK
            return self._view(opened)
        except RateLimited:
            outcome = AuditOutcome.RATE_LIMITED
            raise
        finally:
            event = trail.event(
                AuditOperation.ORDER_STATUS,
                outcome=outcome,
                order_id=order.id if order else None,
                # Operators find an order's events by the name they know it by.
                details={"order_name": order.number} if order else None,
            )
            await self._audit.record(event)

    async def _found(
        self, order_number: str, contact: str, verification_code: str | None, trail: Trail
    ) -> OrderSnapshot | Refusal:
        """The snapshot, or why not: an empty or over-long field (the same INVALID_INPUT as the
        mutations, before any order is read), no such order for this contact, or a lock."""
        problem = check_identity(order_number, contact, within=())
        if problem is not None:
            return problem
        found = await self._access.verified_snapshot(
            order_number=order_number, contact=contact, trail=trail
        )
        if isinstance(found, Locked):
            return await self._opened(found, verification_code, trail)
        return found or Refusal(code=UserErrorCode.ORDER_NOT_FOUND)

    async def _opened(
        self, locked: Locked, typed: str | None, trail: Trail
    ) -> OrderSnapshot | Refusal:
        """A locked order, opened by its one-time code, or the one generic
        VERIFICATION_REQUIRED. Looking does not spend the code: the action the customer came
        to take (a cancellation, a report) still can, within its lifetime."""
        opened = await self._codes.step_up(locked, typed=typed, trail=trail)
        if isinstance(opened, Refusal):
            return opened
        assert locked.order is not None, "a code is accepted only for a matched contact"
        return OrderSnapshot(locked.order, requests=locked.requests)

    def _view(self, snapshot: OrderSnapshot) -> OrderView:
        """What the customer may do now, from the snapshot: its requests are as current as
        its order, since every change to either drops it."""
        order, stored = snapshot.order, snapshot.requests
        now = self._clock()
        open_kinds = {request.kind for request in stored if request.status.is_open}
        return OrderView(
            order=order,
            cancellation=eligibility.cancellation_eligibility(
                order,
                self._policy.cancellation,
                now,
                open_request=RequestKind.CANCELLATION in open_kinds,
            ),
            not_received=eligibility.not_received_eligibility(
                order,
                self._policy.not_received,
                now,
                open_report=RequestKind.NOT_RECEIVED in open_kinds,
            ),
            requests=stored,
            zone=self._policy.cancellation.zone,
        )
