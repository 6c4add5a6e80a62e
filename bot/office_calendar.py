"""The office's calendar, one function for the whole code: is Hello Work Omura open on a day?

Open days are Monday to Friday, minus national holidays (jpholiday: substitute holidays and citizens'
holidays included), minus the year-end and New Year closure (29 December to 3 January), minus
closures staff enter (passed in as a set of dates by the caller that reads them).
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection

import jpholiday

# jpholiday works each day out from its rules (about 30 µs); the booking menu asks for a hundred days
# on every view. The answer for a date never changes within a process.
_is_holiday = functools.lru_cache(maxsize=4096)(jpholiday.is_holiday)

YEAR_END_FIRST = (12, 29)
NEW_YEAR_LAST = (1, 3)


def in_new_year_closure(day: dt.date) -> bool:
    return (day.month, day.day) >= YEAR_END_FIRST or (day.month, day.day) <= NEW_YEAR_LAST


def is_open(day: dt.date, closures: Collection[dt.date] = ()) -> bool:
    return (day.weekday() < 5 and not _is_holiday(day) and not in_new_year_closure(day)
            and day not in closures)


def open_days_before(day: dt.date, count: int, closures: Collection[dt.date] = ()) -> dt.date:
    """The open day that lies `count` open days before `day` (day itself not counted)."""
    current = day
    remaining = count
    while remaining:
        current -= dt.timedelta(days=1)
        if is_open(current, closures):
            remaining -= 1
    return current


def next_open_day(day: dt.date, closures: Collection[dt.date] = ()) -> dt.date:
    """`day` itself if open, else the first open day after it."""
    while not is_open(day, closures):
        day += dt.timedelta(days=1)
    return day
