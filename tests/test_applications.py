"""応募状況: lists, 24-hour withdrawal checked at the tap, オンライン自主応募, and 翌々々月末日."""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select, update

from bot import applications
from bot.models import Application, Job, User
from tests.factories import add_jobs, job
from tests.test_search_line import last, postbacks

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def friend(line):
    user = line.new_user()
    line.follow(user)
    return user


def record(db, line_user_id, number, route, applied_at=NOW, status="応募中"):
    with db.session() as s:
        user = s.scalar(select(User).where(User.line_user_id == line_user_id))
        target = s.scalar(select(Job).where(Job.job_number == number))
        a = Application(user_id=user.id, job_id=target.id, route=route, status=status, applied_at=applied_at,
                        status_changed_at=applied_at, finished=status in ("採用", "不採用", "辞退", "取消"))
        s.add(a)
        s.flush()
        return a.id


def test_lists_active_and_finished(line, db, friend):
    add_jobs(db, job(job_number="42040-00000101", occupation="介護職員"),
             job(job_number="42040-00000102", occupation="一般事務"),
             job(job_number="42040-00000103", occupation="調理補助"))
    record(db, friend, "42040-00000101", "counter", NOW - dt.timedelta(days=2))
    record(db, friend, "42040-00000102", "self", NOW - dt.timedelta(hours=1))
    record(db, friend, "42040-00000103", "online", NOW - dt.timedelta(days=30), status="不採用")
    line.say(friend, "応募状況")
    active = last(line, friend)
    assert active["altText"] == "応募中の求人(2件)"
    text = json.dumps(active, ensure_ascii=False)
    assert text.index("一般事務") < text.index("介護職員")  # newest first
    assert list(postbacks(active)).count("応募を取り消す") == 1  # only the online one within 24 h
    line.tap(friend, postbacks(active)["選考が終わった求人"])
    done = last(line, friend)
    assert done["altText"] == "選考が終わった求人(1件)" and "不採用" in json.dumps(done, ensure_ascii=False)


def test_withdrawal_is_checked_when_tapped(line, db, friend):
    add_jobs(db, job(job_number="42040-00000301"), job(job_number="42040-00000302"),
             job(job_number="42040-00000303"))
    fresh = record(db, friend, "42040-00000301", "self", NOW - dt.timedelta(hours=23, minutes=50))
    record(db, friend, "42040-00000302", "online", NOW - dt.timedelta(hours=25))  # too old for a button
    counter = record(db, friend, "42040-00000303", "counter", NOW - dt.timedelta(hours=1))
    line.say(friend, "応募状況")
    button = postbacks(last(line, friend))["応募を取り消す"]
    # The button was drawn within the 24 hours; the tap comes 20 minutes later.
    with time_machine.travel(NOW + dt.timedelta(minutes=20)):
        line.tap(friend, button)
        assert "24時間を過ぎているため" in last(line, friend)["text"]
    line.tap(friend, button)
    line.tap(friend, postbacks(last(line, friend))["取り消す"])
    assert "取り消しました" in last(line, friend)["text"]
    with db.session() as s:
        assert s.get(Application, fresh).status == "取消" and s.get(Application, fresh).finished
    line.tap(friend, f"v=1&a=app.withdraw&i={fresh}&c=1")
    assert "すでに取り消された" in last(line, friend)["text"]
    line.tap(friend, f"v=1&a=app.withdraw&i={counter}&c=1")
    assert "窓口で紹介を受けた応募" in last(line, friend)["text"]


def test_someone_elses_application_is_not_found(line, db, friend):
    add_jobs(db, job(job_number="42040-00000401"))
    other = line.new_user()
    line.follow(other)
    theirs = record(db, other, "42040-00000401", "self")
    line.say(friend, "応募状況")
    line.tap(friend, f"v=1&a=app.withdraw&i={theirs}&c=1")
    assert "見つかりませんでした" in last(line, friend)["text"]
    with db.session() as s:
        assert s.get(Application, theirs).status == "応募中"


def test_online_self_application_with_notice_once(line, db, friend):
    add_jobs(db, job(job_number="42040-00000501", online_application=True, occupation="販売スタッフ"),
             job(job_number="42040-00000502", online_application=False))
    line.tap(friend, "v=1&a=job.apply&j=42040-00000501")
    line.tap(friend, postbacks(last(line, friend))["オンライン自主応募をする"])
    notice = last(line, friend)
    assert "ハローワークの紹介ではなく" in notice["text"]
    line.tap(friend, postbacks(notice)["応募する"])
    assert "応募を受け付けました" in last(line, friend)["text"]
    line.tap(friend, postbacks(notice)["応募する"])
    assert "すでに応募しています" in last(line, friend)["text"]
    line.tap(friend, "v=1&a=app.self&j=42040-00000502&c=1")
    assert "受け付けていません" in last(line, friend)["text"]
    with db.session() as s:
        assert len(s.scalars(select(Application)).all()) == 1


@pytest.mark.parametrize("closed_on, last_day", [
    (dt.date(2026, 11, 15), dt.date(2027, 2, 28)),   # across a year end
    (dt.date(2027, 11, 30), dt.date(2028, 2, 29)),   # into a leap February
    (dt.date(2026, 1, 31), dt.date(2026, 4, 30)),
    (dt.date(2026, 10, 1), dt.date(2027, 1, 31)),
    (dt.date(2026, 12, 31), dt.date(2027, 3, 31)),
])
def test_end_of_third_month_after(closed_on, last_day):
    assert applications.end_of_third_month_after(closed_on) == last_day


def test_daily_job_moves_applications_of_long_closed_jobs(app, line, db, friend):
    add_jobs(db, job(job_number="42040-00000601"))
    application = record(db, friend, "42040-00000601", "counter", dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc))
    closed_at = dt.datetime(2026, 11, 15, 3, 0, tzinfo=dt.timezone.utc)
    with db.session() as s:
        s.execute(update(Job).where(Job.job_number == "42040-00000601").values(status="無効",
                                                                            status_changed_at=closed_at))
    services = app.extensions["bot"]
    # 2027-02-28 23:59 in Tokyo: still within the period.
    with time_machine.travel(dt.datetime(2027, 2, 28, 23, 59, tzinfo=TOKYO), tick=False):
        assert applications.finish_expired_job(services) == 0
    with time_machine.travel(dt.datetime(2027, 3, 1, 0, 1, tzinfo=TOKYO), tick=False):
        assert applications.finish_expired_job(services) == 1
    with db.session() as s:
        assert s.get(Application, application).finished
    line.tap(friend, "v=1&a=app.list&s=done")
    assert last(line, friend)["altText"] == "選考が終わった求人(1件)"
