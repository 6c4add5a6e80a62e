"""職員からのおすすめ求人 on LINE: the carousel, オンラインで紹介を希望 within the deadline, お気に入りに保存,
and refusals after the deadline, for a closed job, and for another person's item."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select, update

from bot import staff_recommendations
from bot.models import Application, Favorite, Job, StaffRecommendationItem, User, utcnow
from bot.models.application import ONLINE_REFERRAL
from bot.router import encode_postback
from tests.factories import add_jobs, job
from tests.test_dispatcher import dispatch

TOKYO = ZoneInfo("Asia/Tokyo")


def seekers(line, db, n):
    result = []
    for i in range(n):
        user = line.new_user(f"求職者{i}")
        line.follow(user)
        with db.session() as s:
            result.append((user, s.scalar(select(User.id).where(User.line_user_id == user))))
    return result


def recommend(db, numbers, user_ids, deadline, message="ぜひご検討ください。"):
    with db.session() as s:
        jobs = [s.scalar(select(Job).where(Job.job_number == n)) for n in numbers]
        users = [s.get(User, i) for i in user_ids]
        rec = staff_recommendations.send(s, "shokuin", jobs, users, deadline, message, utcnow())
        return rec.id


def items(db, user_id):
    with db.session() as s:
        return list(s.scalars(select(StaffRecommendationItem.id).where(StaffRecommendationItem.user_id == user_id)
                              .order_by(StaffRecommendationItem.id)))


def test_split_accepts_lines_commas_and_japanese_commas():
    assert staff_recommendations.split("42040-1\n 42040-2,42040-3、\n\n42040-4") == [
        "42040-1", "42040-2", "42040-3", "42040-4"]


def test_apply_within_the_deadline_records_one_online_referral(app, line, db):
    add_jobs(db, job(job_number="42040-00009101", occupation="介護職員"), job(job_number="42040-00009102"))
    [(user, uid)] = seekers(line, db, 1)
    today = utcnow().astimezone(TOKYO).date()
    recommend(db, ["42040-00009101", "42040-00009102"], [uid], today)
    dispatch(app)
    [carousel] = [m for m in line.received(user) if m.get("type") == "flex"]
    assert "応募期限日" in str(carousel) and "オンラインで紹介を希望" in str(carousel)
    assert len(carousel["contents"]["contents"]) == 3
    first, second = items(db, uid)
    line.tap(user, encode_postback("srec.apply", i=first))
    assert "受け付けました" in line.received(user)[-1]["text"]
    line.tap(user, encode_postback("srec.apply", i=first))
    assert "すでに応募" in line.received(user)[-1]["text"]
    with db.session() as s:
        [application] = s.scalars(select(Application)).all()
        assert application.route == ONLINE_REFERRAL and application.user_id == uid
    line.tap(user, encode_postback("srec.save", i=second))
    assert "お気に入りに保存しました" in line.received(user)[-1]["text"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Favorite).where(Favorite.user_id == uid)) == 1


def test_after_the_deadline_or_once_closed_nothing_is_recorded(app, line, db):
    add_jobs(db, job(job_number="42040-00009201"), job(job_number="42040-00009202"))
    [(user, uid)] = seekers(line, db, 1)
    deadline = dt.date(2026, 12, 10)
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, tzinfo=TOKYO), tick=False):
        recommend(db, ["42040-00009201", "42040-00009202"], [uid], deadline)
    first, second = items(db, uid)
    with time_machine.travel(dt.datetime(2026, 12, 11, 0, 1, tzinfo=TOKYO), tick=False):
        line.tap(user, encode_postback("srec.apply", i=first))
    assert "応募期限を過ぎたため" in line.received(user)[-1]["text"]
    with db.session() as s:
        s.execute(update(Job).where(Job.job_number == "42040-00009202").values(status="無効"))
    with time_machine.travel(dt.datetime(2026, 12, 10, 23, 59, tzinfo=TOKYO), tick=False):
        line.tap(user, encode_postback("srec.apply", i=second))
    assert "応募期限を過ぎたため" in line.received(user)[-1]["text"]
    with time_machine.travel(dt.datetime(2026, 12, 11, 9, 0, tzinfo=TOKYO), tick=False):
        line.tap(user, encode_postback("srec.save", i=first))
    assert "応募期限(2026年12月10日(木))を過ぎたため" in line.received(user)[-1]["text"]
    with db.session() as s:
        assert s.scalar(select(Application)) is None and s.scalar(select(Favorite)) is None


def test_the_last_day_of_the_deadline_still_counts(app, line, db):
    add_jobs(db, job(job_number="42040-00009301"))
    [(user, uid)] = seekers(line, db, 1)
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, tzinfo=TOKYO), tick=False):
        recommend(db, ["42040-00009301"], [uid], dt.date(2026, 12, 10))
    [item] = items(db, uid)
    with time_machine.travel(dt.datetime(2026, 12, 10, 23, 59, tzinfo=TOKYO), tick=False):
        line.tap(user, encode_postback("srec.apply", i=item))
    assert "受け付けました" in line.received(user)[-1]["text"]


@pytest.mark.parametrize("action", ["srec.apply", "srec.save"])
def test_another_persons_or_a_forged_item_is_not_found(app, line, db, action):
    add_jobs(db, job(job_number="42040-00009401", occupation="秘密の求人"))
    (owner, owner_id), (other, _) = seekers(line, db, 2)
    recommend(db, ["42040-00009401"], [owner_id], utcnow().astimezone(TOKYO).date())
    [item] = items(db, owner_id)
    for forged in (item, item + 1000):
        line.tap(other, encode_postback(action, i=forged))
        answer = line.received(other)[-1]["text"]
        assert "見つかりませんでした" in answer and "秘密の求人" not in answer
    with db.session() as s:
        assert s.scalar(select(Application)) is None and s.scalar(select(Favorite)) is None
