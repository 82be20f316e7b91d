"""Frozen domain data shared by every layer: orders, requests, eligibility, refusals."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo


def isoformat(value: datetime | None) -> str | None:
    """An optional timestamp as ISO 8601 text, the form ordergate stores in JSON documents."""
    return value.isoformat() if value else None


class LenientEnum(enum.StrEnum):
    """A Shopify enum mirror: values Shopify adds in later API versions map to `UNKNOWN`."""

    @classmethod
    def _missing_(cls, value: object) -> LenientEnum:
        return cls["UNKNOWN"]


class FinancialStatus(LenientEnum):
    """Mirrors Shopify's `OrderDisplayFinancialStatus`."""

    AUTHORIZED = "AUTHORIZED"
    EXPIRED = "EXPIRED"
    PAID = "PAID"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    PENDING = "PENDING"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"
    UNKNOWN = "UNKNOWN"


class FulfillmentStatus(LenientEnum):
    """Mirrors Shopify's `OrderDisplayFulfillmentStatus`."""

    FULFILLED = "FULFILLED"
    FULFILLMENT_NOT_REQUIRED = "FULFILLMENT_NOT_REQUIRED"
    IN_PROGRESS = "IN_PROGRESS"
    ON_HOLD = "ON_HOLD"
    OPEN = "OPEN"
    PARTIALLY_FULFILLED = "PARTIALLY_FULFILLED"
    PENDING_FULFILLMENT = "PENDING_FULFILLMENT"
    REQUEST_DECLINED = "REQUEST_DECLINED"
    RESTOCKED = "RESTOCKED"
    SCHEDULED = "SCHEDULED"
    UNFULFILLED = "UNFULFILLED"
    UNKNOWN = "UNKNOWN"


class ReturnStatus(LenientEnum):
    """Mirrors Shopify's `OrderReturnStatus`."""

    INSPECTION_COMPLETE = "INSPECTION_COMPLETE"
    IN_PROGRESS = "IN_PROGRESS"
    NO_RETURN = "NO_RETURN"
    RETURNED = "RETURNED"
    RETURN_FAILED = "RETURN_FAILED"
    RETURN_REQUESTED = "RETURN_REQUESTED"
    UNKNOWN = "UNKNOWN"


class FulfillmentOrderStatus(LenientEnum):
    """Mirrors Shopify's `FulfillmentOrderStatus`: where the warehouse is with a group of items."""

    CANCELLED = "CANCELLED"
    CLOSED = "CLOSED"
    INCOMPLETE = "INCOMPLETE"
    IN_PROGRESS = "IN_PROGRESS"
    ON_HOLD = "ON_HOLD"
    OPEN = "OPEN"
    SCHEDULED = "SCHEDULED"
    UNKNOWN = "UNKNOWN"


class ShipmentStatus(LenientEnum):
    """Mirrors Shopify's `FulfillmentDisplayStatus`: what the carrier last said about a parcel."""

    ATTEMPTED_DELIVERY = "ATTEMPTED_DELIVERY"
    CANCELED = "CANCELED"
    CARRIER_PICKED_UP = "CARRIER_PICKED_UP"
    CONFIRMED = "CONFIRMED"
    DELAYED = "DELAYED"
    DELIVERED = "DELIVERED"
    FAILURE = "FAILURE"
    FULFILLED = "FULFILLED"
    IN_TRANSIT = "IN_TRANSIT"
    LABEL_PRINTED = "LABEL_PRINTED"
    LABEL_PURCHASED = "LABEL_PURCHASED"
    LABEL_VOIDED = "LABEL_VOIDED"
    MARKED_AS_FULFILLED = "MARKED_AS_FULFILLED"
    NOT_DELIVERED = "NOT_DELIVERED"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    PICKED_UP = "PICKED_UP"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    SUBMITTED = "SUBMITTED"
    UNKNOWN = "UNKNOWN"


class RiskLevel(LenientEnum):
    """Mirrors Shopify's `RiskAssessmentResult`."""

    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    NONE = "NONE"
    PENDING = "PENDING"
    UNKNOWN = "UNKNOWN"


class EligibilityReason(enum.StrEnum):
    """Why an action is not possible now (CONTRACT §1)."""

    ALREADY_CANCELLED = "ALREADY_CANCELLED"
    ORDER_CLOSED = "ORDER_CLOSED"
    ALREADY_FULFILLED = "ALREADY_FULFILLED"
    PARTIALLY_FULFILLED = "PARTIALLY_FULFILLED"
    FULFILLMENT_IN_PROGRESS = "FULFILLMENT_IN_PROGRESS"
    FULFILLMENT_ON_HOLD = "FULFILLMENT_ON_HOLD"
    WINDOW_CLOSED = "WINDOW_CLOSED"
    PAST_FULFILLMENT_CUTOFF = "PAST_FULFILLMENT_CUTOFF"
    NON_CANCELLABLE_ITEM = "NON_CANCELLABLE_ITEM"
    ALREADY_REQUESTED = "ALREADY_REQUESTED"
    NOT_SHIPPED_YET = "NOT_SHIPPED_YET"
    TOO_EARLY = "TOO_EARLY"
    REPORT_WINDOW_CLOSED = "REPORT_WINDOW_CLOSED"
    ALREADY_REPORTED = "ALREADY_REPORTED"


class UserErrorCode(enum.StrEnum):
    """What a customer can act on when a request is refused (CONTRACT §1)."""

    INVALID_INPUT = "INVALID_INPUT"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    VERIFICATION_REQUIRED = "VERIFICATION_REQUIRED"
    VERIFICATION_FAILED = "VERIFICATION_FAILED"


class RequestKind(enum.StrEnum):
    """What a customer asked for."""

    CANCELLATION = "CANCELLATION"
    NOT_RECEIVED = "NOT_RECEIVED"


class RequestStatus(enum.StrEnum):
    """Where a customer request stands."""

    CANCELLED = "CANCELLED"
    PROCESSING = "PROCESSING"
    PENDING_REVIEW = "PENDING_REVIEW"
    DECLINED = "DECLINED"
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"

    @property
    def is_open(self) -> bool:
        """An open request blocks a second one of the same kind."""
        return self in {RequestStatus.PROCESSING, RequestStatus.PENDING_REVIEW, RequestStatus.OPEN}


class Resolution(enum.StrEnum):
    """How staff settled a request (CONTRACT §6); a request has none before they have."""

    CANCELLED = "CANCELLED"  # a cancellation under review: staff cancelled the order
    DECLINED = "DECLINED"  # … staff released the hold without cancelling
    REFUNDED = "REFUNDED"  # a not-received report: the order was refunded after it
    RESHIPPED = "RESHIPPED"  # … a new parcel was sent after it
    DELIVERED = "DELIVERED"  # … the carrier reported delivery after it


class CustomerCancelReason(enum.StrEnum):
    """The reason a customer gives for cancelling."""

    ORDERED_BY_MISTAKE = "ORDERED_BY_MISTAKE"
    CHANGED_MIND = "CHANGED_MIND"
    FOUND_CHEAPER = "FOUND_CHEAPER"
    DELIVERY_TOO_SLOW = "DELIVERY_TOO_SLOW"
    WRONG_ITEM_OR_SIZE = "WRONG_ITEM_OR_SIZE"
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency; `Decimal` because money is never a float."""

    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class LineItem:
    """One ordered product line, with the product's tags for the non-cancellable rule."""

    title: str
    variant_title: str | None
    quantity: int
    product_tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Shipment:
    """One Shopify fulfillment: a parcel handed to a carrier."""

    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    status: ShipmentStatus
    shipped_at: datetime
    estimated_delivery_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FulfillmentOrder:
    """A group of line items the warehouse handles together; holds and packing show here."""

    id: str
    status: FulfillmentOrderStatus


@dataclass(frozen=True, slots=True)
class Order:
    """An order as ordergate reads it from the Admin API; every datetime is timezone-aware."""

    id: str
    number: str
    placed_at: datetime
    email: str | None
    phone: str | None
    financial_status: FinancialStatus
    fulfillment_status: FulfillmentStatus
    return_status: ReturnStatus
    total: Money
    cancelled_at: datetime | None = None
    closed: bool = False
    tags: tuple[str, ...] = ()
    risk_levels: tuple[RiskLevel, ...] = ()
    line_items: tuple[LineItem, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    fulfillment_orders: tuple[FulfillmentOrder, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Eligibility:
    """May the customer do this now? `until`/`available_from` bound the answer in time."""

    eligible: bool
    reason: EligibilityReason | None = None
    until: datetime | None = None
    available_from: datetime | None = None

    @classmethod
    def allowed(cls, *, until: datetime | None = None) -> Eligibility:
        """The action is possible now, possibly only until `until`."""
        return cls(eligible=True, until=until)

    @classmethod
    def refused(
        cls, reason: EligibilityReason, *, available_from: datetime | None = None
    ) -> Eligibility:
        """The action is not possible now, for `reason`; possibly from `available_from` on."""
        return cls(eligible=False, reason=reason, available_from=available_from)


@dataclass(frozen=True, slots=True)
class CustomerRequest:
    """A cancellation request or not-received report, as stored by ordergate."""

    id: str
    kind: RequestKind
    status: RequestStatus
    order_id: str
    submitted_at: datetime
    resolution: Resolution | None = None


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """What a lookup shows: the order as Shopify had it and the customer's requests on it as
    ordergate had them, cached together and dropped together on every change to either."""

    order: Order
    requests: tuple[CustomerRequest, ...]


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What a NOT_ELIGIBLE text says beside its reason, so that it is true of the order: can
    the customer still cancel it, and has it been delivered (so "return it" is possible now)?"""

    cancellable: bool = False
    delivered: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused storefront operation, as data: becomes one `UserError` at the API edge."""

    code: UserErrorCode
    reason: EligibilityReason | None = None
    field: tuple[str, ...] | None = None
    eligibility: Eligibility | None = None
    problem: str | None = None  # with INVALID_INPUT: TOO_LONG, REQUIRED or INVALID
    limit: int | None = None  # with TOO_LONG: the maximum length
    # With VERIFICATION_REQUIRED: the order's address, masked, when the contact was verified;
    # None for the generic answer of a locked order, which must not say whether it matched.
    sent_to: str | None = None
    facts: OrderFacts = OrderFacts()  # with NOT_ELIGIBLE: for its text


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order with what its customer may do now: the answer to `orderStatus`."""

    order: Order
    cancellation: Eligibility
    not_received: Eligibility
    requests: tuple[CustomerRequest, ...]
    zone: ZoneInfo


@dataclass(frozen=True, slots=True)
class CancellationInput:
    """What a customer sends to request cancellation."""

    order_number: str
    contact: str
    reason: CustomerCancelReason
    comment: str | None = None
    idempotency_key: str | None = None
    verification_code: str | None = None


@dataclass(frozen=True, slots=True)
class NotReceivedInput:
    """What a customer sends to report a parcel as not received."""

    order_number: str
    contact: str
    comment: str | None = None
    idempotency_key: str | None = None
    verification_code: str | None = None


# The audit vocabulary: what the log says happened. Stored as these values, filtered on by
# the reports, so a writer and a reader can never disagree on a spelling.


class AuditOperation(enum.StrEnum):
    """What an audit event records: a storefront operation or a request's state change."""

    ORDER_STATUS = "orderStatus"
    REQUEST_CANCELLATION = "requestCancellation"
    REPORT_NOT_RECEIVED = "reportNotReceived"
    STATUS_CHANGED = "request.status_changed"
    VERIFICATION = "verification"  # a one-time code sent, withheld, failed or accepted
    PERSONAL_DATA_ERASED = "privacy.erased"  # an erasure: which orders (or all), how many rows
    PERSONAL_DATA_REQUESTED = "privacy.data_request"  # customers/data_request, for the operator


class AuditDecision(enum.StrEnum):
    """What ordergate decided: accepted or refused a submission, or which kind of request moved."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    CANCELLATION = RequestKind.CANCELLATION.value
    NOT_RECEIVED = RequestKind.NOT_RECEIVED.value


class AuditOutcome(enum.StrEnum):
    """How an operation ended. Refusals are stored under their `UserErrorCode`, state changes
    under the new `RequestStatus`; both spellings are members here."""

    OK = "ok"
    EXISTING_REQUEST = "existing_request"  # a repeat answered with the request already there
    REPLAYED = "replayed"  # an idempotency key answered with the request it made
    RATE_LIMITED = "RATE_LIMITED"
    ADMIN_FAILED = "admin_failed"  # acting in Shopify failed; the reconciler retries
    INVALID_INPUT = UserErrorCode.INVALID_INPUT.value
    ORDER_NOT_FOUND = UserErrorCode.ORDER_NOT_FOUND.value
    NOT_ELIGIBLE = UserErrorCode.NOT_ELIGIBLE.value
    IDEMPOTENCY_KEY_REUSED = UserErrorCode.IDEMPOTENCY_KEY_REUSED.value
    UPSTREAM_UNAVAILABLE = UserErrorCode.UPSTREAM_UNAVAILABLE.value
    VERIFICATION_REQUIRED = UserErrorCode.VERIFICATION_REQUIRED.value
    VERIFICATION_FAILED = UserErrorCode.VERIFICATION_FAILED.value
    CODE_SENT = "code_sent"
    CODE_WITHHELD = "code_withheld"  # too many codes lately: the last one is still the one
    CODE_FAILED = "code_failed"
    CODE_ACCEPTED = "code_accepted"
    CANCELLED = RequestStatus.CANCELLED.value
    PROCESSING = RequestStatus.PROCESSING.value
    PENDING_REVIEW = RequestStatus.PENDING_REVIEW.value
    DECLINED = RequestStatus.DECLINED.value
    OPEN = RequestStatus.OPEN.value
    RESOLVED = RequestStatus.RESOLVED.value

    @classmethod
    def of(cls, value: UserErrorCode | RequestStatus) -> AuditOutcome:
        """The outcome a refusal code or a new request status is stored as."""
        return cls(value.value)
