"""Job look-up by number, the detail bubble, how to apply, and favourites (max 300)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update

from bot.models import Favorite, Job, User
from tests.factories import add_jobs, job
from tests.test_search_line import bubble_titles, last, postbacks


@pytest.fixture
def friend(line):
    user = line.new_user()
    line.follow(user)
    return user


@pytest.mark.parametrize("typed", ["42040-00123456", "4204000123456", "４２０４０－００１２３４５６",
                                   "求人番号 42040-00123456 を見たい"])
def test_typed_job_number_shows_the_detail(line, db, friend, typed):
    add_jobs(db, job(job_number="42040-00123456", occupation="介護職員", company_name="社会福祉法人みどり会"))
    line.say(friend, typed)
    detail = last(line, friend)
    assert detail["altText"] == "介護職員(社会福祉法人みどり会)"
    assert {"お気に入りに保存", "応募方法"} <= set(postbacks(detail))
    text = json.dumps(detail, ensure_ascii=False)
    assert "42040-00123456" in text and "募集中" in text


def test_longer_digit_strings_are_not_job_numbers(line, db, friend):
    line.say(friend, "4204000123456789")
    assert "読み取れませんでした" in last(line, friend)["text"]


def test_unknown_job_number(line, db, friend):
    line.say(friend, "42040-99999999")
    assert "見つかりませんでした" in last(line, friend)["text"]


def test_closed_job_says_so_and_offers_similar_open_ones(line, db, friend):
    add_jobs(db, job(job_number="42040-00000001", occupation="介護職員A", status="無効", occupation_major="E"),
             job(occupation="介護職員B", occupation_major="E"), job(occupation="一般事務", occupation_major="C"))
    line.say(friend, "42040-00000001")
    detail = last(line, friend)
    assert detail["altText"] == "募集終了: 介護職員A"
    assert "お気に入りに保存" not in postbacks(detail)
    assert bubble_titles(detail) == ["介護職員A", "介護職員B"]
    assert "募集を終了しました" in json.dumps(detail, ensure_ascii=False)


def test_how_to_apply_mentions_online_self_application_only_when_allowed(line, db, friend):
    add_jobs(db, job(job_number="42040-00000011", online_application=True),
             job(job_number="42040-00000012", online_application=False))
    line.tap(friend, "v=1&a=job.apply&j=42040-00000011")
    assert "オンライン自主応募" in json.dumps(last(line, friend), ensure_ascii=False)
    line.tap(friend, "v=1&a=job.apply&j=42040-00000012")
    assert "オンライン自主応募" not in json.dumps(last(line, friend), ensure_ascii=False)


def test_favourites_save_list_remove(line, db, friend):
    add_jobs(db, job(job_number="42040-00000021", occupation="看護師"),
             job(job_number="42040-00000022", occupation="調理補助"))
    for number in ("42040-00000021", "42040-00000022"):
        line.say(friend, number)
        line.tap(friend, postbacks(last(line, friend))["お気に入りに保存"])
    assert last(line, friend)["text"].startswith("お気に入りに保存しました(2/300件)")
    line.tap(friend, "v=1&a=fav.add&j=42040-00000022")
    assert "すでにお気に入りに保存されています" in last(line, friend)["text"]
    with db.session() as s:
        s.execute(update(Job).where(Job.job_number == "42040-00000021").values(status="無効"))
    line.say(friend, "お気に入り")
    listing = last(line, friend)
    assert listing["altText"] == "お気に入り(2件)"
    assert bubble_titles(listing) == ["調理補助", "看護師"]  # newest first
    statuses = [b["header"]["contents"][0]["text"] for b in listing["contents"]["contents"][:2]]
    assert statuses == ["募集中", "募集終了"]
    closed_bubble = json.dumps(listing["contents"]["contents"][1], ensure_ascii=False)
    assert "詳しく見る" not in closed_bubble and "お気に入りから削除" in closed_bubble
    line.tap(friend, "v=1&a=fav.remove&j=42040-00000021")
    assert "削除しました" in last(line, friend)["text"]
    line.tap(friend, "v=1&a=fav.remove&j=42040-00000021")
    assert "すでに削除されています" in last(line, friend)["text"]


def test_the_301st_favourite_is_refused_with_how_to_make_room(line, db, friend):
    add_jobs(db, *[job(job_number=f"42040-{i:08d}") for i in range(1, 302)])
    with db.session() as s:
        user = s.scalar(select(User).where(User.line_user_id == friend))
        ids = s.scalars(select(Job.id).order_by(Job.id).limit(300)).all()
        s.add_all(Favorite(user_id=user.id, job_id=i) for i in ids)
        user.favorite_count = 300
    line.tap(friend, "v=1&a=fav.add&j=42040-00000301")
    refusal = last(line, friend)["text"]
    assert "300件まで" in refusal and "削除してから" in refusal
    line.tap(friend, "v=1&a=fav.remove&j=42040-00000001")
    line.tap(friend, "v=1&a=fav.add&j=42040-00000301")
    assert "(300/300件)" in last(line, friend)["text"]


def test_the_database_refuses_a_301st_favourite_even_without_the_handler(db, line, friend):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with db.session() as s:
            s.execute(update(User).where(User.line_user_id == friend).values(favorite_count=301))


def test_parallel_saves_stop_at_300(app, line, db, friend):
    add_jobs(db, *[job(job_number=f"42040-{i:08d}") for i in range(1, 311)])
    with db.session() as s:
        user = s.scalar(select(User).where(User.line_user_id == friend))
        ids = s.scalars(select(Job.id).order_by(Job.id).limit(295)).all()
        s.add_all(Favorite(user_id=user.id, job_id=i) for i in ids)
        user.favorite_count = 295
    line.tap_at_once(app, [(friend, f"v=1&a=fav.add&j=42040-{i:08d}") for i in range(296, 311)])
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Favorite)) == 300
        assert s.scalar(select(User.favorite_count).where(User.line_user_id == friend)) == 300
    texts = [m["text"] for m in line.received(friend)[-15:]]
    assert sum("保存しました" in t for t in texts) == 5 and sum("300件まで" in t for t in texts) == 10


def test_favourites_paging(line, db, friend):
    add_jobs(db, *[job(job_number=f"42040-{i:08d}", occupation=f"仕事{i}") for i in range(1, 13)])
    for i in range(1, 13):
        line.tap(friend, f"v=1&a=fav.add&j=42040-{i:08d}")
    line.say(friend, "お気に入り")
    first = last(line, friend)
    assert len(bubble_titles(first)) == 10
    line.tap(friend, postbacks(first)["次の10件"])
    assert bubble_titles(last(line, friend)) == ["仕事2", "仕事1"]


def test_forged_favourite_postbacks(line, db, friend):
    line.tap(friend, "v=1&a=fav.add&j=42040-77777777")
    assert "見つかりませんでした" in last(line, friend)["text"]
    add_jobs(db, job(job_number="42040-00000031", status="無効"))
    line.tap(friend, "v=1&a=fav.add&j=42040-00000031")
    assert "募集を終了したため" in last(line, friend)["text"]
    line.tap(friend, "v=1&a=fav.list&p=999")
    assert "もう一度お選びください" in last(line, friend)["text"]
