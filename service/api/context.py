"""The typed per-request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from service.api.access_log import RequestRecord
from service.messages import Messages
from service.metrics import Metrics
from service.orders.lookup import OrderLookup
from service.orders.submission import Submissions
from service.orders.trail import Trail
from service.ratelimit import ClientCount


@dataclass(frozen=True, slots=True)
class Context:
    """What a resolver may use: the use cases, the customer's language, who is asking."""

    lookup: OrderLookup
    submissions: Submissions
    messages: Messages
    metrics: Metrics
    zone: ZoneInfo  # the shop's, for dates in customer messages
    record: RequestRecord  # the request's id, and what the access log will say of it
    client_address: str | None
    # The request's per-client count while the door left it for the first per-order check.
    client_count: ClientCount | None
    locale: str

    @property
    def request_id(self) -> str:
        """The server's own id for this request: the audit key."""
        return self.record.request_id

    def trail(self) -> Trail:
        """A trail for one use case: each root field audits its own Admin calls."""
        return Trail(
            request_id=self.record.request_id,
            client_address=self.client_address,
            locale=self.locale,
            client_request_id=self.record.client_request_id,
            client_count=self.client_count,
        )
