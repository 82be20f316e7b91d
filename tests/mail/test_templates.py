"""Mail templates: golden files for every language, escaping, dates in the shop's zone.

The golden files in tests/mail/golden/ hold each mail exactly as rendered: the `.txt` file is
the subject line, a blank line and the plain-text body; the `.html` file is the HTML body.
After changing a template or a translation on purpose, regenerate them and review the diff:

    .venv/bin/python -m tests.mail.test_templates
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service.mail.templates import (
    MailParams,
    MailTemplates,
    OutcomeMail,
    ReceiptMail,
    RenderedMail,
    VerificationCodeMail,
)
from service.messages import SUPPORTED_LOCALES
from service.models import RequestKind, RequestStatus, Resolution

GOLDEN = Path(__file__).parent / "golden"
OSLO = ZoneInfo("Europe/Oslo")
SUBMITTED = datetime(2026, 5, 17, 8, 5, tzinfo=UTC)
DECIDED = datetime(2026, 5, 19, 13, 42, tzinfo=UTC)
REQUEST_ID = "0b5e3c9a-1d2f-4e6a-8b7c-9d0e1f2a3b4c"
CODE = VerificationCodeMail(code="418207", order_name="#1001", ttl_minutes=10)


def _receipt(kind: RequestKind, **changes: object) -> ReceiptMail:
    status = (
        RequestStatus.PENDING_REVIEW if kind is RequestKind.CANCELLATION else RequestStatus.OPEN
    )
    fields: dict[str, object] = {
        "request_id": REQUEST_ID,
        "order_name": "#1001",
        "request_kind": kind,
        "status": status,
        "submitted_at": SUBMITTED,
        "zone": OSLO,
    }
    fields.update(changes)
    return ReceiptMail(**fields)  # type: ignore[arg-type]


def _kind_of(resolution: Resolution) -> RequestKind:
    if resolution in {Resolution.CANCELLED, Resolution.DECLINED}:
        return RequestKind.CANCELLATION
    return RequestKind.NOT_RECEIVED


def _outcome(resolution: Resolution, **changes: object) -> OutcomeMail:
    fields: dict[str, object] = {
        "request_id": REQUEST_ID,
        "order_name": "#1001",
        "request_kind": _kind_of(resolution),
        "resolution": resolution,
        "decided_at": DECIDED,
        "zone": OSLO,
    }
    fields.update(changes)
    return OutcomeMail(**fields)  # type: ignore[arg-type]


OUTCOMES = tuple(_outcome(resolution) for resolution in Resolution)

# Every outcome in English; one of each kind of request in the other languages, so that
# between them each resolution has a golden file outside English too (CANCELLED and
# DECLINED, then REFUNDED, RESHIPPED and DELIVERED).
_TRANSLATED_OUTCOMES = {
    "nb": (Resolution.CANCELLED, Resolution.DELIVERED),
    "da": (Resolution.DECLINED, Resolution.RESHIPPED),
    "nl": (Resolution.CANCELLED, Resolution.REFUNDED),
}


def _golden_cases() -> dict[str, tuple[MailParams, str]]:
    cases: dict[str, tuple[MailParams, str]] = {"verification_code_en": (CODE, "en")}
    for locale in SUPPORTED_LOCALES:
        for kind in RequestKind:
            cases[f"receipt_{kind.value.lower()}_{locale}"] = (_receipt(kind), locale)
    outcomes = {"en": tuple(Resolution), **_TRANSLATED_OUTCOMES}
    for locale, resolutions in outcomes.items():
        for resolution in resolutions:
            cases[f"outcome_{resolution.value.lower()}_{locale}"] = (_outcome(resolution), locale)
    return cases


GOLDEN_CASES = _golden_cases()


@pytest.fixture(scope="module")
def templates() -> MailTemplates:
    return MailTemplates.load()


def _flat(text: str) -> str:
    """The text with its line breaks undone (no-break spaces stay)."""
    return re.sub(r"[ \n]+", " ", text)


def _as_golden_text(mail: RenderedMail) -> str:
    return f"Subject: {mail.subject}\n\n{mail.text}"


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_mail_matches_its_golden_files(templates: MailTemplates, name: str) -> None:
    params, locale = GOLDEN_CASES[name]
    mail = templates.render(params, locale=locale)
    assert _as_golden_text(mail) == (GOLDEN / f"{name}.txt").read_text("utf-8")
    assert mail.html == (GOLDEN / f"{name}.html").read_text("utf-8")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("params", [CODE, *(_receipt(kind) for kind in RequestKind), *OUTCOMES])
def test_every_mail_renders_in_every_language(
    templates: MailTemplates, locale: str, params: MailParams
) -> None:
    mail = templates.render(params, locale=locale)
    assert mail.subject.strip()
    assert "#1001" in mail.subject
    for body in (mail.text, mail.html):
        assert "{" not in body.replace("{margin", "")
        assert "#1001" in body


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_plain_text_lines_stay_short(templates: MailTemplates, locale: str) -> None:
    receipts = [_receipt(kind) for kind in RequestKind]
    every: list[MailParams] = [CODE, *receipts, *OUTCOMES]
    for params in every:
        for line in templates.render(params, locale=locale).text.splitlines():
            assert len(line) <= 78, line


def test_code_mail_names_the_order_the_code_and_its_expiry(templates: MailTemplates) -> None:
    mail = templates.render(CODE, locale="en")
    text = _flat(mail.text)
    assert "order #1001" in text
    assert "418207" in text
    assert "418207" in mail.html
    assert "expires in 10\N{NO-BREAK SPACE}minutes" in text
    assert "If you didn't ask for a code, you can ignore this e-mail" in text


def test_the_code_stays_out_of_the_subject(templates: MailTemplates) -> None:
    for locale in SUPPORTED_LOCALES:
        assert "418207" not in templates.render(CODE, locale=locale).subject


def test_a_one_minute_code_says_minute_in_the_singular(templates: MailTemplates) -> None:
    one = VerificationCodeMail(code="418207", order_name="#1001", ttl_minutes=1)
    assert "1\N{NO-BREAK SPACE}minute." in _flat(templates.render(one, locale="en").text)
    assert "1\N{NO-BREAK SPACE}minutt." in _flat(templates.render(one, locale="nb").text)


def test_html_escapes_every_value(templates: MailTemplates) -> None:
    hostile = '<img src=x onerror="alert(1)">&'
    mail = templates.render(
        _receipt(RequestKind.CANCELLATION, order_name=hostile, request_id=hostile), locale="nl"
    )
    assert "<img" not in mail.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;" in mail.html
    assert hostile in mail.text  # plain text needs no escaping


def test_receipt_dates_are_in_the_shops_time_zone(templates: MailTemplates) -> None:
    late_evening_utc = datetime(2026, 5, 17, 23, 30, tzinfo=UTC)
    receipt = _receipt(RequestKind.NOT_RECEIVED, submitted_at=late_evening_utc)
    assert "18. mai 2026, 01:30 CEST" in templates.render(receipt, locale="nb").text
    new_york = _receipt(RequestKind.NOT_RECEIVED, zone=ZoneInfo("America/New_York"))
    assert (
        "May 17, 2026, 4:05\N{NARROW NO-BREAK SPACE}AM EDT"
        in templates.render(new_york, locale="en").text
    )


def test_receipt_says_what_happens_next_and_when(templates: MailTemplates) -> None:
    cancellation = _flat(templates.render(_receipt(RequestKind.CANCELLATION), locale="en").text)
    report = _flat(templates.render(_receipt(RequestKind.NOT_RECEIVED), locale="en").text)
    assert "paused your order" in cancellation
    assert "within one business day" in cancellation
    assert "carrier" in report
    assert REQUEST_ID in cancellation


def test_an_open_status_without_its_own_text_gets_the_generic_next_step(
    templates: MailTemplates,
) -> None:
    processing = _receipt(RequestKind.CANCELLATION, status=RequestStatus.PROCESSING)
    text = _flat(templates.render(processing, locale="en").text)
    assert "as soon as it has been handled" in text


def test_a_receipt_for_a_finished_request_is_refused() -> None:
    with pytest.raises(ValueError, match="open request"):
        _receipt(RequestKind.CANCELLATION, status=RequestStatus.CANCELLED)


def test_a_receipt_needs_an_aware_submission_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        _receipt(RequestKind.CANCELLATION, submitted_at=datetime(2026, 5, 17, 8, 5))  # noqa: DTZ001


def test_the_outcome_golden_files_cover_every_resolution_in_every_language() -> None:
    for locale in SUPPORTED_LOCALES:
        covered = {
            params.request_kind
            for params, case_locale in GOLDEN_CASES.values()
            if isinstance(params, OutcomeMail) and case_locale == locale
        }
        assert covered == set(RequestKind), locale
    translated = {resolution for pair in _TRANSLATED_OUTCOMES.values() for resolution in pair}
    assert translated == set(Resolution)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_each_outcome_has_its_own_subject_and_text(templates: MailTemplates, locale: str) -> None:
    mails = [templates.render(params, locale=locale) for params in OUTCOMES]
    assert len({mail.subject for mail in mails}) == len(Resolution)
    assert len({mail.text for mail in mails}) == len(Resolution)


@pytest.mark.parametrize(
    ("resolution", "decided", "next_step"),
    [
        (Resolution.CANCELLED, "cancelled order #1001", "Any payment will be refunded"),
        (Resolution.DECLINED, "couldn't cancel order #1001", "you can return it once"),
        (Resolution.REFUNDED, "have refunded the order", "original payment method"),
        (Resolution.RESHIPPED, "sent you a replacement", "tracking details"),
        (Resolution.DELIVERED, "was delivered on May 19, 2026", "ask your neighbours"),
    ],
)
def test_outcome_says_what_was_decided_and_what_happens_next(
    templates: MailTemplates, resolution: Resolution, decided: str, next_step: str
) -> None:
    mail = templates.render(_outcome(resolution), locale="en")
    text = _flat(mail.text)
    assert "#1001" in mail.subject
    assert decided in text
    assert next_step in text
    assert text.index(decided) < text.index("What happens next") < text.index(next_step)
    assert REQUEST_ID in text


def test_outcome_dates_are_in_the_shops_time_zone(templates: MailTemplates) -> None:
    late_evening_utc = datetime(2026, 5, 19, 23, 30, tzinfo=UTC)
    delivered = _outcome(Resolution.DELIVERED, decided_at=late_evening_utc)
    text = _flat(templates.render(delivered, locale="nb").text)
    assert "ble levert 20. mai 2026, 01:30 CEST." in text
    assert "Behandlet: 20. mai 2026, 01:30 CEST" in text
    new_york = _outcome(Resolution.CANCELLED, zone=ZoneInfo("America/New_York"))
    assert (
        "Handled: May 19, 2026, 9:42\N{NARROW NO-BREAK SPACE}AM EDT"
        in templates.render(new_york, locale="en").text
    )


@pytest.mark.parametrize(
    ("locale", "phrase"),
    [
        ("en", "delivered on May 17, 2026, 6:30\N{NARROW NO-BREAK SPACE}PM +0200."),
        ("nb", "levert 17. mai 2026, 18:30 CEST."),
        ("da", "leveret den 17. maj 2026 18.30 CEST."),
        ("nl", "bezorgd op 17 mei 2026, 18:30 CEST."),
    ],
)
def test_a_delivery_names_the_carriers_moment_when_it_gave_one(
    templates: MailTemplates, locale: str, phrase: str
) -> None:
    delivered_at = datetime(2026, 5, 17, 16, 30, tzinfo=UTC)
    mail = templates.render(
        _outcome(Resolution.DELIVERED, delivered_at=delivered_at), locale=locale
    )
    assert phrase in _flat(mail.text)


def test_a_delivery_without_the_carriers_moment_names_the_decision(
    templates: MailTemplates,
) -> None:
    text = _flat(templates.render(_outcome(Resolution.DELIVERED), locale="nl").text)
    assert "bezorgd op 19 mei 2026, 15:42 CEST." in text


def test_outcome_html_escapes_every_value(templates: MailTemplates) -> None:
    hostile = '<img src=x onerror="alert(1)">&'
    mail = templates.render(
        _outcome(Resolution.DELIVERED, order_name=hostile, request_id=hostile), locale="da"
    )
    assert "<img" not in mail.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;" in mail.html
    assert hostile in mail.text


@pytest.mark.parametrize(
    ("kind", "resolution"),
    [
        (RequestKind.CANCELLATION, Resolution.REFUNDED),
        (RequestKind.CANCELLATION, Resolution.RESHIPPED),
        (RequestKind.CANCELLATION, Resolution.DELIVERED),
        (RequestKind.NOT_RECEIVED, Resolution.CANCELLED),
        (RequestKind.NOT_RECEIVED, Resolution.DECLINED),
    ],
)
def test_an_outcome_that_does_not_fit_the_request_is_refused(
    kind: RequestKind, resolution: Resolution
) -> None:
    with pytest.raises(ValueError, match="not settled as"):
        _outcome(resolution, request_kind=kind)


def test_an_outcome_needs_an_aware_decision_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        _outcome(Resolution.CANCELLED, decided_at=datetime(2026, 5, 19, 13, 42))  # noqa: DTZ001


def test_a_delivery_time_is_only_for_a_delivery_and_must_be_aware() -> None:
    with pytest.raises(ValueError, match="for DELIVERED"):
        _outcome(Resolution.RESHIPPED, delivered_at=DECIDED)
    with pytest.raises(ValueError, match="aware"):
        _outcome(Resolution.DELIVERED, delivered_at=datetime(2026, 5, 17, 16, 30))  # noqa: DTZ001


@pytest.mark.parametrize(("tag", "expected"), [("nb-NO", "nb"), ("no", "nb"), ("fr", "en")])
def test_a_language_tag_picks_the_nearest_supported_language(
    templates: MailTemplates, tag: str, expected: str
) -> None:
    assert templates.render(CODE, locale=tag) == templates.render(CODE, locale=expected)


def test_html_declares_its_language(templates: MailTemplates) -> None:
    assert '<html lang="da">' in templates.render(CODE, locale="da-DK").html


def _regenerate() -> None:
    templates = MailTemplates.load()
    for name, (params, locale) in GOLDEN_CASES.items():
        mail = templates.render(params, locale=locale)
        (GOLDEN / f"{name}.txt").write_text(_as_golden_text(mail), "utf-8")
        (GOLDEN / f"{name}.html").write_text(mail.html, "utf-8")


if __name__ == "__main__":
    _regenerate()
