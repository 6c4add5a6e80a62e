"""Booking an online consultation in LINE, by signed webhooks, answers read at the emulator."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from sqlalchemy import delete, func, select

from bot.models import Booking, ConsultationSlot, Conversation, User
from bot.models.booking import BOOKED, CANCELLED
from tests.test_search_line import last, postbacks

JST = dt.timezone(dt.timedelta(hours=9))
# Wednesday 25 November 2026, 10:00 in Omura. Thursday 26th is already past its deadline (Tuesday 24th);
# Friday 27th can be booked until the end of today.
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=JST)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def friend(line):
    user = line.new_user()
    line.follow(user)
    return user


def quick_labels(message) -> list[str]:
    return [item["action"]["label"] for item in message.get("quickReply", {}).get("items", [])]


def text_of(message) -> str:
    return json.dumps(message, ensure_ascii=False)


def book_through_chat(line, user, day="11月27日(金)", time="10:00", topic="面接の受け方", note=None):
    line.say(user, "相談を予約")
    line.tap(user, postbacks(last(line, user))[day])
    line.tap(user, postbacks(last(line, user))[time])
    line.tap(user, postbacks(last(line, user))[topic])
    if note is None:
        line.tap(user, postbacks(last(line, user))["特になし"])
    else:
        line.say(user, note)
    summary = last(line, user)
    line.tap(user, postbacks(summary)["予約する"])
    return summary, last(line, user)


def slot_at(db, when: dt.datetime) -> ConsultationSlot:
    with db.session() as s:
        return s.scalar(select(ConsultationSlot).where(ConsultationSlot.starts_at == when))


def test_whole_flow_from_dates_to_confirmation(line, db, friend):
    line.say(friend, "相談を予約")
    dates = last(line, friend)
    labels = quick_labels(dates)
    # Only bookable days: not Thursday 26th (its deadline has passed), Wednesdays to Fridays, four weeks.
    assert labels[0] == "11月27日(金)" and "11月26日(木)" not in labels
    assert labels[1:4] == ["12月2日(水)", "12月3日(木)", "12月4日(金)"]
    assert labels[-1] == "カレンダーで選ぶ" and dates["quickReply"]["items"][-1]["action"]["type"] == "datetimepicker"
    line.tap(friend, postbacks(dates)["11月27日(金)"])
    assert quick_labels(last(line, friend)) == ["10:00", "11:00", "15:00", "日付を選び直す"]
    line.tap(friend, postbacks(last(line, friend))["11:00"])
    assert "どのようなご相談ですか" in last(line, friend)["text"]
    line.tap(friend, postbacks(last(line, friend))["応募書類の書き方"])
    assert "200文字以内" in last(line, friend)["text"]
    line.say(friend, "履歴書の志望動機について相談したいです")
    summary = text_of(last(line, friend))
    assert "この内容で予約しますか" in summary and "11月27日(金) 11:00〜11:30" in summary
    assert "応募書類の書き方" in summary and "志望動機" in summary
    line.tap(friend, postbacks(last(line, friend))["予約する"])
    done = text_of(last(line, friend))
    assert "ご予約を受け付けました" in done and "11月27日(金) 11:00〜11:30" in done
    assert "決まりしだい" in done and "開始10分前" in done and "Zoomアプリ" in done
    assert "11月25日(水)まで" in done  # change/cancel deadline: two open days before Friday
    with db.session() as s:
        booking = s.scalar(select(Booking))
        assert (booking.status, booking.topic, booking.note) == (BOOKED, "docs", "履歴書の志望動機について相談したいです")
        assert booking.slot.booked_count == 1
        assert booking.slot.starts_at == dt.datetime(2026, 11, 27, 11, tzinfo=JST)
        assert s.scalar(select(func.count()).select_from(Conversation)) == 0


def test_a_full_slot_is_not_offered_and_one_booking_per_person(line, db, friend):
    book_through_chat(line, friend)
    other = line.new_user()
    line.say(other, "相談を予約")
    line.tap(other, postbacks(last(line, other))["11月27日(金)"])
    assert quick_labels(last(line, other)) == ["11:00", "15:00", "日付を選び直す"]
    line.say(friend, "相談を予約")
    answers = line.received(friend)[-2:]
    assert "すでにご予約があります" in answers[0]["text"] and "ご予約内容" in text_of(answers[1])


def test_fifty_people_confirm_the_same_slot_at_once(app, line, db):
    people = [line.new_user() for _ in range(50)]
    first = people[0]
    line.say(first, "相談を予約")  # makes the slots
    slot = slot_at(db, dt.datetime(2026, 12, 2, 10, tzinfo=JST))
    with db.session() as s:
        s.execute(delete(Conversation))
        for person in people:
            user = s.scalar(select(User).where(User.line_user_id == person))
            if user is None:
                user = User(line_user_id=person, status="following")
                s.add(user)
                s.flush()
            s.add(Conversation(user_id=user.id, flow="booking", step="confirm",
                                 data={"slot": slot.id, "topic": "search"},
                                 expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)))
    statuses = line.tap_at_once(app, [(p, f"v=1&a=booking.confirm&s={slot.id}") for p in people])
    assert statuses == [200] * 50
    with db.session() as s:
        assert s.get(ConsultationSlot, slot.id).booked_count == 1
        assert s.scalar(select(func.count()).select_from(Booking)) == 1
    answers = [text_of(line.received(p)[-1]) for p in people]
    assert sum("ご予約を受け付けました" in a for a in answers) == 1
    taken = [line.received(p)[-1] for p in people if "たったいま別の方のご予約で埋まりました" in text_of(line.received(p)[-1])]
    assert len(taken) == 49
    # They are offered the next free days straight away.
    assert all("12月2日(水)" in quick_labels(m) for m in taken)


def test_change_to_another_time_and_cancel(line, db, friend):
    _, done = book_through_chat(line, friend, note="面接の練習をしたい")
    line.tap(friend, postbacks(done)["予約を変更する"])
    assert "変更先の日時" in last(line, friend)["text"]
    line.tap(friend, postbacks(last(line, friend))["12月3日(木)"])
    line.tap(friend, postbacks(last(line, friend))["15:00"])
    summary = last(line, friend)
    assert "この日時に変更しますか" in text_of(summary) and "面接の練習をしたい" in text_of(summary)
    line.tap(friend, postbacks(summary)["変更する"])
    changed = last(line, friend)
    assert "ご予約を変更しました" in text_of(changed) and "12月3日(木) 15:00〜15:30" in text_of(changed)
    assert slot_at(db, dt.datetime(2026, 11, 27, 10, tzinfo=JST)).booked_count == 0
    assert slot_at(db, dt.datetime(2026, 12, 3, 15, tzinfo=JST)).booked_count == 1
    line.say(friend, "予約の確認")
    mine = last(line, friend)
    assert "12月3日(木) 15:00" in text_of(mine)
    line.tap(friend, postbacks(mine)["予約を取り消す"])
    assert "取り消しますか" in last(line, friend)["text"]
    line.tap(friend, postbacks(last(line, friend))["取り消す"])
    assert "取り消しました" in last(line, friend)["text"]
    assert slot_at(db, dt.datetime(2026, 12, 3, 15, tzinfo=JST)).booked_count == 0
    with db.session() as s:
        assert sorted(b.status for b in s.scalars(select(Booking))) == [CANCELLED, CANCELLED]
    line.say(friend, "予約の確認")
    assert "ご予約はありません" in last(line, friend)["text"]


def test_after_the_deadline_the_phone_number_is_given(line, db, friend, frozen):
    _, done = book_through_chat(line, friend)
    frozen.move_to(dt.datetime(2026, 11, 26, 9, 0, tzinfo=JST))  # Thursday: past Wednesday's deadline
    line.tap(friend, postbacks(done)["予約を取り消す"])
    answer = last(line, friend)
    assert "11月25日(水)で終了しました" in answer["text"] and "0957-40-0032" in answer["text"]
    line.say(friend, "予約の確認")
    assert "予約を取り消す" not in text_of(last(line, friend)) and "電話する" in text_of(last(line, friend))
    assert slot_at(db, dt.datetime(2026, 11, 27, 10, tzinfo=JST)).booked_count == 1


def test_a_flow_left_midway_expires_and_says_so(line, db, friend, frozen):
    line.say(friend, "相談を予約")
    line.tap(friend, postbacks(last(line, friend))["12月2日(水)"])
    times = last(line, friend)
    frozen.shift(dt.timedelta(minutes=31))
    line.tap(friend, postbacks(times)["10:00"])
    assert "時間が経ったため" in last(line, friend)["text"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Booking)) == 0


def test_stale_and_forged_postbacks_get_polite_answers(line, db, friend):
    summary, done = book_through_chat(line, friend)
    booking_id = int(postbacks(done)["予約を取り消す"].split("b=")[1])
    stranger = line.new_user()
    # Someone else's booking id: nothing about it is shown or changed.
    line.tap(stranger, f"v=1&a=booking.cancel&b={booking_id}&c=1")
    assert "すでに取り消されたか終了しています" in last(line, stranger)["text"]
    line.tap(stranger, f"v=1&a=booking.change&b={booking_id}")
    assert "11月27日" not in text_of(last(line, stranger))
    # The old summary's button after the booking was made.
    line.tap(friend, postbacks(summary)["予約する"])
    assert "時間が経ったため" in last(line, friend)["text"]
    # A past date, a date with no consultations, a malformed one, a taken slot.
    line.say(stranger, "相談を予約")
    line.tap(stranger, "v=1&a=booking.date&d=20200101")
    assert "予約できる時間がありません" in last(line, stranger)["text"]
    line.tap(stranger, "v=1&a=booking.date&d=20261301")
    assert "日付を読み取れませんでした" in last(line, stranger)["text"]
    taken = slot_at(db, dt.datetime(2026, 11, 27, 10, tzinfo=JST))
    line.tap(stranger, f"v=1&a=booking.slot&s={taken.id}")
    assert "ご予約いただけなくなりました" in last(line, stranger)["text"]
    line.tap(stranger, "v=1&a=booking.slot&s=99999")
    assert "ご予約いただけなくなりました" in last(line, stranger)["text"]
    line.tap(stranger, "v=1&a=booking.topic&t=hacking")
    assert "もう一度お選びください" in last(line, stranger)["text"]
    # A cancelled booking.
    line.tap(friend, f"v=1&a=booking.cancel&b={booking_id}&c=1")
    line.tap(friend, f"v=1&a=booking.cancel&b={booking_id}&c=1")
    assert "すでに取り消されたか終了しています" in last(line, friend)["text"]


def test_the_summary_of_an_older_choice_is_refused(line, db, friend):
    line.say(friend, "相談を予約")
    line.tap(friend, postbacks(last(line, friend))["12月2日(水)"])
    line.tap(friend, postbacks(last(line, friend))["10:00"])
    line.tap(friend, postbacks(last(line, friend))["その他"])
    line.tap(friend, postbacks(last(line, friend))["特になし"])
    old = last(line, friend)
    line.tap(friend, postbacks(old)["日時を選び直す"])
    line.tap(friend, postbacks(last(line, friend))["12月3日(木)"])
    line.tap(friend, postbacks(last(line, friend))["11:00"])
    line.tap(friend, postbacks(last(line, friend))["その他"])
    line.tap(friend, postbacks(last(line, friend))["特になし"])
    line.tap(friend, postbacks(old)["予約する"])
    assert "古くなっています" in last(line, friend)["text"]


def test_calendar_picker_and_a_long_note(line, db, friend):
    line.say(friend, "相談を予約")
    line.tap(friend, "v=1&a=booking.pick", params={"date": "2026-12-04"})
    assert "12月4日(金)の空いている時間" in last(line, friend)["text"]
    line.tap(friend, "v=1&a=booking.pick", params={"date": "2026-12-05"})
    assert "12月5日(土)は予約できる時間がありません" in last(line, friend)["text"]
    line.tap(friend, "v=1&a=booking.date&d=20261204")
    line.tap(friend, postbacks(last(line, friend))["15:00"])
    line.tap(friend, postbacks(last(line, friend))["雇用保険・手続き"])
    line.say(friend, "あ" * 201)
    assert "200文字以内でお願いします(いまは201文字です)" in last(line, friend)["text"]
    line.say(friend, "あ" * 200)
    line.tap(friend, postbacks(last(line, friend))["予約する"])
    assert "ご予約を受け付けました" in text_of(last(line, friend))


def test_quit_and_information(line, db, friend):
    line.say(friend, "相談を予約")
    line.tap(friend, "v=1&a=booking.quit")
    assert "中止しました" in last(line, friend)["text"]
    line.say(friend, "相談を予約")
    line.tap(friend, postbacks(last(line, friend))["12月2日(水)"])
    line.tap(friend, postbacks(last(line, friend))["10:00"])
    line.tap(friend, postbacks(last(line, friend))["その他"])
    line.say(friend, "やめる")
    assert "中止しました" in last(line, friend)["text"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Booking)) == 0
    line.tap(friend, "v=1&a=consult.info")
    info = postbacks(last(line, friend))
    assert info["相談を予約する"] == "v=1&a=booking.start" and info["予約の確認・変更・取消"] == "v=1&a=booking.mine"
