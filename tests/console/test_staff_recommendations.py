"""おすすめ求人(職員から) in the console: the form, its errors, delivery to exactly the chosen people."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select, update

from bot import staff_recommendations
from bot.line.dispatcher import Dispatcher
from bot.models import AuditLog, OutboxMessage, RecommendedJob, StaffRecommendation, User, utcnow
from bot.models.user import BLOCKED
from bot.router import encode_postback
from tests.factories import add_jobs, job
from tests.test_dispatcher import dispatch

PATH = "/console/recommendations"
TOKYO = ZoneInfo("Asia/Tokyo")
DAY = dt.datetime(2026, 11, 25, 20, 45, tzinfo=TOKYO)  # not yet night; the console signs out after 30 idle minutes
NIGHT = dt.datetime(2026, 11, 25, 21, 10, tzinfo=TOKYO)


@pytest.fixture(autouse=True)
def daytime():
    """Office hours unless a test says otherwise: at night the pushes wait for the morning."""
    with time_machine.travel(DAY, tick=True):
        yield


def token(client):
    html = client.get(PATH).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def today():
    return utcnow().astimezone(TOKYO).date()


@pytest.fixture
def people(line, db):
    result = []
    for i in range(4):
        user = line.new_user(f"求職者{i}")
        line.follow(user)
        with db.session() as s:
            result.append((user, s.scalar(select(User.id).where(User.line_user_id == user))))
    return result


def post(client, **fields):
    data = {"csrf_token": token(client), "deadline": (today() + dt.timedelta(days=7)).isoformat(),
            "message": "", **fields}
    return client.post(PATH, data=data)


def test_the_page_shows_the_default_deadline(staff_client):
    page = staff_client.get(PATH).get_data(as_text=True)
    assert "応募期限日" in page and (today() + dt.timedelta(days=7)).isoformat() in page


def test_send_to_exactly_the_chosen_people(staff_client, app, line, db, people):
    add_jobs(db, job(job_number="42040-00008101", occupation="介護職員"), job(job_number="42040-00008102"))
    (a, a_id), (b, b_id), (off, off_id), (left_out, _) = people
    line.tap(off, encode_postback("settings.topic", t="recommendations", on="0"))
    answer = post(staff_client, jobs="4204000008101\n42040-00008102", users=f"{a_id}, #{b_id}\n{off_id}",
                  message="<script>alert(1)</script> ぜひ")
    assert answer.status_code == 302
    with db.session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.source.like("staffrec:%"))).all()
        assert len(rows) == 3 and {r.topic for r in rows} == {"recommendations"}
        assert s.scalar(select(AuditLog).where(AuditLog.action == "recommendation.send")) is not None
    before = {u: len(line.received(u)) for u, _ in people}
    dispatch(app)
    got = {u for u, _ in people if len(line.received(u)) > before[u]}
    assert got == {a, b}
    flex = line.received(a)[-1]
    assert flex["type"] == "flex" and "介護職員" in str(flex) and "<script>alert(1)</script> ぜひ" in str(flex)
    page = staff_client.get(PATH).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "3人" in page and "shokuin" in page


@pytest.mark.parametrize("jobs, users, days, message, error", [
    ("42040-99999999", None, 7, "", "見つからない求人番号: 42040-99999999"),
    ("CLOSED", None, 7, "", "募集が終了した求人: 42040-00008202"),
    ("abc", None, 7, "", "求人番号の形ではありません: abc"),
    ("", None, 7, "", "求人番号を入力してください"),
    (None, "999999", 7, "", "見つからない利用者番号: 999999"),
    (None, "BLOCKED", 7, "", "ブロック中の求職者"),
    (None, "", 7, "", "利用者番号を入力してください"),
    (None, None, -1, "", "今日以降の日付"),
    (None, None, 61, "", "60日以内"),
    (None, None, 7, "あ" * 501, "500文字以内"),
])
def test_bad_input_gets_a_clear_error_and_sends_nothing(staff_client, line, db, people, jobs, users, days,
                                                        message, error):
    add_jobs(db, job(job_number="42040-00008201"), job(job_number="42040-00008202", status="無効"))
    (_, uid), (_, blocked_id) = people[0], people[1]
    with db.session() as s:
        s.execute(update(User).where(User.id == blocked_id).values(status=BLOCKED))
    jobs = {"CLOSED": "42040-00008202"}.get(jobs, jobs) if jobs is not None else "42040-00008201"
    users = {"BLOCKED": str(blocked_id)}.get(users, users) if users is not None else str(uid)
    answer = post(staff_client, jobs=jobs, users=users, message=message,
                  deadline=(today() + dt.timedelta(days=days)).isoformat())
    assert answer.status_code == 200 and error in answer.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(StaffRecommendation)) is None and s.scalar(select(OutboxMessage)
                                                                           .where(OutboxMessage.source.like("staffrec:%"))) is None


def test_a_post_without_csrf_is_refused(staff_client, db, people):
    add_jobs(db, job(job_number="42040-00008301"))
    answer = staff_client.post(PATH, data={"jobs": "42040-00008301", "users": str(people[0][1]),
                                           "deadline": (today() + dt.timedelta(days=7)).isoformat()})
    assert answer.status_code == 400
    with db.session() as s:
        assert s.scalar(select(StaffRecommendation)) is None


def test_not_enough_quota_is_refused_with_the_numbers(staff_client, db, emulator, people):
    add_jobs(db, job(job_number="42040-00008401"))
    emulator.set_quota(1)
    answer = post(staff_client, jobs="42040-00008401", users=f"{people[0][1]}\n{people[1][1]}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "今月の残り配信可能数 1通" in page and "2通が必要" in page
    with db.session() as s:
        assert s.scalar(select(StaffRecommendation)) is None and s.scalar(select(RecommendedJob)) is None
    emulator.set_quota(None)
    assert post(staff_client, jobs="42040-00008401", users=f"{people[0][1]}\n{people[1][1]}").status_code == 302


def test_the_quota_is_asked_of_line_while_no_transaction_is_open(staff_client, db, people, locks_held,
                                                                 monkeypatch):
    """LINE's quota API may take seconds; no webhook event may wait for it behind a database lock."""
    add_jobs(db, job(job_number="42040-00008402"))
    asked, held = staff_recommendations.quota_left, []

    def quota_left(line):  # the real call to the emulator, with a look at the database first
        held.append(locks_held())
        return asked(line)

    monkeypatch.setattr(staff_recommendations, "quota_left", quota_left)
    assert post(staff_client, jobs="42040-00008402", users=str(people[0][1])).status_code == 302
    assert held == [0]
    with db.session() as s:
        assert s.scalar(select(StaffRecommendation)) is not None


def test_at_night_it_waits_for_the_morning_and_staff_are_told_when(staff_client, app, line, db, people):
    add_jobs(db, job(job_number="42040-00008501"))
    (user, uid) = people[0]
    with time_machine.travel(NIGHT, tick=False):
        tonight = post(staff_client, jobs="42040-00008501", users=str(uid), deadline=NIGHT.date().isoformat())
        assert "応募期限日は11月26日以降" in tonight.get_data(as_text=True)
        answer = post(staff_client, jobs="42040-00008501", users=str(uid),
                      deadline=(NIGHT.date() + dt.timedelta(days=7)).isoformat())
        assert answer.status_code == 302
        assert "11月26日 8:00に送信します" in staff_client.get(PATH).get_data(as_text=True)
        before = len(line.received(user))
        worker = Dispatcher(app.extensions["bot"])
        try:
            assert worker.run_once() == 0  # nothing due tonight
        finally:
            worker.close()
        assert len(line.received(user)) == before
    with db.session() as s:
        [row] = s.scalars(select(OutboxMessage).where(OutboxMessage.source.like("staffrec:%"))).all()
        assert row.next_attempt_at == dt.datetime(2026, 11, 26, 8, 0, tzinfo=TOKYO)
        assert s.scalar(select(RecommendedJob.run_key).where(RecommendedJob.user_id == uid)).startswith("staff:")
    with time_machine.travel(dt.datetime(2026, 11, 26, 8, 0, 30, tzinfo=TOKYO), tick=False):
        dispatch(app)
    assert len(line.received(user)) == before + 1 and "応募期限日" in str(line.received(user)[-1])
