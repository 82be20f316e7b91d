"""Localised customer-facing texts (en, nb, da, nl) and `Accept-Language` negotiation."""

from __future__ import annotations

import enum
import gettext
import io
import math
import re
import string
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from service.models import EligibilityReason, OrderFacts, RequestKind, RequestStatus
from service.paths import LOCALES_DIR

SUPPORTED_LOCALES: tuple[str, ...] = ("en", "nb", "da", "nl")
DEFAULT_LOCALE = "en"
DOMAIN = "ordergate"

# Norwegian speakers send "no", "nb" or "nn"; Bokmål is what they all read.
_LANGUAGE_TO_LOCALE = {"en": "en", "nb": "nb", "no": "nb", "nn": "nb", "da": "da", "nl": "nl"}
_TAG = re.compile(r"^(?:\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*)$")
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")
_MAX_HEADER = 4096


# Nothing known of the order beyond the reason: the texts offer only what is always true.
NO_FACTS = OrderFacts()


class Text(enum.Enum):
    """Every msgid the service uses: the one registry that `ordergate.pot` must match."""

    ORDER_NOT_FOUND = (
        "We could not find an order with that number and e-mail or phone number. "
        "Please check both and try again."
    )
    FIELD_ORDER_NUMBER = "the order number"
    FIELD_CONTACT = "your e-mail or phone number"
    FIELD_COMMENT = "the comment"
    FIELD_REASON = "the reason"
    INPUT_REQUIRED = "Please fill in {field}."
    INPUT_INVALID = "Please check {field} and try again."
    INPUT_TOO_LONG = "Please shorten {field}."
    INPUT_TOO_LONG_MAX = "Please shorten {field} to at most {max_length} characters."
    ANY_INPUT_REQUIRED = "Please fill in all required fields."
    ANY_INPUT_INVALID = (
        "Some of what you entered doesn't look right. Please check it and try again."
    )
    ANY_INPUT_TOO_LONG = "A text you entered is too long. Please shorten it."
    ANY_INPUT_TOO_LONG_MAX = (
        "A text you entered is too long: at most {max_length} characters are allowed."
    )
    ALREADY_CANCELLED = "This order has already been cancelled."
    ORDER_CLOSED = (
        "This order is closed and can no longer be changed here. "
        "Please contact customer service if you need help."
    )
    ALREADY_FULFILLED = (
        "This order has already been shipped, so it can no longer be cancelled. "
        "You can return it once it has been delivered."
    )
    ALREADY_FULFILLED_DELIVERED = (
        "This order has already been delivered, so it can no longer be cancelled. "
        "If you no longer want it, you can return it."
    )
    PARTIALLY_FULFILLED = (
        "Part of this order has already been shipped, so it can no longer be cancelled. "
        "You can return the items once they have been delivered."
    )
    FULFILLMENT_IN_PROGRESS = (
        "We're already packing this order, so it can no longer be cancelled. "
        "You can return it once it has been delivered."
    )
    FULFILLMENT_ON_HOLD = (
        "This order is on hold, so it can't be cancelled here right now. "
        "Please contact customer service."
    )
    # Past the window, an order may well still be unfulfilled: say only what is true.
    WINDOW_CLOSED = (
        "It's too late to cancel this order here: the time to cancel it online has passed. "
        "You can return it once it has been delivered."
    )
    WINDOW_CLOSED_ON = (
        "The time to cancel this order online ended on {date}. "
        "You can return it once it has been delivered."
    )
    PAST_FULFILLMENT_CUTOFF = (
        "Our warehouse has already started preparing this order, so it can no longer be "
        "cancelled. You can return it once it has been delivered."
    )
    NON_CANCELLABLE_ITEM = (
        "This order contains an item that can't be cancelled. "
        "Please contact customer service if you have questions."
    )
    ALREADY_REQUESTED = (
        "You have already asked to cancel this order. "
        "We'll let you know as soon as your request has been handled."
    )
    NOT_SHIPPED_YET = (
        "This order hasn't been shipped yet. You can follow it as soon as it's on its way."
    )
    NOT_SHIPPED_YET_CANCELLABLE = (
        "This order hasn't been shipped yet. If you no longer want it, you can still cancel it."
    )
    TOO_EARLY = (
        "Your order may still be on its way. If it doesn't arrive, please contact customer service."
    )
    TOO_EARLY_FROM = (
        "Your order may still be on its way. "
        "If it doesn't arrive, you can report it as not received from {date}."
    )
    REPORT_WINDOW_CLOSED = (
        "It's too late to report this order as not received here. "
        "Please contact customer service and we'll help you."
    )
    ALREADY_REPORTED = (
        "You have already reported this order as not received. "
        "We're looking into it and will get back to you."
    )
    NOT_POSSIBLE = (
        "This isn't possible for this order right now. "
        "Please contact customer service if you need help."
    )
    IDEMPOTENCY_KEY_REUSED = (
        "This request was already sent with different details. "
        "Please reload the page and try again."
    )
    UPSTREAM_UNAVAILABLE = (
        "We can't handle your request right now. Please try again in a few minutes."
    )
    RATE_LIMITED = "Too many attempts. Please try again in {wait}."
    VERIFICATION_REQUIRED_SENT = (
        "To confirm it's you, enter the code we e-mailed to {address}. "
        "Each code is valid for a few minutes."
    )
    VERIFICATION_REQUIRED = (
        "To protect this order, enter the code we e-mailed to the order's e-mail address. "
        "If you didn't get one, check the order number and your e-mail or phone number."
    )
    VERIFICATION_FAILED = (
        "That code is not right, or it has expired or been used. Please check it, or ask "
        "for a new one by sending your request again without a code."
    )
    CANCELLATION_CANCELLED = "Your order has been cancelled. You don't need to do anything else."
    CANCELLATION_PROCESSING = "We're cancelling your order now. This usually takes only a moment."
    CANCELLATION_PENDING_REVIEW = (
        "We've received your cancellation request and paused your order. "
        "We'll look at it and let you know the outcome."
    )
    CANCELLATION_DECLINED = (
        "Unfortunately we couldn't cancel your order. "
        "If you no longer want it, you can return it once it has been delivered."
    )
    NOT_RECEIVED_OPEN = (
        "Thanks for letting us know. "
        "We're looking into where your parcel is and will get back to you."
    )
    NOT_RECEIVED_RESOLVED = (
        "Your report has been handled. "
        "If you still have questions, please contact customer service."
    )
    REQUEST_OPEN = "We've received your request and will get back to you."
    REQUEST_CLOSED = (
        "Your request has been handled. If you have questions, please contact customer service."
    )
    REQUEST_DECLINED = (
        "We couldn't complete your request. Please contact customer service if you have questions."
    )


class InputProblem(enum.StrEnum):
    """What is wrong with one input field."""

    TOO_LONG = "TOO_LONG"
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"


class CatalogError(Exception):
    """A translation catalog is missing or does not fit its msgids."""


# Keys are GraphQL input names with case and underscores folded, so `order_number` also fits.
_FIELD_LABELS = {
    "ordernumber": Text.FIELD_ORDER_NUMBER,
    "contact": Text.FIELD_CONTACT,
    "comment": Text.FIELD_COMMENT,
    "reason": Text.FIELD_REASON,
}
_FIELD_TEXTS = {
    InputProblem.REQUIRED: (Text.INPUT_REQUIRED, Text.ANY_INPUT_REQUIRED),
    InputProblem.INVALID: (Text.INPUT_INVALID, Text.ANY_INPUT_INVALID),
    InputProblem.TOO_LONG: (Text.INPUT_TOO_LONG, Text.ANY_INPUT_TOO_LONG),
}
_REASON_TEXTS = {
    EligibilityReason.ALREADY_CANCELLED: Text.ALREADY_CANCELLED,
    EligibilityReason.ORDER_CLOSED: Text.ORDER_CLOSED,
    EligibilityReason.ALREADY_FULFILLED: Text.ALREADY_FULFILLED,
    EligibilityReason.PARTIALLY_FULFILLED: Text.PARTIALLY_FULFILLED,
    EligibilityReason.FULFILLMENT_IN_PROGRESS: Text.FULFILLMENT_IN_PROGRESS,
    EligibilityReason.FULFILLMENT_ON_HOLD: Text.FULFILLMENT_ON_HOLD,
    EligibilityReason.PAST_FULFILLMENT_CUTOFF: Text.PAST_FULFILLMENT_CUTOFF,
    EligibilityReason.NON_CANCELLABLE_ITEM: Text.NON_CANCELLABLE_ITEM,
    EligibilityReason.ALREADY_REQUESTED: Text.ALREADY_REQUESTED,
    EligibilityReason.REPORT_WINDOW_CLOSED: Text.REPORT_WINDOW_CLOSED,
    EligibilityReason.ALREADY_REPORTED: Text.ALREADY_REPORTED,
    # Without a date or a cancellation to offer, these three have a plain text too.
    EligibilityReason.TOO_EARLY: Text.TOO_EARLY,
    EligibilityReason.WINDOW_CLOSED: Text.WINDOW_CLOSED,
    EligibilityReason.NOT_SHIPPED_YET: Text.NOT_SHIPPED_YET,
}
_STATUS_TEXTS = {
    (RequestKind.CANCELLATION, RequestStatus.CANCELLED): Text.CANCELLATION_CANCELLED,
    (RequestKind.CANCELLATION, RequestStatus.PROCESSING): Text.CANCELLATION_PROCESSING,
    (RequestKind.CANCELLATION, RequestStatus.PENDING_REVIEW): Text.CANCELLATION_PENDING_REVIEW,
    (RequestKind.CANCELLATION, RequestStatus.DECLINED): Text.CANCELLATION_DECLINED,
    (RequestKind.NOT_RECEIVED, RequestStatus.OPEN): Text.NOT_RECEIVED_OPEN,
    (RequestKind.NOT_RECEIVED, RequestStatus.RESOLVED): Text.NOT_RECEIVED_RESOLVED,
}


def negotiate(accept_language: str | None) -> str:
    """Pick the supported locale an `Accept-Language` header (RFC 9110) prefers; `en` otherwise."""
    ranges = _parse_accept_language((accept_language or "")[:_MAX_HEADER])
    excluded = {_LANGUAGE_TO_LOCALE.get(tag.split("-")[0]) for tag, q in ranges if q == 0}
    # A stable sort keeps the header's order among equal weights, as clients intend.
    for tag, _ in sorted((r for r in ranges if r[1] > 0), key=lambda r: -r[1]):
        if tag == "*":
            wildcard = [loc for loc in SUPPORTED_LOCALES if loc not in excluded]
            return wildcard[0] if wildcard else DEFAULT_LOCALE
        locale = _LANGUAGE_TO_LOCALE.get(tag.split("-")[0])
        if locale is not None:
            return locale
    return DEFAULT_LOCALE


def _parse_accept_language(header: str) -> list[tuple[str, float]]:
    """The well-formed ranges of a header with their weights; malformed ones are skipped."""
    ranges = []
    for part in header.split(","):
        tag, *params = (piece.strip() for piece in part.split(";"))
        tag = tag.lower().replace("_", "-")
        if not _TAG.match(tag):
            continue
        weight: float | None = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                weight = float(value) if _QVALUE.match(value) else None
        if weight is not None:
            ranges.append((tag, weight))
    return ranges


def placeholders(text: str) -> frozenset[str]:
    """The named `{placeholders}` of a message; raises `ValueError` on malformed braces."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


class Messages:
    """Customer texts in every supported locale, from catalogs parsed once at start-up."""

    def __init__(self, translations: Mapping[str, gettext.NullTranslations]) -> None:
        self._translations = dict(translations)
        self._fallback = gettext.NullTranslations()

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> Messages:
        """Parse the nb, da and nl catalogs; raise `CatalogError` if one is missing or unfit."""
        translations: dict[str, gettext.NullTranslations] = {
            DEFAULT_LOCALE: gettext.NullTranslations()
        }
        for locale in SUPPORTED_LOCALES:
            if locale != DEFAULT_LOCALE:
                translations[locale] = load_catalog(directory, locale)
        return cls(translations)

    def order_not_found(self, locale: str) -> str:
        """The same answer for an unknown order and a contact that does not match it."""
        return self._render(locale, Text.ORDER_NOT_FOUND)

    def invalid_input(
        self, locale: str, *, field: str, problem: InputProblem, max_length: int | None = None
    ) -> str:
        """What is wrong with the GraphQL input `field` (e.g. `comment`) and how to fix it."""
        with_field, without_field = _FIELD_TEXTS[problem]
        if problem is InputProblem.TOO_LONG and max_length is not None:
            with_field, without_field = Text.INPUT_TOO_LONG_MAX, Text.ANY_INPUT_TOO_LONG_MAX
        label = _FIELD_LABELS.get(field.replace("_", "").lower())
        if label is None:
            return self._render(locale, without_field, max_length=max_length)
        field_text = self._render(locale, label)
        return self._render(locale, with_field, field=field_text, max_length=max_length)

    def not_eligible(
        self,
        locale: str,
        reason: EligibilityReason,
        *,
        zone: ZoneInfo,
        available_from: datetime | None = None,
        until: datetime | None = None,
        facts: OrderFacts = NO_FACTS,
    ) -> str:
        """Why the action is not possible now and what the customer can do instead: the one
        place that picks the text, for `orderStatus` and the mutations alike, so that what it
        offers (cancel, return) is true of the order (`facts`)."""
        if reason is EligibilityReason.TOO_EARLY and available_from is not None:
            date = self._date(locale, available_from, zone)
            return self._render(locale, Text.TOO_EARLY_FROM, date=date)
        if reason is EligibilityReason.WINDOW_CLOSED and until is not None:
            date = self._date(locale, until, zone)
            return self._render(locale, Text.WINDOW_CLOSED_ON, date=date)
        if reason is EligibilityReason.NOT_SHIPPED_YET and facts.cancellable:
            return self._render(locale, Text.NOT_SHIPPED_YET_CANCELLABLE)
        if reason is EligibilityReason.ALREADY_FULFILLED and facts.delivered:
            return self._render(locale, Text.ALREADY_FULFILLED_DELIVERED)
        return self._render(locale, _REASON_TEXTS.get(reason, Text.NOT_POSSIBLE))

    def idempotency_key_reused(self, locale: str) -> str:
        """The same idempotency key came back with a different input."""
        return self._render(locale, Text.IDEMPOTENCY_KEY_REUSED)

    def verification_required(self, locale: str, *, sent_to: str | None) -> str:
        """Ask for the one-time code: naming where it went when the contact was verified,
        one generic text for a locked order, the same whether the contact matched or not."""
        if sent_to is None:
            return self._render(locale, Text.VERIFICATION_REQUIRED)
        return self._render(locale, Text.VERIFICATION_REQUIRED_SENT, address=sent_to)

    def verification_failed(self, locale: str) -> str:
        """The code typed is wrong, expired or used."""
        return self._render(locale, Text.VERIFICATION_FAILED)

    def upstream_unavailable(self, locale: str) -> str:
        """Shopify or the audit store cannot be reached; nothing upstream is named."""
        return self._render(locale, Text.UPSTREAM_UNAVAILABLE)

    def rate_limited(self, locale: str, *, retry_after_seconds: int) -> str:
        """Too many requests; says how long to wait, rounded up to a whole unit."""
        wait = format_timedelta(
            timedelta(seconds=_round_up_wait(retry_after_seconds)),
            threshold=1,
            add_direction=False,
            format="long",
            locale=self._babel_locale(locale),
        )
        return self._render(locale, Text.RATE_LIMITED, wait=wait)

    def request_status(self, locale: str, kind: RequestKind, status: RequestStatus) -> str:
        """What happens next with a customer request of `kind` that stands at `status`."""
        text = _STATUS_TEXTS.get((kind, status))
        if text is None:
            if status is RequestStatus.DECLINED:
                text = Text.REQUEST_DECLINED
            else:
                text = Text.REQUEST_OPEN if status.is_open else Text.REQUEST_CLOSED
        return self._render(locale, text)

    def _render(self, locale: str, text: Text, **params: object) -> str:
        translation = self._translations.get(locale, self._fallback)
        return translation.gettext(text.value).format(**params)

    def _babel_locale(self, locale: str) -> str:
        return locale if locale in self._translations else DEFAULT_LOCALE

    def _date(self, locale: str, moment: datetime, zone: ZoneInfo) -> str:
        return shop_time(moment, zone=zone, locale=self._babel_locale(locale))


def shop_time(moment: datetime, *, zone: ZoneInfo, locale: str) -> str:
    """A moment as the customer's language writes a date and time, in the shop's zone, to the
    minute, with the zone: "Dec 4, 2026 at 1:10 PM CET", "4. des. 2026 kl. 13:10 CET"."""
    language = Locale.parse(locale)
    # CLDR's "at time" joining ("{1} 'kl'. {0}"), else the plain one ("{1}, {0}").
    joining = language.datetime_formats_relative.get("long") or language.datetime_formats["medium"]
    pattern = (
        str(joining)
        .replace("{1}", language.date_formats["medium"].pattern)
        .replace("{0}", language.time_formats["short"].pattern)
    )
    local = moment.astimezone(zone)
    # tzdata's abbreviation (CET, CEST, EST, UTC, or +03 where a zone has none): the same in
    # every language, where CLDR's names vary between "CET", "+0100" and "Norway Time".
    formatted: str = format_datetime(local, pattern, tzinfo=zone, locale=language)
    return f"{formatted} {local.tzname()}"


def _round_up_wait(seconds: int) -> int:
    """Round a wait up to whole minutes or hours, so the customer never retries too early."""
    seconds = max(1, seconds)
    for unit in (3600, 60):
        if seconds > unit:
            return math.ceil(seconds / unit) * unit
    return seconds


def catalog_path(directory: Path, locale: str, domain: str = DOMAIN) -> Path:
    """Where the catalog of `domain` for `locale` lives under `directory`."""
    return directory / locale / "LC_MESSAGES" / f"{domain}.po"


def load_catalog(directory: Path, locale: str, domain: str = DOMAIN) -> gettext.GNUTranslations:
    """Parse one `.po` file of `domain`, check its placeholders and make gettext translations
    of it (the customer texts' domain by default; the mail texts have their own)."""
    path = catalog_path(directory, locale, domain)
    if not path.is_file():
        raise CatalogError(f"missing {domain} catalog for {locale!r}: {path}")
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale, domain=domain)
    for message in catalog:
        # A plural entry's forms are checked against its plural msgid, the last of its ids.
        msgid = message.id if isinstance(message.id, str) else message.id[-1]
        forms = [message.string] if isinstance(message.string, str) else message.string or []
        for translation in forms:
            if msgid and translation:
                _check_placeholders(locale, msgid, translation)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _check_placeholders(locale: str, msgid: str, translation: str) -> None:
    try:
        expected, found = placeholders(msgid), placeholders(translation)
    except ValueError as error:
        raise CatalogError(f"{locale}: malformed braces in {translation!r}: {error}") from None
    if expected != found:
        raise CatalogError(
            f"{locale}: placeholders {sorted(found)} in {translation!r} "
            f"differ from {sorted(expected)} in its msgid"
        )
