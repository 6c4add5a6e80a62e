"""The office calendar: weekends, national holidays (substitute and citizens' holidays), New Year."""
from __future__ import annotations

import datetime as dt

import pytest

from bot.office_calendar import is_open, next_open_day, open_days_before

D = dt.date


@pytest.mark.parametrize("day, expected", [
    (D(2026, 11, 25), True),    # an ordinary Wednesday
    (D(2026, 11, 28), False),   # Saturday
    (D(2026, 11, 29), False),   # Sunday
    (D(2026, 11, 3), False),    # 文化の日 (Tuesday)
    (D(2026, 11, 23), False),   # 勤労感謝の日 (Monday)
    (D(2026, 5, 6), False),     # 振替休日 of 憲法記念日
    (D(2026, 9, 22), False),    # 国民の休日 between 敬老の日 and 秋分の日
    (D(2026, 12, 28), True),    # the last open day of the year
    (D(2026, 12, 29), False), (D(2026, 12, 31), False), (D(2027, 1, 1), False), (D(2027, 1, 3), False),
    (D(2027, 1, 4), True),      # the first open day of the year (Monday)
])
def test_is_open(day, expected):
    assert is_open(day) is expected


def test_staff_closures_count_too():
    assert not is_open(D(2026, 11, 25), closures={D(2026, 11, 25)})


def test_open_days_before_skips_weekends_holidays_and_new_year():
    assert open_days_before(D(2026, 11, 27), 2) == D(2026, 11, 25)   # Fri -> Wed
    assert open_days_before(D(2026, 11, 25), 2) == D(2026, 11, 20)   # Wed -> Fri (23rd is a holiday)
    assert open_days_before(D(2027, 1, 5), 2) == D(2026, 12, 28)     # across the New Year closure
    assert open_days_before(D(2026, 5, 7), 2) == D(2026, 4, 30)      # across Golden Week


def test_next_open_day():
    assert next_open_day(D(2026, 12, 29)) == D(2027, 1, 4)
    assert next_open_day(D(2026, 11, 25)) == D(2026, 11, 25)
