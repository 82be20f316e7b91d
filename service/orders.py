"""The storefront use cases: the one place that sequences
input → idempotency → lookup → policy → durable intent → Admin call → audited outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from service import audit, idempotency, policy, requests_store
from service.admin.client import AdminCall
from service.admin.errors import UpstreamUnavailable
from service.admin.shop import Shop
from service.audit import AdminCallRecord, AuditEvent
from service.audit_writer import AuditWriter
from service.contact import contact_matches
from service.input_rules import (
    CANCELLATION_COMMENT_LIMIT,
    NOT_RECEIVED_COMMENT_LIMIT,
    check_idempotency_key,
    check_identity,
    clean_comment,
)
from service.merchant_policy import Policy
from service.models import (
    CancellationInput,
    CustomerRequest,
    Eligibility,
    NotReceivedInput,
    Order,
    OrderView,
    Refusal,
    RequestKind,
    UserErrorCode,
)
from service.order_cache import OrderCache
from service.order_number import canonical_order_name
from service.ratelimit import RateLimited, RateLimits
from service.request_progress import RequestProgress
from service.requests_store import StoredRequest

ShopFactory = Callable[[Callable[[AdminCall], None]], Shop]
RATE_LIMITED = "RATE_LIMITED"


class StorageUnavailable(Exception):
    """Postgres could not be reached or written; nothing may be sent to Shopify."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: for the audit log and the customer's language."""

    request_id: str
    client_address: str | None
    locale: str = "en"


class CallLog:
    """The Admin calls one storefront operation made, for its audit events."""

    def __init__(self) -> None:
        self.calls: list[AdminCallRecord] = []

    def __call__(self, call: AdminCall) -> None:
        self.calls.append(AdminCallRecord(call.operation, call.requested_cost, call.actual_cost))

    def drain(self) -> tuple[AdminCallRecord, ...]:
        """The calls since the last drain, so each audit event lists only its own."""
        calls, self.calls = tuple(self.calls), []
        return calls


@asynccontextmanager
async def storage() -> AsyncIterator[None]:
    """Turn every way Postgres can fail into one `StorageUnavailable`."""
    try:
        yield
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        raise StorageUnavailable(type(exc).__name__) from None


@dataclass(frozen=True, slots=True)
class _Submission:
    kind: RequestKind
    operation: str
    order_number: str
    contact: str
    comment: str | None
    comment_limit: int
    customer_reason: str | None
    idempotency_key: str | None


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
        limits: RateLimits,
        cache: OrderCache,
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
        self._limits = limits
        self._cache = cache
        self.progress = RequestProgress(
            pool=pool, policy=policy, clock=clock, on_order_changed=cache.drop
        )

    @property
    def zone(self) -> ZoneInfo:
        """The shop's time zone, for dates in customer messages."""
        return self._policy.cancellation.zone

    async def order_status(
        self, *, order_number: str, contact: str, caller: Caller
    ) -> OrderView | Refusal:
        """Look up one order for the customer who placed it."""
        log = CallLog()
        outcome, order = "UPSTREAM_UNAVAILABLE", None
        try:
            order = await self._verified_order(order_number, contact, log, fresh=False)
            if order is None:
                outcome = UserErrorCode.ORDER_NOT_FOUND.value
                return Refusal(code=UserErrorCode.ORDER_NOT_FOUND)
            async with storage():
                view = await self._view(order)
            outcome = "ok"
            return view
        except RateLimited:
            outcome = RATE_LIMITED
            raise
        finally:
            await self._audit.submit(
                AuditEvent(
                    operation="orderStatus",
                    request_id=caller.request_id,
                    client_address=caller.client_address,
                    order_id=order.id if order else None,
                    outcome=outcome,
                    admin_calls=log.drain(),
                )
            )

    async def request_cancellation(
        self, *, data: CancellationInput, caller: Caller
    ) -> CustomerRequest | Refusal:
        """Cancel at once when the policy allows, hold for staff when it asks for review."""
        return await self._submit(
            _Submission(
                kind=RequestKind.CANCELLATION,
                operation="requestCancellation",
                order_number=data.order_number,
                contact=data.contact,
                comment=data.comment,
                comment_limit=CANCELLATION_COMMENT_LIMIT,
                customer_reason=data.reason.value,
                idempotency_key=data.idempotency_key,
            ),
            caller,
        )

    async def report_not_received(
        self, *, data: NotReceivedInput, caller: Caller
    ) -> CustomerRequest | Refusal:
        """File a missing-parcel report for staff, when the policy says it is time."""
        return await self._submit(
            _Submission(
                kind=RequestKind.NOT_RECEIVED,
                operation="reportNotReceived",
                order_number=data.order_number,
                contact=data.contact,
                comment=data.comment,
                comment_limit=NOT_RECEIVED_COMMENT_LIMIT,
                customer_reason=None,
                idempotency_key=data.idempotency_key,
            ),
            caller,
        )

    async def _submit(self, sub: _Submission, caller: Caller) -> CustomerRequest | Refusal:
        comment = clean_comment(sub.comment, limit=sub.comment_limit)
        refusal = (
            comment
            if isinstance(comment, Refusal)
            else check_identity(sub.order_number, sub.contact)
            or check_idempotency_key(sub.idempotency_key)
        )
        if refusal is not None:
            await self._audit_refusal(sub, caller, refusal, order_id=None, calls=())
            return refusal
        sub = replace(sub, comment=comment if isinstance(comment, str) else None)
        digest = idempotency.fingerprint(_fingerprint_values(sub))
        async with storage():
            replayed = await self._replay(sub, digest)
        if replayed is not None:
            return replayed
        answer = await self._decide_and_act(sub, caller)
        if sub.idempotency_key:
            async with storage():
                await idempotency.remember(
                    conn=self._pool,
                    operation=sub.operation,
                    key=sub.idempotency_key,
                    digest=digest,
                    response=idempotency.encode_answer(answer),
                )
        return answer

    async def _replay(self, sub: _Submission, digest: str) -> CustomerRequest | Refusal | None:
        if not sub.idempotency_key:
            return None
        found = await idempotency.recall(
            conn=self._pool, operation=sub.operation, key=sub.idempotency_key, digest=digest
        )
        if isinstance(found, idempotency.Reused):
            return Refusal(
                code=UserErrorCode.IDEMPOTENCY_KEY_REUSED, field=("input", "idempotencyKey")
            )
        if found is None:
            return None
        request_id = found.response.get("request_id")
        if request_id is not None:
            stored = await requests_store.get(conn=self._pool, request_id=str(request_id))
            if stored is not None:
                return stored.request  # replayed with its current status
        return idempotency.decode_refusal(found.response["refusal"])

    async def _decide_and_act(self, sub: _Submission, caller: Caller) -> CustomerRequest | Refusal:
        log = CallLog()
        order = await self._fresh_verified_order(sub, caller, log)
        if isinstance(order, Refusal):
            return order
        async with storage():
            existing = await requests_store.find(conn=self._pool, order_id=order.id, kind=sub.kind)
        if existing is not None:
            await self._audit_refusal(
                sub,
                caller,
                None,
                order_id=order.id,
                calls=log.drain(),
                outcome="existing_request",
                request_id=existing.request.id,
            )
            return existing.request
        decision = self._eligibility(sub.kind, order)
        if not decision.eligible:
            refusal = Refusal(
                code=UserErrorCode.NOT_ELIGIBLE, reason=decision.reason, eligibility=decision
            )
            await self._audit_refusal(sub, caller, refusal, order_id=order.id, calls=log.drain())
            return refusal
        stored, created = await self._write_intent(sub, caller, order, log)
        if not created:
            return stored.request  # another request won the race and acts for both
        shop = self._shop(log)
        finished = await self.progress.act(
            shop=shop, stored=stored, order=order, caller=caller, log=log
        )
        return finished.request

    async def _fresh_verified_order(
        self, sub: _Submission, caller: Caller, log: CallLog
    ) -> Order | Refusal:
        try:
            order = await self._verified_order(sub.order_number, sub.contact, log, fresh=True)
        except RateLimited:
            await self._audit_refusal(
                sub, caller, None, order_id=None, calls=log.drain(), outcome=RATE_LIMITED
            )
            raise
        except UpstreamUnavailable:
            await self._audit_refusal(
                sub, caller, None, order_id=None, calls=log.drain(), outcome="UPSTREAM_UNAVAILABLE"
            )
            raise
        if order is None:
            refusal = Refusal(code=UserErrorCode.ORDER_NOT_FOUND)
            await self._audit_refusal(sub, caller, refusal, order_id=None, calls=log.drain())
            return refusal
        return order

    def _eligibility(self, kind: RequestKind, order: Order) -> Eligibility:
        now = self._clock()
        if kind is RequestKind.CANCELLATION:
            return policy.cancellation_eligibility(order, self._policy.cancellation, now)
        return policy.not_received_eligibility(order, self._policy.not_received, now)

    async def _write_intent(
        self, sub: _Submission, caller: Caller, order: Order, log: CallLog
    ) -> tuple[StoredRequest, bool]:
        """The request and its audit event in one transaction, before Shopify hears of it.

        Returns the request and whether this call created it: only the creator acts.
        """
        status = self.progress.initial_status(sub.kind, order)
        async with storage(), self._pool.acquire() as conn, conn.transaction():
            stored = await requests_store.create(
                conn=conn,
                kind=sub.kind,
                status=status,
                order_id=order.id,
                order_name=order.number,
                now=self._clock(),
                customer_reason=sub.customer_reason,
                comment=sub.comment,
                locale=caller.locale,
                details=_request_details(order),
            )
            if stored is None:
                existing = await requests_store.find(conn=conn, order_id=order.id, kind=sub.kind)
                assert existing is not None, "a conflicting request must exist"
                return existing, False
            await audit.append(
                conn=conn,
                events=[
                    AuditEvent(
                        operation=sub.operation,
                        request_id=caller.request_id,
                        client_address=caller.client_address,
                        order_id=order.id,
                        customer_request_id=stored.request.id,
                        decision="accepted",
                        outcome=status.value,
                        admin_calls=log.drain(),
                        details={"customer_reason": sub.customer_reason},
                    )
                ],
            )
            return stored, True

    async def _audit_refusal(
        self,
        sub: _Submission,
        caller: Caller,
        refusal: Refusal | None,
        *,
        order_id: str | None,
        calls: tuple[AdminCallRecord, ...],
        outcome: str | None = None,
        request_id: str | None = None,
    ) -> None:
        await self._audit.submit(
            AuditEvent(
                operation=sub.operation,
                request_id=caller.request_id,
                client_address=caller.client_address,
                order_id=order_id,
                customer_request_id=request_id,
                decision="refused" if refusal else None,
                reason=refusal.reason.value if refusal and refusal.reason else None,
                outcome=outcome or (refusal.code.value if refusal else "ok"),
                admin_calls=calls,
                details={"customer_reason": sub.customer_reason} if sub.customer_reason else {},
            )
        )

    async def _verified_order(
        self, order_number: str, contact: str, log: CallLog, *, fresh: bool
    ) -> Order | None:
        """The order when the contact matches it; lookups may use a cached snapshot,
        mutations always read fresh. Decided against the per-order limit before Shopify."""
        # An unknown number and a wrong contact must look the same to the caller.
        name = canonical_order_name(order_number, prefix=self._prefix, suffix=self._suffix)
        if name is None or not contact.strip():
            return None
        await self._limits.check_order(name)
        shop = self._shop(log)
        if fresh:
            order = await shop.find_order(name=name)
        else:
            order = await self._cache.get_or_load(name, lambda: shop.find_order(name=name))
        if order is None or not contact_matches(order, contact):
            await self._limits.record_failed_contact(name)
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


def _request_details(order: Order) -> dict[str, object]:
    """What staff reports need later without asking Shopify again."""
    parcel = policy.relevant_shipment(order)
    return {
        "risk_levels": [level.value for level in order.risk_levels],
        "carrier": parcel.carrier if parcel else None,
        "tracking_number": parcel.tracking_number if parcel else None,
    }


def _fingerprint_values(sub: _Submission) -> dict[str, object]:
    return {
        "order_number": sub.order_number.strip(),
        "contact": sub.contact.strip().casefold(),
        "comment": sub.comment,
        "reason": sub.customer_reason,
    }
