"""One template per kind of customer e-mail, rendered as plain text and HTML in en, nb, da, nl."""

from __future__ import annotations

import enum
import gettext
import html
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import ClassVar, assert_never

from babel import Locale
from babel.dates import format_date, format_time
from babel.units import format_unit

from service.mail.texts import MailText, load_translations
from service.messages import negotiate
from service.models import RequestKind, RequestStatus, Resolution
from service.paths import LOCALES_DIR

_WIDTH = 72  # plain-text lines stay well under RFC 5322's 78 characters


class MailKind(enum.StrEnum):
    """What a customer e-mail is; the outbox stores it beside the sealed message."""

    VERIFICATION_CODE = "VERIFICATION_CODE"
    RECEIPT = "RECEIPT"
    OUTCOME = "OUTCOME"


@dataclass(frozen=True, slots=True)
class VerificationCodeMail:
    """A one-time code for one order, valid for `ttl_minutes`."""

    kind: ClassVar[MailKind] = MailKind.VERIFICATION_CODE
    code: str
    order_name: str
    ttl_minutes: int


@dataclass(frozen=True, slots=True)
class ReceiptMail:
    """A receipt for a request that is not finished at once: what happens next, and when."""

    kind: ClassVar[MailKind] = MailKind.RECEIPT
    request_id: str
    order_name: str
    request_kind: RequestKind
    status: RequestStatus
    submitted_at: datetime
    zone: tzinfo  # the shop's time zone: every date in the mail is shown in it

    def __post_init__(self) -> None:
        if self.submitted_at.utcoffset() is None:
            raise ValueError("submitted_at must be an aware datetime")
        if not self.status.is_open:
            raise ValueError(f"a receipt is for an open request, not one that is {self.status}")


# How each kind of request can be settled (CONTRACT §6).
RESOLUTIONS: Mapping[RequestKind, frozenset[Resolution]] = {
    RequestKind.CANCELLATION: frozenset({Resolution.CANCELLED, Resolution.DECLINED}),
    RequestKind.NOT_RECEIVED: frozenset(
        {Resolution.REFUNDED, Resolution.RESHIPPED, Resolution.DELIVERED}
    ),
}


@dataclass(frozen=True, slots=True)
class OutcomeMail:
    """How staff settled a request: what was decided, and what happens next.

    `delivered_at` is when the carrier says it delivered the parcel, for `DELIVERED` only; the
    mail names that moment, or `decided_at` when the carrier gave none.
    """

    kind: ClassVar[MailKind] = MailKind.OUTCOME
    request_id: str
    order_name: str
    request_kind: RequestKind
    resolution: Resolution
    decided_at: datetime
    zone: tzinfo  # the shop's time zone: every date in the mail is shown in it
    delivered_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.decided_at.utcoffset() is None:
            raise ValueError("decided_at must be an aware datetime")
        if self.resolution not in RESOLUTIONS[self.request_kind]:
            raise ValueError(f"a {self.request_kind} request is not settled as {self.resolution}")
        if self.delivered_at is not None:
            if self.resolution is not Resolution.DELIVERED:
                raise ValueError(f"delivered_at is for DELIVERED, not {self.resolution}")
            if self.delivered_at.utcoffset() is None:
                raise ValueError("delivered_at must be an aware datetime")


MailParams = VerificationCodeMail | ReceiptMail | OutcomeMail


@dataclass(frozen=True, slots=True)
class RenderedMail:
    """A mail ready to send: its subject, plain-text body and HTML body."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class _Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class _Code:
    value: str


@dataclass(frozen=True, slots=True)
class _Facts:
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _Heading:
    text: str


_Block = _Paragraph | _Code | _Facts | _Heading

_NEXT_STEPS = {
    (RequestKind.CANCELLATION, RequestStatus.PENDING_REVIEW): MailText.NEXT_REVIEW,
    (RequestKind.NOT_RECEIVED, RequestStatus.OPEN): MailText.NEXT_INVESTIGATE,
}
_RECEIPT_SUBJECTS = {
    RequestKind.CANCELLATION: MailText.RECEIPT_SUBJECT_CANCELLATION,
    RequestKind.NOT_RECEIVED: MailText.RECEIPT_SUBJECT_NOT_RECEIVED,
}
_RECEIPT_INTROS = {
    RequestKind.CANCELLATION: MailText.RECEIPT_INTRO_CANCELLATION,
    RequestKind.NOT_RECEIVED: MailText.RECEIPT_INTRO_NOT_RECEIVED,
}

_OUTCOME_TEXTS = {  # subject, what was decided, what happens next
    Resolution.CANCELLED: (
        MailText.OUTCOME_SUBJECT_CANCELLED,
        MailText.OUTCOME_INTRO_CANCELLED,
        MailText.OUTCOME_NEXT_CANCELLED,
    ),
    Resolution.DECLINED: (
        MailText.OUTCOME_SUBJECT_DECLINED,
        MailText.OUTCOME_INTRO_DECLINED,
        MailText.OUTCOME_NEXT_DECLINED,
    ),
    Resolution.REFUNDED: (
        MailText.OUTCOME_SUBJECT_REFUNDED,
        MailText.OUTCOME_INTRO_REFUNDED,
        MailText.OUTCOME_NEXT_REFUNDED,
    ),
    Resolution.RESHIPPED: (
        MailText.OUTCOME_SUBJECT_RESHIPPED,
        MailText.OUTCOME_INTRO_RESHIPPED,
        MailText.OUTCOME_NEXT_RESHIPPED,
    ),
    Resolution.DELIVERED: (
        MailText.OUTCOME_SUBJECT_DELIVERED,
        MailText.OUTCOME_INTRO_DELIVERED,
        MailText.OUTCOME_NEXT_DELIVERED,
    ),
}


class MailTemplates:
    """Renders customer e-mails from catalogs parsed once at start-up; no I/O after `load`."""

    def __init__(self, translations: Mapping[str, gettext.NullTranslations]) -> None:
        self._translations = dict(translations)
        self._fallback = gettext.NullTranslations()

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> MailTemplates:
        """Parse the mail catalogs; raises `CatalogError` if one is missing or unfit."""
        return cls(load_translations(directory))

    def render(self, params: MailParams, *, locale: str) -> RenderedMail:
        """The mail `params` describe, in `locale` (a language tag; English when unsupported)."""
        lang = negotiate(locale)
        if isinstance(params, VerificationCodeMail):
            subject, blocks = self._verification_code(params, lang)
        elif isinstance(params, ReceiptMail):
            subject, blocks = self._receipt(params, lang)
        elif isinstance(params, OutcomeMail):
            subject, blocks = self._outcome(params, lang)
        else:
            assert_never(params)
        return RenderedMail(subject, _as_text(blocks), _as_html(blocks, subject=subject, lang=lang))

    def _verification_code(
        self, params: VerificationCodeMail, lang: str
    ) -> tuple[str, list[_Block]]:
        text = self._translator(lang)
        duration = format_unit(params.ttl_minutes, "duration-minute", length="long", locale=lang)
        duration = duration.replace(" ", "\N{NO-BREAK SPACE}")  # "10 minutes" stays on one line
        order = params.order_name
        return text(MailText.CODE_SUBJECT, order=order), [
            _Paragraph(text(MailText.CODE_INTRO, order=order)),
            _Code(params.code),
            _Paragraph(text(MailText.CODE_USE, duration=duration)),
            _Paragraph(text(MailText.CODE_IGNORE)),
            _Paragraph(text(MailText.CODE_NEVER_SHARE)),
        ]

    def _receipt(self, params: ReceiptMail, lang: str) -> tuple[str, list[_Block]]:
        text = self._translator(lang)
        order = params.order_name
        next_step = _NEXT_STEPS.get((params.request_kind, params.status), MailText.NEXT_GENERIC)
        submitted = _moment(params.submitted_at, params.zone, lang)
        return text(_RECEIPT_SUBJECTS[params.request_kind], order=order), [
            _Paragraph(text(_RECEIPT_INTROS[params.request_kind], order=order)),
            _Facts(
                (
                    (text(MailText.LABEL_REQUEST), params.request_id),
                    (text(MailText.LABEL_SUBMITTED), submitted),
                )
            ),
            _Heading(text(MailText.HEADING_NEXT)),
            _Paragraph(text(next_step)),
            _Paragraph(text(MailText.QUOTE_REQUEST)),
        ]

    def _outcome(self, params: OutcomeMail, lang: str) -> tuple[str, list[_Block]]:
        text = self._translator(lang)
        order = params.order_name
        subject, intro, next_step = _OUTCOME_TEXTS[params.resolution]
        delivered = _moment(params.delivered_at or params.decided_at, params.zone, lang)
        return text(subject, order=order), [
            _Paragraph(text(intro, order=order, date=delivered)),
            _Facts(
                (
                    (text(MailText.LABEL_REQUEST), params.request_id),
                    (text(MailText.LABEL_HANDLED), _moment(params.decided_at, params.zone, lang)),
                )
            ),
            _Heading(text(MailText.HEADING_NEXT)),
            _Paragraph(text(next_step)),
            _Paragraph(text(MailText.QUOTE_REQUEST)),
        ]

    def _translator(self, lang: str) -> _Translator:
        return _Translator(self._translations.get(lang, self._fallback))


@dataclass(frozen=True, slots=True)
class _Translator:
    translation: gettext.NullTranslations

    def __call__(self, text: MailText, **params: str) -> str:
        return self.translation.gettext(text.value).format(**params)


def _moment(value: datetime, zone: tzinfo, lang: str) -> str:
    """A date and time to the minute with its zone, as the language writes them (CLDR)."""
    locale = Locale.parse(lang)
    # CLDR's long time pattern has seconds; its short one plus the zone is what we want.
    time_pattern = f"{locale.time_formats['short'].pattern} z"
    date = format_date(value.astimezone(zone), "long", locale=locale)
    time = format_time(value, time_pattern, tzinfo=zone, locale=locale)
    glue = str(locale.datetime_formats["long"]).replace("'", "")
    return glue.replace("{0}", time).replace("{1}", date)


def _as_text(blocks: Sequence[_Block]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, _Paragraph):
            parts.append(
                textwrap.fill(block.text, _WIDTH, break_long_words=False, break_on_hyphens=False)
            )
        elif isinstance(block, _Code):
            parts.append(f"    {block.value}")
        elif isinstance(block, _Facts):
            parts.append("\n".join(f"{label}: {value}" for label, value in block.rows))
        else:
            parts.append(f"{block.text}\n{'-' * len(block.text)}")
    return "\n\n".join(parts) + "\n"


_FONT = "-apple-system,'Segoe UI',Helvetica,Arial,sans-serif"
_MONO = "ui-monospace,Menlo,Consolas,monospace"


def _as_html(blocks: Sequence[_Block], *, subject: str, lang: str) -> str:
    body = "\n".join(_html_block(block) for block in blocks)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_e(lang)}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(subject)}</title>\n"
        "</head>\n"
        f'<body style="margin:0;padding:24px;background:#ffffff;color:#1f2328;'
        f'font-family:{_FONT};font-size:16px;line-height:1.5">\n'
        '<div style="max-width:560px">\n'
        f"{body}\n"
        "</div>\n"
        "</body>\n"
        "</html>\n"
    )


def _html_block(block: _Block) -> str:
    if isinstance(block, _Paragraph):
        return f'<p style="margin:0 0 16px">{_e(block.text)}</p>'
    if isinstance(block, _Code):
        return (
            f'<p style="margin:0 0 16px;font-family:{_MONO};font-size:28px;'
            f'font-weight:bold;letter-spacing:4px">{_e(block.value)}</p>'
        )
    if isinstance(block, _Facts):
        rows = "\n".join(
            '<tr><th scope="row" style="text-align:left;padding:0 16px 4px 0;'
            f'font-weight:600">{_e(label)}</th><td style="padding:0 0 4px">{_e(value)}</td></tr>'
            for label, value in block.rows
        )
        return (
            '<table role="presentation" style="margin:0 0 16px;border-collapse:collapse">\n'
            f"{rows}\n</table>"
        )
    return f'<h2 style="margin:24px 0 8px;font-size:18px">{_e(block.text)}</h2>'


def _e(value: str) -> str:
    return html.escape(value, quote=True)
