"""Dates as people type them: one reading for the CLI, the API and the search window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from photosift.daemon.dates import period_end, period_start
from photosift.daemon.errors import DateError


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2023", datetime(2023, 1, 1), datetime(2024, 1, 1)),
    ("2024-02", datetime(2024, 2, 1), datetime(2024, 3, 1)),
    ("2023-12", datetime(2023, 12, 1), datetime(2024, 1, 1)),
    ("2024-6-3", datetime(2024, 6, 3), datetime(2024, 6, 4)),
    (" 2024-06-30 ", datetime(2024, 6, 30), datetime(2024, 7, 1)),
    ("2024-06-30T18:30", datetime(2024, 6, 30, 18, 30), datetime(2024, 6, 30, 18, 30)),
    ("2024-06-30 18:30:05", datetime(2024, 6, 30, 18, 30, 5), datetime(2024, 6, 30, 18, 30, 5)),
])
def test_a_date_names_a_whole_period_and_a_time_a_moment(text: str, start: datetime, end: datetime) -> None:
    assert (period_start(text), period_end(text)) == (start, end)


def test_zones_are_kept_and_z_is_utc() -> None:
    assert period_start("2024-06-30T18:30:00Z") == datetime(2024, 6, 30, 18, 30, tzinfo=timezone.utc)
    plus_two = period_start("2024-06-30T18:30+02:00")
    assert plus_two.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(("text", "says"), [
    ("1700000000", "a number is not read as a timestamp"),  # what a generic parser takes for seconds since 1970
    ("2023.5", "a number is not read as a timestamp"),
    ("2024-13", "not a date (month must be in 1..12)"),
    ("2024-02-30", "not a date (day is out of range for month)"),
    ("24-01", "not a date"),
    ("yesterday", "not a date"),
    ("", "not a date"),
])
def test_what_is_not_a_date_says_how_to_write_one(text: str, says: str) -> None:
    with pytest.raises(DateError) as refused:
        period_start(text)
    assert says in str(refused.value) and "a month (2024-06)" in str(refused.value)
    assert refused.value.exit_code == 2 and isinstance(refused.value, ValueError)
