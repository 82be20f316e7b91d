"""The merchant's cancellation and not-received policy: its YAML form, defaults and validation."""

from __future__ import annotations

import enum
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.models import RequestKind, RiskLevel

_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the offending key."""


class CancellationMode(enum.StrEnum):
    """Cancel in Shopify at once, or hold the order for staff to decide."""

    AUTOMATIC = "automatic"
    REVIEW = "review"


class RefundMethod(enum.StrEnum):
    """How a cancelled order is refunded."""

    ORIGINAL = "original"
    STORE_CREDIT = "store_credit"
    NONE = "none"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CancellationPolicy(_Strict):
    """When customers may cancel, and what a cancellation does."""

    mode: CancellationMode = CancellationMode.AUTOMATIC
    window_minutes: Annotated[int, Field(ge=0, le=60 * 24 * 90)] = 60
    fulfillment_cutoff: time | None = None
    timezone: str = "UTC"
    non_cancellable_tags: tuple[str, ...] = ("non-cancellable",)
    review_risk_levels: tuple[RiskLevel, ...] = (RiskLevel.HIGH,)
    refund: RefundMethod = RefundMethod.ORIGINAL
    restock: bool = True
    notify_customer: bool = True

    @field_validator("fulfillment_cutoff", mode="before")
    @classmethod
    def _parse_cutoff(cls, value: Any) -> time | None:
        if value is None:
            return None
        if isinstance(value, time):
            return value.replace(second=0, microsecond=0, tzinfo=None)
        # YAML 1.1 reads an unquoted 14:30 as the integer 870 (base 60): accept it as minutes.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return time(value // 60, value % 60)
        match = _HH_MM.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError('must be a time of day as "HH:MM", e.g. "14:30"')
        return time(int(match.group(1)), int(match.group(2)))

    @field_validator("review_risk_levels", mode="before")
    @classmethod
    def _known_risk_levels(cls, value: Any) -> Any:
        # RiskLevel is lenient towards Shopify (unknown -> UNKNOWN); a merchant's typo must not be.
        known = {level.value for level in RiskLevel} - {RiskLevel.UNKNOWN.value}
        for level in value if isinstance(value, list | tuple) else [value]:
            if str(level).upper() not in known:
                raise ValueError(f"{level!r} is not one of {', '.join(sorted(known))}")
        return [str(level).upper() for level in value] if isinstance(value, list | tuple) else value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("non_cancellable_tags")
    @classmethod
    def _normalise_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(tag.strip().lower() for tag in value if tag.strip())

    @property
    def zone(self) -> ZoneInfo:
        """The shop's time zone, in which the daily cut-off is read."""
        return ZoneInfo(self.timezone)


class NotReceivedPolicy(_Strict):
    """When a customer may report a parcel as not received."""

    min_days_after_shipment: Annotated[int, Field(ge=0, le=365)] = 5
    grace_days_after_estimated_delivery: Annotated[int, Field(ge=0, le=365)] = 2
    report_window_days: Annotated[int, Field(ge=1, le=3650)] = 60


class Verification(enum.StrEnum):
    """What a customer must show before an action goes ahead (CONTRACT §5)."""

    CODE = "code"  # the order number, the contact, and a one-time code e-mailed to the order
    CONTACT = "contact"  # the order number and the contact suffice


class VerificationPolicy(_Strict):
    """Which actions need a one-time code from the order's inbox, and how long a code lives."""

    cancellation: Verification = Verification.CODE
    not_received: Verification = Verification.CONTACT
    code_ttl_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 10

    def for_kind(self, kind: RequestKind) -> Verification:
        """What a request of `kind` needs."""
        return self.cancellation if kind is RequestKind.CANCELLATION else self.not_received


class NotificationPolicy(_Strict):
    """Which e-mails customers get besides their codes."""

    acknowledge: bool = True  # a receipt for a request not finished at once, and its outcome


class PrivacyPolicy(_Strict):
    """How long personal data is kept (CONTRACT §7)."""

    # Older personal data is erased by the retention worker, as a customers/redact would.
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 365


class Policy(_Strict):
    """The whole merchant policy; a file may set any subset, the rest are defaults."""

    cancellation: CancellationPolicy = CancellationPolicy()
    not_received: NotReceivedPolicy = NotReceivedPolicy()
    verification: VerificationPolicy = VerificationPolicy()
    notifications: NotificationPolicy = NotificationPolicy()
    privacy: PrivacyPolicy = PrivacyPolicy()


def parse_policy(document: Any, *, source: str = "policy") -> Policy:
    """Validate an already-parsed YAML document; raise `PolicyError` naming each bad key."""
    if document is None:
        return Policy()
    if not isinstance(document, dict):
        raise PolicyError(f"{source}: the top level must be a mapping")
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {_describe(error)}"
            for error in exc.errors()
        )
        raise PolicyError(f"{source}: {problems}") from None


def _describe(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    return str(error["msg"]).removeprefix("Value error, ")


def load_policy(path: Path | None) -> Policy:
    """Read and validate the policy file, or return the defaults when there is none."""
    if path is None:
        return Policy()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML ({exc})") from None
    return parse_policy(document, source=str(path))
