"""The booking deadline and window, checked against the worked examples in docs/booking.md."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.booking import rules as booking_rules
from bot.booking import service
from bot.booking.rules import Rules, can_book, deadline
from bot.models import ConsultationSlot

DOC = Path(__file__).resolve().parents[1] / "docs" / "booking.md"
ROW = re.compile(r"^\|[^|]+\| (\d{4}-\d\d-\d\d) \((.)\) \| (\d{4}-\d\d-\d\d) \((.)\) \|", re.M)
JST = dt.timezone(dt.timedelta(hours=9))


def documented_examples() -> list[tuple[dt.date, dt.date]]:
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    examples = []
    for day, day_name, last, last_name in rows:
        day, last = dt.date.fromisoformat(day), dt.date.fromisoformat(last)
        # The weekday names written in the document are right too.
        assert booking_rules.WEEKDAY_NAMES[day.weekday()] == day_name
        assert booking_rules.WEEKDAY_NAMES[last.weekday()] == last_name
        examples.append((day, last))
    return examples


def test_the_document_has_every_kind_of_example():
    text = DOC.read_text(encoding="utf-8")
    assert len(documented_examples()) >= 10
    for scene in ("ふつうの週", "月曜が祝日", "ゴールデンウィーク", "年始"):
        assert scene in text


@pytest.mark.parametrize("day, last", documented_examples(), ids=str)
def test_documented_deadlines(day, last):
    assert deadline(day) == last


@pytest.mark.parametrize("day, last", [
    (dt.date(2026, 12, 2), dt.date(2026, 11, 30)),    # normal week
    (dt.date(2027, 1, 13), dt.date(2027, 1, 8)),      # Monday holiday (成人の日)
    (dt.date(2027, 5, 6), dt.date(2027, 4, 28)),      # Golden Week
    (dt.date(2027, 1, 6), dt.date(2027, 1, 4)),       # after the New Year closure
    (dt.date(2027, 1, 5), dt.date(2026, 12, 28)),     # across the New Year closure
])
def test_deadline_examples(day, last):
    assert deadline(day) == last


def test_a_staff_closure_moves_the_deadline():
    assert deadline(dt.date(2026, 12, 3), {dt.date(2026, 12, 1)}) == dt.date(2026, 11, 30)


@pytest.mark.parametrize("today, bookable", [
    (dt.date(2026, 11, 3), False),   # more than four weeks ahead
    (dt.date(2026, 11, 4), True),    # opens four weeks before, at midnight
    (dt.date(2026, 11, 30), True),   # the deadline day itself, until midnight
    (dt.date(2026, 12, 1), False),   # the day after the deadline
])
def test_window_around_a_normal_wednesday(today, bookable):
    assert can_book(dt.date(2026, 12, 2), today, Rules(), ()) is bookable


def test_holidays_have_no_consultations():
    assert not can_book(dt.date(2027, 5, 5), dt.date(2027, 4, 20), Rules(), ())
    assert not can_book(dt.date(2026, 12, 30), dt.date(2026, 12, 10), Rules(weekdays=(2,)), ())


def test_rules_parse_and_refuse_nonsense():
    assert booking_rules.parse_weekdays("4, 2,3") == (2, 3, 4)
    assert booking_rules.parse_times("15:00,10:00") == (dt.time(10), dt.time(15))
    for bad in ("", "7", "a"):
        with pytest.raises(ValueError):
            booking_rules.parse_weekdays(bad)
    for bad in ("", "25:00", "ten"):
        with pytest.raises(ValueError):
            booking_rules.parse_times(bad)


def test_slots_are_made_once_and_retired_when_the_rules_change(app, db):
    tz = app.extensions["bot"].settings.tz
    now = dt.datetime(2026, 11, 25, 10, tzinfo=JST)
    with db.session() as s:
        service.ensure_slots(s, Rules(), tz, now)
        service.ensure_slots(s, Rules(), tz, now)
        # 25 Nov to 23 Dec: Wednesdays to Fridays, three times each (the booking window, holidays included:
        # whether a day is open is decided when the slots are shown).
        assert s.scalar(select(func.count()).select_from(ConsultationSlot)) == 12 * 3
        service.ensure_slots(s, Rules(times=(dt.time(10),)), tz, now)
        live = s.scalar(select(func.count()).select_from(ConsultationSlot).where(ConsultationSlot.retired.is_(False)))
        assert live == 12
        shown = service.open_slots(s, Rules(times=(dt.time(10),)), frozenset(), tz, now)
        assert {booking_rules.label_time(x.starts_at, tz) for x in shown} == {"10:00"}
        assert shown[0].starts_at == dt.datetime(2026, 11, 27, 10, tzinfo=JST)


def test_a_closure_hides_that_day(app, db):
    tz = app.extensions["bot"].settings.tz
    now = dt.datetime(2026, 11, 25, 10, tzinfo=JST)
    with db.session() as s:
        shown = service.open_slots(s, Rules(), frozenset({dt.date(2026, 12, 2)}), tz, now)
    days = {booking_rules.local_day(x.starts_at, tz) for x in shown}
    assert dt.date(2026, 12, 2) not in days and dt.date(2026, 12, 3) in days
