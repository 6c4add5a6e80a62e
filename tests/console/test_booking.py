"""Consultation bookings in the console: calendar, a day's bookings, meeting details, cancel on behalf,
attended / no-show, CSV, closures and rules; what people are told arrives at the emulator."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from sqlalchemy import select

from bot.models import AuditLog, Booking, Closure, ConsultationSlot
from bot.models.booking import ATTENDED, CANCELLED
from tests.console.conftest import STAFF_PASSWORD, csrf_token, signed_in_client
from tests.test_booking_line import JST, NOW, book_through_chat, quick_labels
from tests.test_dispatcher import dispatch
from tests.test_search_line import last

DAY = "/console/booking/day/2026-11-27"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def booked(line, db):
    """A person with a booking on Friday 27 November at 10:00."""
    person = line.new_user(name="予約 花子")
    line.follow(person)
    book_through_chat(line, person, note="=SUM(A1) 面接が不安です")
    with db.session() as s:
        booking = s.scalar(select(Booking))
        return {"user": person, "booking": booking.id, "slot": booking.slot_id}


def post(client, path, data, page=DAY):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def test_calendar_and_day_show_bookings(staff_client, booked):
    page = staff_client.get("/console/booking").get_data(as_text=True)
    assert "11月27日(金)" in page and "1 / 1" in page and "受付中(締切 11月25日(水))" in page
    day = staff_client.get(DAY).get_data(as_text=True)
    assert "予約 花子" in day and "面接の受け方" in day and "面接が不安です" in day and "予約中" in day


def test_slot_meeting_details_are_saved_and_sent(app, line, db, staff_client, booked):
    answer = post(staff_client, f"/console/booking/slots/{booked['slot']}/details",
                  {f"s{booked['slot']}-zoom_url": "http://zoom.example.test/j/1", f"s{booked['slot']}-meeting_id": "12"})
    page = answer.get_data(as_text=True)
    assert "https:// で始まる形で入力してください" in page and "ミーティングIDは数字" in page
    with db.session() as s:
        assert s.get(ConsultationSlot, booked["slot"]).zoom_url is None
    answer = post(staff_client, f"/console/booking/slots/{booked['slot']}/details",
                  {f"s{booked['slot']}-zoom_url": "https://zoom.example.test/j/81234567890",
                   f"s{booked['slot']}-meeting_id": "812 3456 7890", f"s{booked['slot']}-passcode": "omura"})
    assert answer.status_code == 302
    dispatch(app)
    sent = json.dumps(last(line, booked["user"]), ensure_ascii=False)
    assert "参加方法(Zoom)のお知らせ" in sent and "812 3456 7890" in sent and "omura" in sent
    line.say(booked["user"], "予約の確認")
    assert "https://zoom.example.test/j/81234567890" in json.dumps(last(line, booked["user"]), ensure_ascii=False)


def test_details_for_one_booking(app, line, db, staff_client, booked):
    b = booked["booking"]
    post(staff_client, f"/console/booking/bookings/{b}/details",
         {f"b{b}-zoom_url": "https://zoom.example.test/j/99999999999", f"b{b}-meeting_id": "99999999999"})
    dispatch(app)
    assert "99999999999" in json.dumps(last(line, booked["user"]), ensure_ascii=False)


def test_cancel_on_behalf_tells_the_person(app, line, db, staff_client, booked):
    answer = post(staff_client, f"/console/booking/bookings/{booked['booking']}/cancel", {"reason": "担当者の急病のため"})
    assert answer.status_code == 302
    dispatch(app)
    told = last(line, booked["user"])["text"]
    assert "取り消しとなりました" in told and "担当者の急病のため" in told and "0957-40-0032" in told
    with db.session() as s:
        booking = s.get(Booking, booked["booking"])
        assert booking.status == CANCELLED and booking.cancelled_by == "shokuin"
        assert booking.slot.booked_count == 0
        assert s.scalar(select(AuditLog).where(AuditLog.action == "booking.cancel")) is not None
    again = post(staff_client, f"/console/booking/bookings/{booked['booking']}/cancel", {})
    assert "取り消せません" in staff_client.get(again.headers["Location"]).get_data(as_text=True)


def test_attended_is_recorded_after_the_start(app, db, staff_client, staff_member, booked, frozen):
    answer = post(staff_client, f"/console/booking/bookings/{booked['booking']}/status", {"status": ATTENDED})
    assert "開始時刻のあと" in staff_client.get(answer.headers["Location"]).get_data(as_text=True)
    frozen.move_to(dt.datetime(2026, 11, 27, 10, 40, tzinfo=JST))
    client = signed_in_client(app, staff_member.login_id, STAFF_PASSWORD)
    post(client, f"/console/booking/bookings/{booked['booking']}/status", {"status": ATTENDED})
    with db.session() as s:
        assert s.get(Booking, booked["booking"]).status == ATTENDED
    answer = post(client, f"/console/booking/bookings/{booked['booking']}/status", {"status": "deleted"})
    assert "結果を選んでください" in answer.get_data(as_text=True)


def test_csv_of_a_day(staff_client, booked):
    answer = staff_client.get(DAY + ".csv")
    assert answer.mimetype == "text/csv"
    body = answer.data.decode("utf-8")
    assert body.startswith("\ufeff時刻,表示名,LINEユーザーID,相談内容")
    row = body.splitlines()[1]
    assert row.startswith("10:00,予約 花子,U") and "面接の受け方" in row
    assert ",'=SUM(A1) 面接が不安です," in row  # a formula is never run by Excel


def test_capacity_cannot_go_below_the_bookings(db, staff_client, booked):
    s_id = booked["slot"]
    page = post(staff_client, f"/console/booking/slots/{s_id}/capacity", {f"c{s_id}-capacity": "0"}).get_data(as_text=True)
    assert "それより少なくはできません" in page
    post(staff_client, f"/console/booking/slots/{s_id}/capacity", {f"c{s_id}-capacity": "3"})
    with db.session() as s:
        assert s.get(ConsultationSlot, s_id).capacity == 3


def test_a_closure_removes_the_day_from_line(line, db, staff_client, booked):
    page = "/console/booking/closures"
    answer = post(staff_client, page, {"day": "2026-12-02", "reason": "庁舎設備点検"}, page)
    assert answer.status_code == 302
    friend = line.new_user()
    line.say(friend, "相談を予約")
    assert "12月2日(水)" not in quick_labels(last(line, friend)) and "12月3日(木)" in quick_labels(last(line, friend))
    again = post(staff_client, page, {"day": "2026-12-02"}, page).get_data(as_text=True)
    assert "すでに閉庁日として登録されています" in again
    bad = post(staff_client, page, {"day": "12月2日"}, page).get_data(as_text=True)
    assert "日付は「2026-12-01」のように入力してください" in bad
    warned = staff_client.get(post(staff_client, page, {"day": "2026-11-27"}, page).headers["Location"])
    assert "すでに1件の予約があります" in warned.get_data(as_text=True)
    with db.session() as s:
        closure = s.scalar(select(Closure).where(Closure.day == dt.date(2026, 12, 2)))
    post(staff_client, f"/console/booking/closures/{closure.id}/delete", {}, page)
    line.say(friend, "相談を予約")
    assert "12月2日(水)" in quick_labels(last(line, friend))


def test_rules_change_what_line_offers(line, db, admin_client):
    page = "/console/admin/booking-rules"
    form = admin_client.get(page).get_data(as_text=True)
    assert 'value="10:00,11:00,15:00"' in form
    fields = {"weekdays": ["2", "4"], "times": "10:00", "length_minutes": "45", "capacity": "2", "weeks_ahead": "2",
              "reminder_hour": "18", "max_upcoming": "1"}
    bad = post(admin_client, page, {**fields, "times": "25:00", "weekdays": []}, page).get_data(as_text=True)
    assert "曜日を1つ以上選んでください" in bad and "24時間制" in bad
    assert post(admin_client, page, fields, page).status_code == 302
    friend = line.new_user()
    line.say(friend, "相談を予約")
    labels = quick_labels(last(line, friend))
    assert labels[:-1] == ["11月27日(金)", "12月2日(水)", "12月4日(金)", "12月9日(水)"]
    line.tap(friend, "v=1&a=booking.date&d=20261202")
    assert quick_labels(last(line, friend)) == ["10:00", "日付を選び直す"]
    line.say(friend, "相談")
    info = json.dumps(last(line, friend), ensure_ascii=False)
    assert "毎週水・金曜日" in info and "10時から各45分" in info
