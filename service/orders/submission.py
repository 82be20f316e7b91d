"""`requestCancellation` and `reportNotReceived`: one recipe for both, read top to bottom:
input → replay → verified order → existing request → eligibility → intent → act."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from service import eligibility
from service.admin.errors import UpstreamUnavailable
from service.customer_input import (
    CANCELLATION_COMMENT_LIMIT,
    NOT_RECEIVED_COMMENT_LIMIT,
    check_idempotency_key,
    check_identity,
    clean_comment,
)
from service.models import (
    AuditDecision,
    AuditOperation,
    AuditOutcome,
    CancellationInput,
    CustomerRequest,
    Eligibility,
    EligibilityReason,
    NotReceivedInput,
    Order,
    OrderFacts,
    Refusal,
    RequestKind,
    RequestStatus,
    UserErrorCode,
)
from service.orders import verification
from service.orders.access import Locked, OrderAccess
from service.orders.lifecycle import Lifecycle
from service.orders.notifications import Notifications
from service.orders.trail import Trail
from service.orders.verification import Codes
from service.policy import Policy, Verification
from service.ratelimit import RateLimited
from service.storage import audit, idempotency, requests, storage_errors
from service.storage.audit_writer import AuditWriter
from service.storage.database import Connection
from service.storage.requests import StoredRequest


@dataclass(frozen=True, slots=True)
class Submission:
    """One customer request as submitted: what the recipe needs of either mutation."""

    kind: RequestKind
    operation: AuditOperation
    order_number: str
    contact: str
    comment: str | None
    comment_limit: int
    customer_reason: str | None
    idempotency_key: str | None
    verification_code: str | None = None  # not part of the input a key is bound to

    @property
    def audit_details(self) -> dict[str, object]:
        """What the audit log keeps of the customer's words: the reason they chose."""
        return {"customer_reason": self.customer_reason} if self.customer_reason else {}

    def audit_details_for(self, order: Order | None) -> dict[str, object]:
        """The audit details, with the order's name when the order was found: operators look
        orders up by name (`ordergate audit export --order #1001`)."""
        details = self.audit_details
        return {**details, "order_name": order.number} if order else details

    def scope(self, order: Order) -> str:
        """Where an idempotency key is looked up: this order, with this contact (CONTRACT §1)."""
        return idempotency.fingerprint(
            {"order_id": order.id, "contact": self.contact.strip().casefold()}
        )

    def fingerprint(self) -> str:
        """The input an idempotency key is bound to, besides its scope (the order and the
        contact): however the customer typed the order number, the same request matches."""
        return idempotency.fingerprint({"comment": self.comment, "reason": self.customer_reason})


def cancellation(data: CancellationInput) -> Submission:
    """A `requestCancellation` input as a submission."""
    return Submission(
        kind=RequestKind.CANCELLATION,
        operation=AuditOperation.REQUEST_CANCELLATION,
        order_number=data.order_number,
        contact=data.contact,
        comment=data.comment,
        comment_limit=CANCELLATION_COMMENT_LIMIT,
        customer_reason=data.reason.value,
        idempotency_key=data.idempotency_key,
        verification_code=data.verification_code,
    )


def not_received(data: NotReceivedInput) -> Submission:
    """A `reportNotReceived` input as a submission."""
    return Submission(
        kind=RequestKind.NOT_RECEIVED,
        operation=AuditOperation.REPORT_NOT_RECEIVED,
        order_number=data.order_number,
        contact=data.contact,
        comment=data.comment,
        comment_limit=NOT_RECEIVED_COMMENT_LIMIT,
        customer_reason=None,
        idempotency_key=data.idempotency_key,
        verification_code=data.verification_code,
    )


def checked(sub: Submission) -> Submission | Refusal:
    """The submission with its comment cleaned, or the first thing wrong with it."""
    comment = clean_comment(sub.comment, limit=sub.comment_limit)
    if isinstance(comment, Refusal):
        return comment
    problem = check_identity(sub.order_number, sub.contact) or check_idempotency_key(
        sub.idempotency_key
    )
    return problem or replace(sub, comment=comment)


class _CodeSpent(Exception):
    """The code was spent by another request between its check and this one's intent."""


def _is_code_step(answer: CustomerRequest | Refusal) -> bool:
    codes = {UserErrorCode.VERIFICATION_REQUIRED, UserErrorCode.VERIFICATION_FAILED}
    return isinstance(answer, Refusal) and answer.code in codes


class Submissions:
    """Submits customer requests: intent before action, once per order and kind."""

    def __init__(
        self,
        *,
        access: OrderAccess,
        codes: Codes,
        notifications: Notifications,
        lifecycle: Lifecycle,
        pool: asyncpg.Pool,
        audit: AuditWriter,
        policy: Policy,
        clock: Callable[[], datetime],
    ) -> None:
        self._access = access
        self._codes = codes
        self._notifications = notifications
        self._lifecycle = lifecycle
        self._pool = pool
        self._audit = audit
        self._policy = policy
        self._clock = clock

    async def request_cancellation(
        self, *, data: CancellationInput, trail: Trail
    ) -> CustomerRequest | Refusal:
        """Cancel at once when the policy allows, hold for staff when it asks for review."""
        return await self.submit(cancellation(data), trail=trail)

    async def report_not_received(
        self, *, data: NotReceivedInput, trail: Trail
    ) -> CustomerRequest | Refusal:
        """File a missing-parcel report for staff, when the policy says it is time."""
        return await self.submit(not_received(data), trail=trail)

    async def submit(self, submitted: Submission, *, trail: Trail) -> CustomerRequest | Refusal:
        """The recipe; every answer is audited and nothing reaches Shopify before the intent."""
        sub = checked(submitted)
        if isinstance(sub, Refusal):
            return await self._refuse(submitted, trail, sub)
        found = await self._verified_order(sub, trail)
        code_id = None
        if isinstance(found, Locked):  # only the order's one-time code opens it now
            opened = await self._codes.step_up(found, typed=sub.verification_code, trail=trail)
            if isinstance(opened, Refusal):
                return await self._refuse(sub, trail, opened)
            code_id, found = opened, found.order
        if found is None:
            return await self._refuse(sub, trail, Refusal(code=UserErrorCode.ORDER_NOT_FOUND))
        replayed = await self._replay(sub, found)  # only once the contact is verified
        if replayed is not None:
            await self._replayed(sub, trail, found, replayed)
            return replayed
        answer = await self._decide_and_act(sub, trail, found, code_id)
        await self._remember(sub, found, answer)
        return answer

    async def _decide_and_act(
        self, sub: Submission, trail: Trail, order: Order, code_id: str | None
    ) -> CustomerRequest | Refusal:
        async with storage_errors():
            existing = await requests.find(conn=self._pool, order_id=order.id, kind=sub.kind)
        if existing is not None:
            await self._note(sub, trail, AuditOutcome.EXISTING_REQUEST, order, existing.request)
            return existing.request
        decision = self._eligibility(sub.kind, order)
        if not decision.eligible:
            refusal = Refusal(
                code=UserErrorCode.NOT_ELIGIBLE,
                reason=decision.reason,
                eligibility=decision,
                facts=await self._facts(sub.kind, order, decision),
            )
            return await self._refuse(sub, trail, refusal, order=order)
        if code_id is None and self._needs_code(sub.kind, order):
            checked_code = await self._code(sub, trail, order)
            if isinstance(checked_code, Refusal):
                return await self._refuse(sub, trail, checked_code, order=order)
            code_id = checked_code
        intent = await self._write_intent(sub, trail, order, code_id)
        if isinstance(intent, Refusal):
            return await self._refuse(sub, trail, intent, order=order)
        stored, created = intent
        if not created:
            # Another request won the race and acts for both; this answer is audited as any
            # answer naming an existing request is.
            await self._note(sub, trail, AuditOutcome.EXISTING_REQUEST, order, stored.request)
            return stored.request
        finished = await self._lifecycle.act(stored=stored, order=order, trail=trail)
        return finished.request

    def _needs_code(self, kind: RequestKind, order: Order) -> bool:
        # An order without an e-mail address cannot get a code: its cancellation goes to
        # review instead (Lifecycle.initial_status), a not-received report goes to staff anyway.
        needed = self._policy.verification.for_kind(kind) is Verification.CODE
        return needed and order.email is not None

    async def _code(self, sub: Submission, trail: Trail, order: Order) -> str | Refusal:
        """The id of the code the customer typed, or why the request cannot go ahead yet."""
        if sub.verification_code is None:
            await self._codes.send(order=order, trail=trail)
            return verification.required(order)
        code_id = await self._codes.check(order=order, typed=sub.verification_code, trail=trail)
        return code_id or verification.FAILED

    async def _replay(self, sub: Submission, order: Order) -> CustomerRequest | Refusal | None:
        if not sub.idempotency_key:
            return None
        async with storage_errors():
            found = await idempotency.recall(
                conn=self._pool,
                operation=sub.operation,
                scope=sub.scope(order),
                key=sub.idempotency_key,
                digest=sub.fingerprint(),
            )
            if isinstance(found, idempotency.Reused):
                return Refusal(
                    code=UserErrorCode.IDEMPOTENCY_KEY_REUSED, field=("input", "idempotencyKey")
                )
            if found is None:
                return None
            request_id = found.response.get("request_id")
            if request_id is not None:
                stored = await requests.get(conn=self._pool, request_id=str(request_id))
                if stored is not None:
                    return stored.request  # replayed with its current status
        return idempotency.decode_refusal(found.response["refusal"])

    async def _replayed(
        self, sub: Submission, trail: Trail, order: Order, answer: CustomerRequest | Refusal
    ) -> None:
        if isinstance(answer, CustomerRequest):
            await self._note(sub, trail, AuditOutcome.REPLAYED, order, answer)
        else:
            await self._refuse(sub, trail, answer, order=order, replayed=True)

    async def _remember(
        self, sub: Submission, order: Order, answer: CustomerRequest | Refusal
    ) -> None:
        # The code step consumes no key: the same input plus the code, under the same key,
        # goes ahead (CONTRACT §5).
        if not sub.idempotency_key or _is_code_step(answer):
            return
        async with storage_errors():
            await idempotency.remember(
                conn=self._pool,
                operation=sub.operation,
                scope=sub.scope(order),
                key=sub.idempotency_key,
                digest=sub.fingerprint(),
                response=idempotency.encode_answer(answer),
                order_id=order.id,
            )

    async def _verified_order(self, sub: Submission, trail: Trail) -> Order | Locked | None:
        """Always read fresh: a decision is never made on a cached snapshot."""
        try:
            return await self._access.verified_order(
                order_number=sub.order_number, contact=sub.contact, trail=trail
            )
        except RateLimited:
            await self._note(sub, trail, AuditOutcome.RATE_LIMITED)
            raise
        except UpstreamUnavailable:
            await self._note(sub, trail, AuditOutcome.UPSTREAM_UNAVAILABLE)
            raise

    async def _facts(self, kind: RequestKind, order: Order, decision: Eligibility) -> OrderFacts:
        """What the refusal's text may offer, judged as `orderStatus` judges it."""
        if kind is RequestKind.CANCELLATION:
            return eligibility.order_facts(order, decision)
        # Only a report refused as NOT_SHIPPED_YET offers a cancellation: else none is judged.
        cancellation = Eligibility(eligible=False)
        if decision.reason is EligibilityReason.NOT_SHIPPED_YET:
            async with storage_errors():
                found = await requests.find(
                    conn=self._pool, order_id=order.id, kind=RequestKind.CANCELLATION
                )
            cancellation = eligibility.cancellation_eligibility(
                order,
                self._policy.cancellation,
                self._clock(),
                open_request=found is not None and found.request.status.is_open,
            )
        return eligibility.order_facts(order, cancellation)

    def _eligibility(self, kind: RequestKind, order: Order) -> Eligibility:
        now = self._clock()
        if kind is RequestKind.CANCELLATION:
            return eligibility.cancellation_eligibility(order, self._policy.cancellation, now)
        return eligibility.not_received_eligibility(order, self._policy.not_received, now)

    async def _write_intent(
        self, sub: Submission, trail: Trail, order: Order, code_id: str | None
    ) -> tuple[StoredRequest, bool] | Refusal:
        """The request, its audit event, the spent code and the receipt in one transaction,
        before Shopify hears of it.

        Returns the request and whether this call created it: only the creator acts.
        """
        status = self._lifecycle.initial_status(sub.kind, order)
        try:
            async with storage_errors(), self._pool.acquire() as conn, conn.transaction():
                return await self._intent(conn, sub, trail, order, status, code_id)
        except _CodeSpent:
            return verification.FAILED

    async def _intent(
        self,
        conn: Connection,
        sub: Submission,
        trail: Trail,
        order: Order,
        status: RequestStatus,
        code_id: str | None,
    ) -> tuple[StoredRequest, bool]:
        stored = await requests.create(
            conn=conn,
            kind=sub.kind,
            status=status,
            order_id=order.id,
            order_name=order.number,
            now=self._clock(),
            customer_reason=sub.customer_reason,
            comment=sub.comment,
            locale=trail.locale,
            details=requests.details_for(order),
        )
        if stored is None:
            existing = await requests.find(conn=conn, order_id=order.id, kind=sub.kind)
            assert existing is not None, "a conflicting request must exist"
            return existing, False
        if code_id is not None and not await self._codes.use(
            conn=conn, code_id=code_id, order=order, trail=trail
        ):
            raise _CodeSpent  # another request spent it a moment ago: undo this one
        await self._notifications.receipt(conn=conn, stored=stored, order=order)
        event = trail.event(
            sub.operation,
            outcome=AuditOutcome.of(status),
            order_id=order.id,
            customer_request_id=stored.request.id,
            decision=AuditDecision.ACCEPTED,
            details={"customer_reason": sub.customer_reason},
        )
        await audit.append(conn=conn, events=[event])
        return stored, True

    async def _refuse(
        self,
        sub: Submission,
        trail: Trail,
        refusal: Refusal,
        *,
        order: Order | None = None,
        replayed: bool = False,
    ) -> Refusal:
        details = sub.audit_details_for(order)
        if replayed:
            details["replayed"] = True
        event = trail.event(
            sub.operation,
            outcome=AuditOutcome.of(refusal.code),
            order_id=order.id if order else None,
            decision=AuditDecision.REFUSED,
            reason=refusal.reason.value if refusal.reason else None,
            details=details,
        )
        await self._audit.record(event)
        return refusal

    async def _note(
        self,
        sub: Submission,
        trail: Trail,
        outcome: AuditOutcome,
        order: Order | None = None,
        request: CustomerRequest | None = None,
    ) -> None:
        """Audit an answer that is neither a refusal nor a new request."""
        event = trail.event(
            sub.operation,
            outcome=outcome,
            order_id=order.id if order else None,
            customer_request_id=request.id if request else None,
            details=sub.audit_details_for(order),
        )
        await self._audit.record(event)
