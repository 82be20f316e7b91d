"""The sandbox shop's mutable state as plain records: orders, fulfilments, metafields, jobs,
webhook subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

ORDER_GID = "gid://shopify/Order/"
FULFILLMENT_ORDER_GID = "gid://shopify/FulfillmentOrder/"
METAFIELD_GID = "gid://shopify/Metafield/"
JOB_GID = "gid://shopify/Job/"
FULFILLMENT_GID = "gid://shopify/Fulfillment/"
FULFILLMENT_EVENT_GID = "gid://shopify/FulfillmentEvent/"
REFUND_GID = "gid://shopify/Refund/"
WEBHOOK_SUBSCRIPTION_GID = "gid://shopify/WebhookSubscription/"


@dataclass
class SandboxLineItem:
    """One line of an order; `product_tags` are the tags of the product it sells."""

    title: str
    quantity: int
    variant_title: str | None = None
    product_tags: list[str] = field(default_factory=list)


@dataclass
class SandboxTracking:
    """A carrier's tracking reference for one fulfilment."""

    company: str
    number: str
    url: str


@dataclass
class SandboxFulfillment:
    """A shipment: what left the warehouse, and what the carrier said about it since."""

    created_at: datetime
    status: str = "SUCCESS"
    display_status: str | None = "IN_TRANSIT"
    in_transit_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    delivered_at: datetime | None = None
    tracking: list[SandboxTracking] = field(default_factory=list)
    # Numbered by the store when the order is added (0 until then), as webhooks name it.
    id: int = 0

    @property
    def gid(self) -> str:
        """The global id Shopify gives it."""
        return f"{FULFILLMENT_GID}{self.id}"


@dataclass
class SandboxHold:
    """A hold placed on a fulfilment order through `fulfillmentOrderHold`."""

    reason: str
    handle: str | None = None
    reason_notes: str | None = None


@dataclass
class SandboxFulfillmentOrder:
    """A group of items the warehouse handles together, with its holds."""

    id: int
    status: str = "OPEN"
    holds: list[SandboxHold] = field(default_factory=list)

    @property
    def gid(self) -> str:
        """The global id Shopify gives it."""
        return f"{FULFILLMENT_ORDER_GID}{self.id}"


@dataclass
class SandboxCancellation:
    """What an `orderCancel` call asked for, applied when its job completes."""

    reason: str
    restock: bool
    refund: bool
    store_credit: bool = False
    notify_customer: bool = False
    staff_note: str | None = None


@dataclass
class SandboxOrder:
    """An order as the sandbox shop holds it."""

    id: int
    name: str
    created_at: datetime
    total: Decimal
    currency: str
    line_items: list[SandboxLineItem]
    email: str | None = None
    phone: str | None = None
    financial_status: str = "PAID"
    fulfillment_status: str = "UNFULFILLED"
    return_status: str = "NO_RETURN"
    closed: bool = False
    cancelled_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    risk_levels: list[str] = field(default_factory=lambda: ["LOW"])
    fulfillments: list[SandboxFulfillment] = field(default_factory=list)
    fulfillment_orders: list[SandboxFulfillmentOrder] = field(default_factory=list)
    cancellation: SandboxCancellation | None = None
    restocked: bool = False

    @property
    def gid(self) -> str:
        """The global id Shopify gives it."""
        return f"{ORDER_GID}{self.id}"


@dataclass
class SandboxMetafield:
    """A metafield stored by `metafieldsSet`."""

    id: int
    owner_id: str
    namespace: str
    key: str
    value: str
    type: str

    @property
    def gid(self) -> str:
        """The global id Shopify gives it."""
        return f"{METAFIELD_GID}{self.id}"


@dataclass
class SandboxJob:
    """An asynchronous Admin job; `done` turns true when its effect has been applied."""

    id: str
    order_id: int
    done: bool = False


@dataclass
class SandboxWebhookSubscription:
    """A subscription created through `webhookSubscriptionCreate`: kept, not delivered to
    (the sandbox delivers to the one URL it was started with)."""

    id: int
    topic: str  # the enum name, e.g. ORDERS_UPDATED
    uri: str
    format: str
    created_at: datetime

    @property
    def gid(self) -> str:
        """The global id Shopify gives it."""
        return f"{WEBHOOK_SUBSCRIPTION_GID}{self.id}"


def gid_number(gid: str, prefix: str) -> int | None:
    """The numeric part of a global id of the given kind, or None when it is not one."""
    if not gid.startswith(prefix):
        return None
    tail = gid[len(prefix) :]
    return int(tail) if tail.isdigit() else None
