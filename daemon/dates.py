"""Dates as people type them, read one way by the CLI, the API and the search window.

A date names a whole period: `2024` is the year, `2024-06` the month,
`2024-06-30` the day; a time (`2024-06-30T18:30`, `2024-06-30 18:30:05`, with
an optional zone such as `+02:00` or `Z`) names that moment. A filter reads
them as a half-open range: "after" starts at the first moment of its period,
"before" ends at the first moment of its period, so `--after 2023 --before
2024` is the year 2023; the window's inclusive "To" field asks for the end of
its period (`period_end`). Without a zone a date is local time. Bare numbers
other than a year are refused: "2023" must never be read as 2,023 seconds
after 1970, which is how a generic timestamp parser reads it.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone

from .errors import DateError

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
HOW = "write a year (2024), a month (2024-06), a day (2024-06-30) or a time (2024-06-30T18:30)"


def period_start(text: str) -> datetime:
    """The first moment of the period (or the moment) `text` names."""
    return _read(text)[0]


def period_end(text: str) -> datetime:
    """The first moment after the period `text` names (a moment names itself)."""
    return _read(text)[1]


def _read(text: str) -> tuple[datetime, datetime]:
    text = text.strip()
    match = _PERIOD.match(text)
    if match:
        year, month, day = int(match[1]), match[2], match[3]
        try:
            if day is not None:
                start = datetime(year, int(month), int(day))
                return start, start + timedelta(days=1)
            if month is not None:
                start = datetime(year, int(month), 1)
                days = calendar.monthrange(year, int(month))[1]
                return start, start + timedelta(days=days)
            return datetime(year, 1, 1), datetime(year + 1, 1, 1)
        except (ValueError, calendar.IllegalMonthError) as exc:
            raise DateError(f"“{text}” is not a date ({exc}); {HOW}") from None
    if re.fullmatch(r"[+-]?\d+(\.\d*)?", text):
        raise DateError(f"“{text}” is not a date (a number is not read as a timestamp); {HOW}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise DateError(f"“{text}” is not a date; {HOW}") from None
    return moment, moment


def unix_start(text: str | None) -> int | None:
    """The start of the period a date names, in unix seconds; a date without a zone is the user's local
    time."""
    if text is None:
        return None
    moment = period_start(text)
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp())


def iso(moment: float) -> str:
    """A moment (seconds since 1970) as the API and every `--json` write it: ISO 8601 in UTC, to the second
    (`2024-06-30T16:30:05Z`), the form the API's search results have."""
    return datetime.fromtimestamp(int(moment), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(text: str) -> float:
    """The moment an `iso` text names, as seconds since 1970."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
