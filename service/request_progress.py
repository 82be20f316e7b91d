"""Moves a customer request through its states, auditing every change.

Used right after the intent is written (`act`) and by the reconciler (`reconcile`), which
finishes whatever a crash, a timeout or a slow Shopify job left open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from service import audit, policy, request_actions, requests_store
from service.admin.errors import UpstreamUnavailable
from service.admin.shop import CancelOutcome, Shop
from service.audit import AuditEvent
from service.database import Connection
from service.merchant_policy import Policy
from service.models import Order, RequestKind, RequestStatus
from service.requests_store import AdminState, StoredRequest

if TYPE_CHECKING:
    from service.orders import Caller, CallLog

# Shopify usually finishes a cancel job within a second; the customer waits at most this long.
JOB_POLL_DELAYS = (0.1, 0.2, 0.3, 0.5, 0.5, 0.5)


class RequestProgress:
    """The state machine of customer requests; every transition is one audited transaction."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        policy: Policy,
        clock: Callable[[], datetime],
        on_order_changed: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._pool = pool
        self._policy = policy
        self._clock = clock
        # Called with the order's name whenever ordergate changed the order or a request's
        # state, so no cached snapshot shows an order "un-cancel" on reload.
        self._on_order_changed = on_order_changed

    def initial_status(self, kind: RequestKind, order: Order) -> RequestStatus:
        """What the customer sees the moment the request is accepted."""
        if kind is RequestKind.NOT_RECEIVED:
            return RequestStatus.OPEN
        if policy.needs_review(order, self._policy.cancellation):
            return RequestStatus.PENDING_REVIEW
        return RequestStatus.PROCESSING

    async def act(
        self, *, shop: Shop, stored: StoredRequest, order: Order, caller: Caller, log: CallLog
    ) -> StoredRequest:
        """Do in Shopify what the request asks; on an outage leave it for the reconciler."""
        try:
            return await self._act(shop=shop, stored=stored, order=order, caller=caller, log=log)
        finally:
            await self._order_changed(stored)

    async def _act(
        self, *, shop: Shop, stored: StoredRequest, order: Order, caller: Caller, log: CallLog
    ) -> StoredRequest:
        try:
            if stored.request.kind is RequestKind.NOT_RECEIVED:
                await request_actions.file_not_received(shop, order=order, stored=stored)
                return await self._move(stored, RequestStatus.OPEN, AdminState.DONE, caller, log)
            if stored.request.status is RequestStatus.PENDING_REVIEW:
                await request_actions.hold_for_review(shop, order=order, stored=stored)
                return await self._move(
                    stored, RequestStatus.PENDING_REVIEW, AdminState.DONE, caller, log
                )
            outcome = await request_actions.cancel(
                shop, stored=stored, policy=self._policy.cancellation
            )
            return await self._after_cancel(shop, stored, outcome, caller, log)
        except UpstreamUnavailable as exc:
            await self._record(stored, caller, log, outcome=f"admin_failed:{exc.kind}")
            return stored

    async def _after_cancel(
        self,
        shop: Shop,
        stored: StoredRequest,
        outcome: CancelOutcome,
        caller: Caller,
        log: CallLog,
    ) -> StoredRequest:
        if outcome.refused:
            # A cancel job still running from an earlier attempt also makes Shopify refuse.
            current = await shop.get_order(order_id=stored.request.order_id)
            if current is not None and current.cancelled_at is not None:
                return await self._move(
                    stored, RequestStatus.CANCELLED, AdminState.DONE, caller, log
                )
            refusal = {
                "shopify_codes": list(outcome.error_codes),
                "shopify_messages": list(outcome.error_messages),
            }
            return await self._move(
                stored, RequestStatus.DECLINED, AdminState.DONE, caller, log, details=refusal
            )
        stored = await self._move(
            stored, RequestStatus.PROCESSING, AdminState.SENT, caller, log, job_id=outcome.job_id
        )
        if outcome.done or (outcome.job_id and await self._job_finished(shop, outcome.job_id)):
            return await self._move(stored, RequestStatus.CANCELLED, AdminState.DONE, caller, log)
        return stored

    async def _job_finished(self, shop: Shop, job_id: str) -> bool:
        for delay in JOB_POLL_DELAYS:
            await asyncio.sleep(delay)
            if await shop.job_done(job_id=job_id):
                return True
        return False

    async def reconcile(
        self, *, shop: Shop, stored: StoredRequest, caller: Caller, log: CallLog
    ) -> StoredRequest:
        """Finish one request that another process, or an outage, left open."""
        order = await shop.get_order(order_id=stored.request.order_id)
        if order is None:
            gone = {"problem": "order no longer found"}
            return await self._move(
                stored, RequestStatus.DECLINED, AdminState.DONE, caller, log, details=gone
            )
        if stored.request.kind is RequestKind.CANCELLATION and order.cancelled_at is not None:
            return await self._move(stored, RequestStatus.CANCELLED, AdminState.DONE, caller, log)
        if stored.admin_state is AdminState.DONE:
            return stored  # under review and not cancelled yet: look again later
        if stored.admin_state is AdminState.SENT and stored.admin_job_id:
            if not await shop.job_done(job_id=stored.admin_job_id):
                return stored
            unfinished = {"problem": "cancel job finished without cancelling"}
            return await self._move(
                stored, RequestStatus.DECLINED, AdminState.DONE, caller, log, details=unfinished
            )
        return await self.act(shop=shop, stored=stored, order=order, caller=caller, log=log)

    async def _move(
        self,
        stored: StoredRequest,
        status: RequestStatus,
        admin_state: AdminState,
        caller: Caller,
        log: CallLog,
        *,
        job_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> StoredRequest:
        """One audited transition, committed before anything else is sent to Shopify."""
        async with self._pool.acquire() as conn, conn.transaction():
            moved = await requests_store.update(
                conn=conn,
                request_id=stored.request.id,
                status=status,
                admin_state=admin_state,
                now=self._clock(),
                admin_job_id=job_id,
            )
            change = {"from": stored.request.status.value, "admin_state": admin_state.value}
            await self._append(conn, stored, caller, log, outcome=status.value,
                               details={**change, **(details or {})})  # fmt: skip
        await self._order_changed(stored)
        return moved

    async def _order_changed(self, stored: StoredRequest) -> None:
        if self._on_order_changed is not None:
            await self._on_order_changed(stored.order_name)

    async def _record(
        self, stored: StoredRequest, caller: Caller, log: CallLog, *, outcome: str
    ) -> None:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await self._append(conn, stored, caller, log, outcome=outcome, details={})
        except (asyncpg.PostgresError, OSError):
            pass  # the intent is durable; the reconciler records its own retry

    async def _append(
        self,
        conn: Connection,
        stored: StoredRequest,
        caller: Caller,
        log: CallLog,
        *,
        outcome: str,
        details: dict[str, Any],
    ) -> None:
        event = AuditEvent(
            operation="request.status_changed",
            request_id=caller.request_id,
            client_address=caller.client_address,
            order_id=stored.request.order_id,
            customer_request_id=stored.request.id,
            decision=stored.request.kind.value,
            outcome=outcome,
            admin_calls=log.drain(),
            details=details,
        )
        await audit.append(conn=conn, events=[event])
