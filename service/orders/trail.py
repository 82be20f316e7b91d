"""What travels with one storefront request or reconciler pass: who asked, which Admin calls
were made, and the audit events they become."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from service.admin.client import AdminCall, AdminClient
from service.admin.shop import Shop
from service.models import AuditDecision, AuditOperation, AuditOutcome
from service.ratelimit import ClientCount
from service.storage.audit import AdminCallRecord, AuditEvent


@dataclass(slots=True)
class Trail:
    """One request's identity and the Admin calls it made since its last audit event."""

    request_id: str
    client_address: str | None
    locale: str = "en"
    # The caller's own X-Request-ID, for correlation only; `request_id` is the server's.
    client_request_id: str | None = None
    # The request's per-client count, when it is to be taken with the first per-order check.
    client_count: ClientCount | None = None
    _calls: list[AdminCallRecord] = field(default_factory=list, repr=False)

    @classmethod
    def background(cls, worker: str) -> Trail:
        """A trail for work no customer asked for just now (the reconciler's passes)."""
        return cls(request_id=f"{worker}-{uuid.uuid4().hex}", client_address=None)

    def record_call(self, call: AdminCall) -> None:
        """Note one Admin call, for the next audit event."""
        self._calls.append(AdminCallRecord(call.operation, call.requested_cost, call.actual_cost))

    def shop(self, client: AdminClient) -> Shop:
        """The shop as this request sees it: every call it makes is noted here."""
        return Shop(client.observed_by(self.record_call))

    def event(
        self,
        operation: AuditOperation,
        *,
        outcome: AuditOutcome,
        order_id: str | None = None,
        customer_request_id: str | None = None,
        decision: AuditDecision | None = None,
        reason: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> AuditEvent:
        """An audit event by this request, carrying the Admin calls made since the last one."""
        calls, self._calls = tuple(self._calls), []
        if self.client_request_id is not None:
            details = {**(details or {}), "client_request_id": self.client_request_id}
        return AuditEvent(
            operation=operation,
            request_id=self.request_id,
            client_address=self.client_address,
            order_id=order_id,
            customer_request_id=customer_request_id,
            decision=decision,
            reason=reason,
            outcome=outcome,
            admin_calls=calls,
            details=dict(details or {}),
        )
