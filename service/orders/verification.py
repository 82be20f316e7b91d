"""One-time codes (CONTRACT §5): e-mailed to the order's own address before an irreversible
action, and instead of locking a customer out of an order strangers have been guessing at.

A code is six digits, lives `code_ttl_minutes`, may be tried five times and used once, and is
stored only as an HMAC under ORDERGATE_SECRET_KEY; it never reaches a log or the audit log,
which records only that a code was sent, withheld, failed or accepted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg

from service.customer_input import VERIFICATION_CODE_DIGITS, masked_email, typed_code
from service.models import AuditOperation, AuditOutcome, Order, Refusal, UserErrorCode
from service.orders.access import Locked
from service.orders.notifications import Notifications
from service.orders.trail import Trail
from service.policy import VerificationPolicy
from service.storage import audit, storage_errors, verification_codes
from service.storage.audit_writer import AuditWriter
from service.storage.database import Connection

logger = logging.getLogger("ordergate.verification")

# At most this many codes an hour per order, at least this far apart: the inbox is the
# customer's, and a stranger who knows the number must not be able to flood it.
MAX_CODES_PER_HOUR = 3
MIN_GAP = timedelta(seconds=60)


def required(order: Order) -> Refusal:
    """VERIFICATION_REQUIRED naming where the code went, for a customer whose contact matched."""
    assert order.email is not None, "only an order with an e-mail address gets a code"
    return Refusal(code=UserErrorCode.VERIFICATION_REQUIRED, sent_to=masked_email(order.email))


STEP_UP = Refusal(code=UserErrorCode.VERIFICATION_REQUIRED)
"""The one answer for a locked order without a valid code, whether the contact matched or not."""

FAILED = Refusal(code=UserErrorCode.VERIFICATION_FAILED, field=("input", "verificationCode"))


class Codes:
    """Sends and checks the one-time codes of orders."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        audit: AuditWriter,
        notifications: Notifications,
        secret: bytes,
        policy: VerificationPolicy,
        clock: Callable[[], datetime],
    ) -> None:
        self._pool = pool
        self._audit = audit
        self._notifications = notifications
        self._secret = secret
        self._ttl = timedelta(minutes=policy.code_ttl_minutes)
        self._clock = clock
        self._sending: set[asyncio.Task[None]] = set()

    def _digest(self, order_id: str, code: str) -> str:
        message = f"{order_id}\x00{code}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    async def send(self, *, order: Order, trail: Trail) -> None:
        """E-mail a fresh code to the order's address, unless it had its share lately."""
        assert order.email is not None, "only an order with an e-mail address gets a code"
        now = self._clock()
        async with storage_errors(), self._pool.acquire() as conn, conn.transaction():
            # One sender per order at a time, so the share per hour holds across replicas.
            await conn.execute("select pg_advisory_xact_lock(hashtext($1))", order.id)
            recent = await verification_codes.recent(
                conn=conn, order_id=order.id, since=now - timedelta(hours=1)
            )
            if recent.sent >= MAX_CODES_PER_HOUR or (
                recent.latest is not None and now - recent.latest < MIN_GAP
            ):
                outcome = AuditOutcome.CODE_WITHHELD
            else:
                await self._create(conn, order=order, trail=trail, now=now)
                outcome = AuditOutcome.CODE_SENT
            event = trail.event(AuditOperation.VERIFICATION, outcome=outcome, order_id=order.id)
            await audit.append(conn=conn, events=[event])

    async def _create(self, conn: Connection, *, order: Order, trail: Trail, now: datetime) -> None:
        code = f"{secrets.randbelow(10**VERIFICATION_CODE_DIGITS):0{VERIFICATION_CODE_DIGITS}d}"
        await verification_codes.create(
            conn=conn,
            order_id=order.id,
            digest=self._digest(order.id, code),
            now=now,
            ttl=self._ttl,
        )
        await self._notifications.code(
            conn=conn, order=order, code=code, locale=trail.locale, ttl=self._ttl, now=now
        )

    def send_soon(self, *, order: Order, trail: Trail) -> None:
        """`send` in the background: a locked order's answer must take as long whether the
        contact matched (a code is sent) or not (nothing is)."""
        task = asyncio.create_task(self._send_quietly(order, trail))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_quietly(self, order: Order, trail: Trail) -> None:
        try:
            await self.send(order=order, trail=trail)
        except Exception as exc:
            # Nobody waits on this send; the customer asks again and gets another try.
            logger.warning("verification code not sent", extra={"kind": type(exc).__name__})

    async def step_up(self, locked: Locked, *, typed: str | None, trail: Trail) -> str | Refusal:
        """A locked order opens only with its code: the code's id, or the one generic answer.

        Whether the contact matched changes neither the answer nor the work done for it; a
        code is sent only when it matched, and in the background.
        """
        order = locked.order if locked.order is not None and locked.order.email else None
        if typed is None:
            if order is not None:
                self.send_soon(order=order, trail=trail)
            return STEP_UP
        return await self.check(order=order, typed=typed, trail=trail) or STEP_UP

    async def check(self, *, order: Order | None, typed: str, trail: Trail) -> str | None:
        """The id of the order's current code when `typed` is it, else None (a wrong try is
        counted). The code stays unused until `use`, in the transaction of what it allows.
        Without an order the same work is done, and nothing is accepted."""
        code = typed_code(typed)
        now = self._clock()
        order_id = order.id if order is not None else ""
        async with storage_errors(), self._pool.acquire() as conn, conn.transaction():
            current = await verification_codes.current(conn=conn, order_id=order_id, now=now)
            if current is None:
                accepted = False
            else:
                digest = self._digest(order_id, code or "")
                accepted = code is not None and hmac.compare_digest(current.digest, digest)
                if not accepted:
                    await verification_codes.count_failure(conn=conn, code_id=current.id)
        if not accepted:
            failed = trail.event(
                AuditOperation.VERIFICATION,
                outcome=AuditOutcome.CODE_FAILED,
                order_id=order_id or None,
            )
            await self._audit.record(failed)
            return None
        return current.id if current else None

    async def use(self, *, conn: Connection, code_id: str, order: Order, trail: Trail) -> bool:
        """Spend the code inside the caller's transaction; False when it was spent already."""
        if not await verification_codes.use(conn=conn, code_id=code_id, now=self._clock()):
            return False
        event = trail.event(
            AuditOperation.VERIFICATION, outcome=AuditOutcome.CODE_ACCEPTED, order_id=order.id
        )
        await audit.append(conn=conn, events=[event])
        return True

    async def close(self) -> None:
        """Wait for codes still being sent."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
