"""The times operators type (`--since yesterday`), read as moments in the shop's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.command_input import TimeNotUnderstood, parse_when

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 12, 4, 12, 10, tzinfo=UTC)  # 13:10 in Oslo


def test_today_and_yesterday_are_midnight_in_the_shops_zone() -> None:
    assert parse_when("today", now=NOW, zone=OSLO) == datetime(2026, 12, 4, tzinfo=OSLO)
    assert parse_when("Yesterday", now=NOW, zone=OSLO) == datetime(2026, 12, 3, tzinfo=OSLO)


@pytest.mark.parametrize(
    ("typed", "ago"),
    [
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("now", timedelta()),
    ],
)
def test_durations_count_back_from_now(typed: str, ago: timedelta) -> None:
    assert parse_when(typed, now=NOW, zone=OSLO) == NOW - ago


def test_a_date_is_midnight_in_the_shops_zone() -> None:
    assert parse_when("2026-11-01", now=NOW, zone=OSLO) == datetime(2026, 11, 1, tzinfo=OSLO)


def test_an_iso_time_keeps_its_offset() -> None:
    moment = parse_when("2026-11-01T14:00+01:00", now=NOW, zone=UTC)
    assert moment == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["soon", "7 days ago", "", "-1d", "2026-13-01"])
def test_anything_else_names_the_forms_it_could_be(typed: str) -> None:
    with pytest.raises(TimeNotUnderstood, match="use one of: now, today, yesterday"):
        parse_when(typed, now=NOW, zone=OSLO)
