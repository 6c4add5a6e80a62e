"""When consultations take place and when they can be booked.

The deadline (docs/booking.md has worked examples): 「相談日から起算して、開庁日で2日前まで」. Counting back
from the consultation day (not counted itself), the second office-open day is the last day on which a
booking can be made, changed or cancelled in LINE, until the end of that day, Japan time. Booking opens
`weeks_ahead` weeks before the consultation day, at midnight Japan time.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import office_calendar
from bot.models import BookingRules, Closure

DEADLINE_OPEN_DAYS = 2
WEEKDAY_NAMES = "月火水木金土日"


@dataclasses.dataclass(frozen=True)
class Rules:
    weekdays: tuple[int, ...] = (2, 3, 4)                      # Wednesday, Thursday, Friday
    times: tuple[dt.time, ...] = (dt.time(10), dt.time(11), dt.time(15))
    length_minutes: int = 30
    capacity: int = 1
    weeks_ahead: int = 4
    reminder_hour: int = 17
    max_upcoming: int = 1

    @classmethod
    def from_row(cls, row: BookingRules | None) -> Rules:
        if row is None:
            return cls()
        return cls(weekdays=parse_weekdays(row.weekdays), times=parse_times(row.times),
                   length_minutes=row.length_minutes, capacity=row.capacity, weeks_ahead=row.weeks_ahead,
                   reminder_hour=row.reminder_hour, max_upcoming=row.max_upcoming)


def parse_weekdays(raw: str) -> tuple[int, ...]:
    days = sorted({int(part) for part in raw.split(",") if part.strip()})
    if not days or any(not 0 <= d <= 6 for d in days):
        raise ValueError("weekdays must be 0-6")
    return tuple(days)


def parse_times(raw: str) -> tuple[dt.time, ...]:
    times = sorted({dt.time.fromisoformat(part.strip()) for part in raw.split(",") if part.strip()})
    if not times:
        raise ValueError("no times")
    return tuple(times)


def load(session: Session) -> Rules:
    return Rules.from_row(session.get(BookingRules, 1))


def closure_days(session: Session) -> frozenset[dt.date]:
    return frozenset(session.scalars(select(Closure.day)))


def deadline(day: dt.date, closures: Collection[dt.date] = ()) -> dt.date:
    """The last day (inclusive, Japan time) to book, change or cancel a consultation on `day`."""
    return office_calendar.open_days_before(day, DEADLINE_OPEN_DAYS, closures)


def opens_on(day: dt.date, rules: Rules) -> dt.date:
    return day - dt.timedelta(weeks=rules.weeks_ahead)


def local_day(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    return moment.astimezone(tz).date()


def can_book(day: dt.date, today: dt.date, rules: Rules, closures: Collection[dt.date]) -> bool:
    return (office_calendar.is_open(day, closures) and opens_on(day, rules) <= today
            and today <= deadline(day, closures))


def can_change(day: dt.date, today: dt.date, closures: Collection[dt.date]) -> bool:
    return today <= deadline(day, closures)


def window(today: dt.date, rules: Rules) -> tuple[dt.date, dt.date]:
    """First and last consultation day that could be bookable today (a superset: deadlines cut more)."""
    return today + dt.timedelta(days=1), today + dt.timedelta(weeks=rules.weeks_ahead)


def slot_times(day: dt.date, rules: Rules, tz: ZoneInfo) -> list[dt.datetime]:
    """The UTC start of every consultation the rules put on `day` (office closures aside)."""
    if day.weekday() not in rules.weekdays:
        return []
    return [dt.datetime.combine(day, t, tzinfo=tz).astimezone(dt.timezone.utc) for t in rules.times]


def label_day(day: dt.date) -> str:
    """「12月2日(水)」"""
    return f"{day.month}月{day.day}日({WEEKDAY_NAMES[day.weekday()]})"


def label_time(moment: dt.datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M")
