"""Pure parsing of the times operators type on the command line: `yesterday`, `7d`, ISO dates."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo

_AGO = re.compile(r"^(\d{1,6})\s*(m|min|h|d|w)$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
TIME_FORMS = "now, today, yesterday, 30m, 24h, 7d, 2w, 2026-11-01 or 2026-11-01T14:00+01:00"


class TimeNotUnderstood(ValueError):
    """A time argument in none of the forms of TIME_FORMS."""


def parse_when(typed: str, *, now: datetime, zone: tzinfo) -> datetime:
    """The moment `typed` names, timezone-aware.

    `today` and `yesterday` are midnight in `zone` (the shop's), as is a bare date; `7d`,
    `24h`, `30m`, `2w` are that long before `now`; an ISO time without an offset is read in
    `zone` too.
    """
    text = typed.strip().lower()
    local_midnight = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
    if text == "now":
        return now
    if text == "today":
        return local_midnight
    if text == "yesterday":
        return local_midnight - timedelta(days=1)
    ago = _AGO.match(text)
    if ago:
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        parsed = datetime.fromisoformat(typed.strip())
    except ValueError:
        raise TimeNotUnderstood(f"{typed!r} is not a time; use one of: {TIME_FORMS}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)
