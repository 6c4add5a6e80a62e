"""Reminders the day before and one hour before, in Japan time, through the outbox to the emulator."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from sqlalchemy import select

from bot.booking import notify, service
from bot.models import Booking, BookingRules, ConsultationSlot, utcnow
from bot.scheduler import load_jobs
from tests.test_booking_line import JST, NOW, book_through_chat
from tests.test_dispatcher import dispatch
from tests.test_search_line import postbacks


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def run_reminders(app) -> int:
    services = app.extensions["bot"]
    with services.db.session() as session:
        queued = notify.queue_reminders(session, services.settings, utcnow())
    dispatch(app)
    return queued


def headings(line, user) -> list[str]:
    return [m["contents"]["header"]["contents"][1]["text"] for m in line.received(user) if m["type"] == "flex"]


def test_day_before_at_the_set_hour_then_one_hour_before(app, line, db, frozen):
    user = line.new_user()
    book_through_chat(line, user, day="11月27日(金)", time="10:00")
    frozen.move_to(dt.datetime(2026, 11, 26, 16, 59, tzinfo=JST))
    assert run_reminders(app) == 0
    frozen.move_to(dt.datetime(2026, 11, 26, 17, 0, tzinfo=JST))
    assert run_reminders(app) == 1
    assert headings(line, user)[-1] == notify.DAY_BEFORE
    assert run_reminders(app) == 0  # not twice
    frozen.move_to(dt.datetime(2026, 11, 27, 8, 59, tzinfo=JST))
    assert run_reminders(app) == 0
    frozen.move_to(dt.datetime(2026, 11, 27, 9, 0, tzinfo=JST))
    assert run_reminders(app) == 1
    assert headings(line, user)[-1] == notify.SOON
    assert "10:00から相談を始めます" in json.dumps(line.received(user)[-1], ensure_ascii=False)
    frozen.move_to(dt.datetime(2026, 11, 27, 9, 30, tzinfo=JST))
    assert run_reminders(app) == 0
    assert headings(line, user).count(notify.DAY_BEFORE) == 1 and headings(line, user).count(notify.SOON) == 1


def test_the_hour_comes_from_the_rules_and_the_job_is_declared(app, line, db, frozen):
    with db.session() as s:
        s.add(BookingRules(id=1, weekdays="2,3,4", times="10:00,11:00,15:00", length_minutes=30, capacity=1,
                           weeks_ahead=4, reminder_hour=12, max_upcoming=1))
    user = line.new_user()
    book_through_chat(line, user, day="12月2日(水)", time="15:00")
    frozen.move_to(dt.datetime(2026, 12, 1, 12, 0, tzinfo=JST))
    assert run_reminders(app) == 1
    assert "cron:booking-reminders" in load_jobs()


def test_no_reminder_after_a_cancellation_even_if_already_queued(app, line, db, frozen):
    user = line.new_user()
    _, done = book_through_chat(line, user, day="12月2日(水)", time="11:00")
    frozen.move_to(dt.datetime(2026, 12, 1, 17, 0, tzinfo=JST))  # day-before reminder queued, not sent
    services = app.extensions["bot"]
    with services.db.session() as session:
        assert notify.queue_reminders(session, services.settings, utcnow()) == 1
    before = len(line.received(user))
    with time_machine.travel(dt.datetime(2026, 11, 30, 12, 0, tzinfo=JST), tick=False):
        line.tap(user, postbacks(done)["予約を取り消す"])
        line.tap(user, postbacks(line.received(user)[-1])["取り消す"])
    assert "取り消しました" in line.received(user)[-1]["text"]
    dispatch(app)
    frozen.move_to(dt.datetime(2026, 12, 2, 10, 30, tzinfo=JST))
    assert run_reminders(app) == 0
    assert notify.DAY_BEFORE not in headings(line, user)[before:]


def test_a_late_clock_does_not_remind_after_the_start(app, line, db, frozen):
    user = line.new_user()
    book_through_chat(line, user, day="11月27日(金)", time="10:00")
    frozen.move_to(dt.datetime(2026, 11, 27, 10, 5, tzinfo=JST))
    assert run_reminders(app) == 0
    assert notify.SOON not in headings(line, user)


def test_new_meeting_details_are_sent(app, line, db, frozen):
    user = line.new_user()
    book_through_chat(line, user, day="12月3日(木)", time="10:00")
    services = app.extensions["bot"]
    with services.db.session() as session:
        booking = session.scalar(select(Booking))
        slot = session.get(ConsultationSlot, booking.slot_id)
        slot.zoom_url, slot.meeting_id, slot.passcode = "https://zoom.example.test/j/81234567890", "812 3456 7890", "omura1"
        assert notify.details_changed(session, [booking], services.settings, utcnow()) == 1
    dispatch(app)
    update = json.dumps(line.received(user)[-1], ensure_ascii=False)
    assert "参加方法(Zoom)のお知らせ" in update and "812 3456 7890" in update and "omura1" in update
    assert "https://zoom.example.test/j/81234567890" in update
    with services.db.session() as session:
        booking = session.scalar(select(Booking))
        assert service.meeting(booking)["passcode"] == "omura1"
