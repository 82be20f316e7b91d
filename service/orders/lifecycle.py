"""Moves a customer request through its states, auditing every change.

Used right after the intent is written (`act`) and by the reconciler (`reconcile`), which
finishes whatever a crash, a timeout or a slow Shopify job left open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from service import eligibility, settlement
from service.admin.client import AdminClient
from service.admin.errors import UpstreamUnavailable
from service.admin.shop import CancelOutcome, Shop
from service.models import (
    AuditDecision,
    AuditOperation,
    AuditOutcome,
    Order,
    RequestKind,
    RequestStatus,
    Resolution,
)
from service.orders import shop_effects
from service.orders.notifications import Notifications
from service.orders.trail import Trail
from service.policy import Policy, Verification
from service.storage import audit, requests
from service.storage.audit import AuditEvent
from service.storage.requests import AdminState, StoredRequest

# How Postgres fails while a request is acted on (the intent is already durable).
STORAGE_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)

# Shopify usually finishes a cancel job within a second; the customer waits at most this long.
JOB_POLL_DELAYS = (0.1, 0.2, 0.3, 0.5, 0.5, 0.5)


class Lifecycle:
    """The state machine of customer requests; every transition is one audited transaction."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        admin: AdminClient,
        policy: Policy,
        clock: Callable[[], datetime],
        on_order_changed: Callable[[str], Awaitable[None]] | None = None,
        notifications: Notifications | None = None,
    ) -> None:
        self._pool = pool
        self._admin = admin
        self._policy = policy
        self._clock = clock
        self._notifications = notifications  # for the outcome e-mail when staff settle
        # Called with the order's name whenever ordergate changed the order or a request's
        # state, so no cached snapshot shows an order "un-cancel" on reload.
        self._on_order_changed = on_order_changed

    def initial_status(self, kind: RequestKind, order: Order) -> RequestStatus:
        """What the customer sees the moment the request is accepted."""
        if kind is RequestKind.NOT_RECEIVED:
            return RequestStatus.OPEN
        if eligibility.needs_review(order, self._policy.cancellation):
            return RequestStatus.PENDING_REVIEW
        if self._policy.verification.cancellation is Verification.CODE and not order.email:
            return RequestStatus.PENDING_REVIEW  # no inbox to send a code to: staff decide
        return RequestStatus.PROCESSING

    async def act(
        self, *, stored: StoredRequest, order: Order, trail: Trail, retry: bool = False
    ) -> StoredRequest:
        """Do in Shopify what the request asks; on an outage leave it for the reconciler.

        `retry`: an earlier attempt may have reached Shopify (the process stopped before
        recording it), so a cancel job of that attempt may still be running.
        """
        shop = trail.shop(self._admin)
        try:
            if stored.request.kind is RequestKind.NOT_RECEIVED:
                await shop_effects.file_not_received(shop, order=order, stored=stored)
                return await self._move(stored, RequestStatus.OPEN, AdminState.DONE, trail)
            if stored.request.status is RequestStatus.PENDING_REVIEW:
                await shop_effects.hold_for_review(shop, order=order, stored=stored)
                return await self._move(
                    stored, RequestStatus.PENDING_REVIEW, AdminState.DONE, trail
                )
            outcome = await shop_effects.cancel(
                shop, stored=stored, policy=self._policy.cancellation
            )
            return await self._after_cancel(shop, stored, outcome, trail, retry=retry)
        except UpstreamUnavailable as exc:
            await self._record_failure(stored, trail, error=str(exc.kind))
            return stored
        except STORAGE_FAILURES:
            # Shopify may have acted and Postgres took no note of it: the intent is durable,
            # so the honest answer is the request as it stands (PROCESSING, or waiting for
            # staff), and the reconciler finds out what Shopify did.
            return stored
        finally:
            await self._order_changed(stored)

    async def _after_cancel(
        self,
        shop: Shop,
        stored: StoredRequest,
        outcome: CancelOutcome,
        trail: Trail,
        *,
        retry: bool,
    ) -> StoredRequest:
        if outcome.refused:
            # A cancel job still running from an earlier attempt also makes Shopify refuse.
            current = await shop.get_order(order_id=stored.request.order_id)
            if current is not None and current.cancelled_at is not None:
                return await self._move(stored, RequestStatus.CANCELLED, AdminState.DONE, trail)
            refusal = {
                "shopify_codes": list(outcome.error_codes),
                "shopify_messages": list(outcome.error_messages),
            }
            if retry:
                # Not final yet: the earlier attempt's job may still cancel the order. SENT
                # without a job id brings the reconciler back once that job has had its time.
                return await self._move(
                    stored, RequestStatus.PROCESSING, AdminState.SENT, trail, details=refusal
                )
            return await self._move(
                stored, RequestStatus.DECLINED, AdminState.DONE, trail, details=refusal
            )
        stored = await self._move(
            stored, RequestStatus.PROCESSING, AdminState.SENT, trail, job_id=outcome.job_id
        )
        if outcome.done or (outcome.job_id and await self._job_finished(shop, outcome.job_id)):
            return await self._move(stored, RequestStatus.CANCELLED, AdminState.DONE, trail)
        return stored

    async def _job_finished(self, shop: Shop, job_id: str) -> bool:
        for delay in JOB_POLL_DELAYS:
            await asyncio.sleep(delay)
            if await shop.job_done(job_id=job_id):
                return True
        return False

    async def reconcile(self, *, stored: StoredRequest, trail: Trail) -> StoredRequest:
        """Finish one request that another process, or an outage, left open."""
        shop = trail.shop(self._admin)
        order = await shop.get_order(order_id=stored.request.order_id)
        if order is None:
            gone = {"problem": "order no longer found"}
            return await self._move(
                stored, RequestStatus.DECLINED, AdminState.DONE, trail, details=gone
            )
        awaits_staff = stored.request.status in {RequestStatus.PENDING_REVIEW, RequestStatus.OPEN}
        if stored.admin_state is AdminState.DONE or (
            awaits_staff and order.cancelled_at is not None
        ):
            return await self.settle(stored=stored, order=order, trail=trail)
        if stored.request.kind is RequestKind.CANCELLATION and order.cancelled_at is not None:
            return await self._move(stored, RequestStatus.CANCELLED, AdminState.DONE, trail)
        if stored.admin_state is AdminState.SENT:
            if stored.admin_job_id and not await shop.job_done(job_id=stored.admin_job_id):
                return stored
            # The job finished, or a retry was refused a settle period ago and no earlier
            # job cancelled the order since: Shopify's answer stands.
            problem = "cancel job finished" if stored.admin_job_id else "cancel refused"
            unfinished = {"problem": f"{problem} without cancelling"}
            return await self._move(
                stored, RequestStatus.DECLINED, AdminState.DONE, trail, details=unfinished
            )
        return await self.act(stored=stored, order=order, trail=trail, retry=True)

    async def settle(self, *, stored: StoredRequest, order: Order, trail: Trail) -> StoredRequest:
        """Settle a request that waits for staff once the order shows their decision, with
        the outcome e-mail in the same transaction; else leave it as it is."""
        decision = settlement.settled(
            kind=stored.request.kind,
            status=stored.request.status,
            details=stored.details,
            order=order,
        )
        if decision is None:
            return stored
        return await self._move(
            stored,
            decision.status,
            AdminState.DONE,
            trail,
            resolution=decision.resolution,
            settled_order=order,
        )

    async def _move(
        self,
        stored: StoredRequest,
        status: RequestStatus,
        admin_state: AdminState,
        trail: Trail,
        *,
        job_id: str | None = None,
        details: dict[str, Any] | None = None,
        resolution: Resolution | None = None,
        settled_order: Order | None = None,
    ) -> StoredRequest:
        """One audited transition, committed before anything else is sent to Shopify."""
        change = {"from": stored.request.status.value, "admin_state": admin_state.value}
        if resolution is not None:
            change["resolution"] = resolution.value
        event = self._event(stored, trail, AuditOutcome.of(status), {**change, **(details or {})})
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            moved = await requests.update(
                conn=conn,
                request_id=stored.request.id,
                status=status,
                admin_state=admin_state,
                now=now,
                admin_job_id=job_id,
                resolution=resolution,
            )
            await audit.append(conn=conn, events=[event])
            if resolution is not None and settled_order and self._notifications is not None:
                await self._notifications.outcome(
                    conn=conn, stored=moved, order=settled_order, decided_at=now
                )
        await self._order_changed(stored)
        return moved

    async def _order_changed(self, stored: StoredRequest) -> None:
        if self._on_order_changed is not None:
            await self._on_order_changed(stored.order_name)

    async def _record_failure(self, stored: StoredRequest, trail: Trail, *, error: str) -> None:
        event = self._event(stored, trail, AuditOutcome.ADMIN_FAILED, {"error": error})
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await audit.append(conn=conn, events=[event])
        except (asyncpg.PostgresError, OSError):
            pass  # the intent is durable; the reconciler records its own retry

    @staticmethod
    def _event(
        stored: StoredRequest, trail: Trail, outcome: AuditOutcome, details: dict[str, Any]
    ) -> AuditEvent:
        return trail.event(
            AuditOperation.STATUS_CHANGED,
            outcome=outcome,
            order_id=stored.request.order_id,
            customer_request_id=stored.request.id,
            decision=AuditDecision(stored.request.kind.value),
            details=details,
        )
