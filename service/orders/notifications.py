"""The e-mails a customer gets: codes and receipts, queued in the outbox inside the transaction
of what caused them, sealed so that neither a code nor an address is readable at rest."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from service.eligibility import relevant_shipment
from service.mail.outgoing import OutgoingMail
from service.mail.sealing import Sealer
from service.mail.templates import (
    MailParams,
    MailTemplates,
    OutcomeMail,
    ReceiptMail,
    VerificationCodeMail,
)
from service.models import Order, RequestStatus, Resolution
from service.storage import outbox
from service.storage.database import Connection
from service.storage.requests import StoredRequest


class Notifications:
    """Renders, seals and queues customer e-mails."""

    def __init__(
        self, *, templates: MailTemplates, sealer: Sealer, zone: ZoneInfo, acknowledge: bool
    ) -> None:
        self._templates = templates
        self._sealer = sealer
        self._zone = zone
        self._acknowledge = acknowledge

    async def code(
        self,
        *,
        conn: Connection,
        order: Order,
        code: str,
        locale: str,
        ttl: timedelta,
        now: datetime,
    ) -> None:
        """Queue the mail that carries a one-time code to the order's address."""
        params = VerificationCodeMail(
            code=code, order_name=order.number, ttl_minutes=int(ttl.total_seconds() // 60)
        )
        await self._queue(conn, params, order, locale, now)

    async def receipt(self, *, conn: Connection, stored: StoredRequest, order: Order) -> None:
        """Queue the receipt of a request that waits for staff, when the policy asks for one.
        A request finished at once (CANCELLED, DECLINED) is answered on the page."""
        request = stored.request
        waits_for_staff = request.status in {RequestStatus.PENDING_REVIEW, RequestStatus.OPEN}
        if not self._acknowledge or not order.email or not waits_for_staff:
            return
        params = ReceiptMail(
            request_id=request.id,
            order_name=order.number,
            request_kind=request.kind,
            status=request.status,
            submitted_at=request.submitted_at,
            zone=self._zone,
        )
        await self._queue(conn, params, order, stored.locale, request.submitted_at)

    async def outcome(
        self, *, conn: Connection, stored: StoredRequest, order: Order, decided_at: datetime
    ) -> None:
        """Queue the mail that tells the customer how staff settled their request."""
        request = stored.request
        if not self._acknowledge or not order.email or request.resolution is None:
            return
        parcel = relevant_shipment(order)
        delivered_at = parcel.delivered_at if parcel else None
        params = OutcomeMail(
            request_id=request.id,
            order_name=order.number,
            request_kind=request.kind,
            resolution=request.resolution,
            decided_at=decided_at,
            zone=self._zone,
            # The carrier's own time, when it gave one: the decision may be noticed later.
            delivered_at=delivered_at if request.resolution is Resolution.DELIVERED else None,
        )
        await self._queue(conn, params, order, stored.locale, decided_at)

    async def _queue(
        self, conn: Connection, params: MailParams, order: Order, locale: str, now: datetime
    ) -> None:
        assert order.email is not None, "only an order with an e-mail address is written to"
        mail = OutgoingMail.of(order.email, self._templates.render(params, locale=locale))
        await outbox.enqueue(
            conn=conn, kind=params.kind, sealed=mail.seal(self._sealer), order_id=order.id, now=now
        )
