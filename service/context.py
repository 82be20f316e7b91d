"""The typed per-request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass

from service.messages import Messages
from service.metrics import Metrics
from service.orders import Caller, OrderDesk


@dataclass(frozen=True, slots=True)
class Context:
    """What a resolver may use: the use cases, the customer's language, who is asking."""

    desk: OrderDesk
    messages: Messages
    metrics: Metrics
    caller: Caller

    @property
    def locale(self) -> str:
        """The language the customer's messages are written in."""
        return self.caller.locale
