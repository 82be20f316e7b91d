"""Localised customer texts: negotiation, catalog completeness and the texts themselves."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from service.messages import (
    SUPPORTED_LOCALES,
    CatalogError,
    InputProblem,
    Messages,
    Text,
    catalog_path,
    negotiate,
    placeholders,
)
from service.models import EligibilityReason, OrderFacts, RequestKind, RequestStatus
from service.paths import LOCALES_DIR

TRANSLATED = tuple(locale for locale in SUPPORTED_LOCALES if locale != "en")
OSLO = ZoneInfo("Europe/Oslo")
MAY_17 = datetime(2026, 5, 17, 8, 0, tzinfo=UTC)
EVERY_FACT = OrderFacts(cancellable=True, delivered=True)


@pytest.fixture(scope="module")
def messages() -> Messages:
    return Messages.load()


def _read_catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as po_file:
        catalog = read_po(po_file)
    return {
        message.id: message.string
        for message in catalog
        if isinstance(message.id, str) and isinstance(message.string, str) and message.id
    }


def _pot_msgids() -> set[str]:
    return set(_read_catalog(LOCALES_DIR / "ordergate.pot"))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("nb", "nb"),
        ("no", "nb"),
        ("nn", "nb"),
        ("nb-NO", "nb"),
        ("no-NO", "nb"),
        ("NB-no", "nb"),
        ("da-DK", "da"),
        ("nl-BE", "nl"),
        ("en-GB", "en"),
        ("*", "en"),
        ("fr-FR", "en"),
        ("fr-FR, da;q=0.5", "da"),
        ("en;q=0.4, nl;q=0.9", "nl"),
        ("da, nb", "da"),
        ("nl;q=0.8, da;q=0.8", "nl"),
        ("nb;q=0, en", "en"),
        ("nb;q=0", "en"),
        ("en;q=0, *", "nb"),
        ("fr, *;q=0.1", "en"),
        ("da;q=2, nl", "nl"),
        ("da;q=abc, nl;q=0.1", "nl"),
        ("da;Q=0.5", "da"),
        ("de-DE;q=0.9,da-DK;q=0.8,en;q=0.7", "da"),
        (";;,,=;q=", "en"),
        ("\x00\xff😀, nl", "nl"),
        ("nl-" + "x" * 5000, "en"),
    ],
)
def test_negotiate_picks_the_preferred_supported_locale(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_negotiate_never_raises_on_garbage() -> None:
    for header in ["q=1", ";", "en;q", "en;q=", "en;;q=0.5;q", "-", "en--gb", "1234", " , "]:
        assert negotiate(header) in SUPPORTED_LOCALES


def test_pot_lists_exactly_the_msgids_the_code_uses() -> None:
    assert _pot_msgids() == {text.value for text in Text}


def test_msgids_are_distinct() -> None:
    assert len({text.value for text in Text}) == len(list(Text))


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_translates_every_msgid_of_the_pot(locale: str) -> None:
    catalog = _read_catalog(catalog_path(LOCALES_DIR, locale))
    untranslated = {msgid for msgid in _pot_msgids() if catalog.get(msgid, msgid) in {"", msgid}}
    assert untranslated == set()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_has_no_msgids_beyond_the_pot(locale: str) -> None:
    assert set(_read_catalog(catalog_path(LOCALES_DIR, locale))) <= _pot_msgids()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_placeholders_match_their_msgids(locale: str) -> None:
    catalog = _read_catalog(catalog_path(LOCALES_DIR, locale))
    mismatched = {
        msgid for msgid, string in catalog.items() if placeholders(msgid) != placeholders(string)
    }
    assert mismatched == set()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_loaded_texts_differ_from_english(messages: Messages, locale: str) -> None:
    assert messages.order_not_found(locale) != messages.order_not_found("en")
    assert messages.upstream_unavailable(locale) != messages.upstream_unavailable("en")


def test_load_refuses_a_missing_catalog(tmp_path: Path) -> None:
    shutil.copytree(LOCALES_DIR, tmp_path, dirs_exist_ok=True)
    catalog_path(tmp_path, "da").unlink()
    with pytest.raises(CatalogError, match="'da'"):
        Messages.load(tmp_path)


def test_load_refuses_a_translation_with_other_placeholders(tmp_path: Path) -> None:
    shutil.copytree(LOCALES_DIR, tmp_path, dirs_exist_ok=True)
    path = catalog_path(tmp_path, "nl")
    path.write_text(path.read_text("utf-8").replace("over {wait}", "over {wachten}"), "utf-8")
    with pytest.raises(CatalogError, match="wachten"):
        Messages.load(tmp_path)


def test_load_refuses_a_translation_with_broken_braces(tmp_path: Path) -> None:
    shutil.copytree(LOCALES_DIR, tmp_path, dirs_exist_ok=True)
    path = catalog_path(tmp_path, "nb")
    path.write_text(path.read_text("utf-8").replace("om {wait}.", "om {wait."), "utf-8")
    with pytest.raises(CatalogError, match="malformed"):
        Messages.load(tmp_path)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_plain_texts_are_present_in_every_locale(messages: Messages, locale: str) -> None:
    assert messages.order_not_found(locale)
    assert messages.idempotency_key_reused(locale)
    assert messages.upstream_unavailable(locale)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("reason", list(EligibilityReason))
def test_every_reason_has_a_text_in_every_locale(
    messages: Messages, locale: str, reason: EligibilityReason
) -> None:
    plain = messages.not_eligible(locale, reason, zone=OSLO)
    dated = messages.not_eligible(
        locale, reason, zone=OSLO, available_from=MAY_17, until=MAY_17, facts=EVERY_FACT
    )
    assert plain.strip()
    assert dated.strip()
    assert "{" not in plain + dated


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("kind", list(RequestKind))
@pytest.mark.parametrize("status", list(RequestStatus))
def test_every_request_status_has_a_text_in_every_locale(
    messages: Messages, locale: str, kind: RequestKind, status: RequestStatus
) -> None:
    assert messages.request_status(locale, kind, status).strip()


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("problem", list(InputProblem))
@pytest.mark.parametrize("field", ["orderNumber", "contact", "comment", "reason", "somethingElse"])
def test_every_input_problem_has_a_text_in_every_locale(
    messages: Messages, locale: str, problem: InputProblem, field: str
) -> None:
    for max_length in (None, 500):
        text = messages.invalid_input(locale, field=field, problem=problem, max_length=max_length)
        assert text.strip()
        assert "{" not in text


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_rate_limited_has_a_text_in_every_locale(messages: Messages, locale: str) -> None:
    assert messages.rate_limited(locale, retry_after_seconds=30).strip()


def test_order_not_found_names_number_and_contact_not_existence(messages: Messages) -> None:
    text = messages.order_not_found("en")
    assert "number and e-mail or phone" in text


@pytest.mark.parametrize(
    ("locale", "month"), [("en", "May"), ("nb", "mai"), ("da", "maj"), ("nl", "mei")]
)
def test_too_early_names_the_localised_date(messages: Messages, locale: str, month: str) -> None:
    text = messages.not_eligible(
        locale, EligibilityReason.TOO_EARLY, zone=OSLO, available_from=MAY_17
    )
    assert "17" in text
    assert month in text


def test_dates_are_shown_in_the_shops_time_zone(messages: Messages) -> None:
    late_evening_utc = datetime(2026, 5, 17, 23, 30, tzinfo=UTC)
    text = messages.not_eligible(
        "nb", EligibilityReason.TOO_EARLY, zone=OSLO, available_from=late_evening_utc
    )
    assert "18. mai" in text


def test_too_early_without_a_date_points_at_customer_service(messages: Messages) -> None:
    assert "customer service" in messages.not_eligible("en", EligibilityReason.TOO_EARLY, zone=OSLO)


def test_not_shipped_yet_offers_cancellation_when_possible(messages: Messages) -> None:
    reason = EligibilityReason.NOT_SHIPPED_YET
    offering = messages.not_eligible("nb", reason, zone=OSLO, facts=OrderFacts(cancellable=True))
    plain = messages.not_eligible("nb", reason, zone=OSLO, facts=OrderFacts(cancellable=False))
    assert "kansellere" in offering
    assert "kansellere" not in plain


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_a_shipped_order_is_offered_a_return_now_only_once_delivered(
    messages: Messages, locale: str
) -> None:
    reason = EligibilityReason.ALREADY_FULFILLED
    delivered = messages.not_eligible(locale, reason, zone=OSLO, facts=OrderFacts(delivered=True))
    on_its_way = messages.not_eligible(locale, reason, zone=OSLO)

    assert delivered != on_its_way
    assert delivered == messages.not_eligible(
        locale, reason, zone=OSLO, facts=OrderFacts(delivered=True, cancellable=True)
    )
    if locale == "en":
        assert "once it has been delivered" in on_its_way
        assert "once" not in delivered
        assert delivered.endswith("you can return it.")


@pytest.mark.parametrize(
    "reason", [EligibilityReason.WINDOW_CLOSED, EligibilityReason.PAST_FULFILLMENT_CUTOFF]
)
def test_late_cancellation_suggests_a_return(messages: Messages, reason: EligibilityReason) -> None:
    assert "return" in messages.not_eligible("en", reason, zone=OSLO)
    assert "retourneren" in messages.not_eligible("nl", reason, zone=OSLO)


def test_closed_window_names_its_end_when_known(messages: Messages) -> None:
    text = messages.not_eligible("da", EligibilityReason.WINDOW_CLOSED, zone=OSLO, until=MAY_17)
    assert "17. maj 2026" in text


def test_report_window_closed_points_at_customer_service(messages: Messages) -> None:
    text = messages.not_eligible("da", EligibilityReason.REPORT_WINDOW_CLOSED, zone=OSLO)
    assert "kundeservice" in text


def test_input_problem_names_a_known_field(messages: Messages) -> None:
    text = messages.invalid_input(
        "nl", field="comment", problem=InputProblem.TOO_LONG, max_length=500
    )
    assert text == "Maak de opmerking korter: maximaal 500 tekens."


def test_input_problem_accepts_snake_case_field_names(messages: Messages) -> None:
    snake = messages.invalid_input("en", field="order_number", problem=InputProblem.REQUIRED)
    camel = messages.invalid_input("en", field="orderNumber", problem=InputProblem.REQUIRED)
    assert snake == camel == "Please fill in the order number."


def test_input_problem_on_an_unknown_field_names_no_field(messages: Messages) -> None:
    text = messages.invalid_input("en", field="idempotencyKey", problem=InputProblem.INVALID)
    assert "idempotency" not in text.lower()


@pytest.mark.parametrize(
    ("seconds", "wait"),
    [(1, "1 sekund"), (45, "45 sekunder"), (60, "1 minutt"), (61, "2 minutter"), (3601, "2 timer")],
)
def test_rate_limited_rounds_the_wait_up(messages: Messages, seconds: int, wait: str) -> None:
    assert messages.rate_limited("nb", retry_after_seconds=seconds).endswith(f" {wait}.")


def test_unknown_locale_falls_back_to_english(messages: Messages) -> None:
    assert messages.order_not_found("fr") == messages.order_not_found("en")


def test_pending_review_says_the_order_is_paused(messages: Messages) -> None:
    text = messages.request_status("en", RequestKind.CANCELLATION, RequestStatus.PENDING_REVIEW)
    assert "paused" in text


def test_declined_request_of_another_kind_gets_a_declined_text(messages: Messages) -> None:
    text = messages.request_status("en", RequestKind.NOT_RECEIVED, RequestStatus.DECLINED)
    assert "couldn't" in text


@pytest.mark.parametrize(
    ("locale", "written"),
    [
        ("en", "Dec 4, 2026 at 1:10\u202fPM CET"),  # CLDR: a narrow no-break space
        ("nb", "4. des. 2026 kl. 13:10 CET"),
        ("da", "4. dec. 2026 kl. 13.10 CET"),
        ("nl", "4 dec 2026 om 13:10 CET"),
    ],
)
def test_dates_are_to_the_minute_in_the_shops_zone_with_the_zone(
    messages: Messages, locale: str, written: str
) -> None:
    moment = datetime(2026, 12, 4, 12, 10, 6, tzinfo=UTC)
    text = messages.not_eligible(
        locale, EligibilityReason.TOO_EARLY, zone=OSLO, available_from=moment
    )
    assert written in text
    assert ":06" not in text


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("until", [None, MAY_17])
def test_a_closed_window_does_not_claim_the_order_is_being_prepared(
    messages: Messages, locale: str, until: datetime | None
) -> None:
    text = messages.not_eligible(locale, EligibilityReason.WINDOW_CLOSED, zone=OSLO, until=until)
    for claim in ("prepared", "klar for sending", "klar til afsendelse", "klaar voor verzending"):
        assert claim not in text
