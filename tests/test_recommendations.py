"""おすすめ求人: weekly, matched set-wise, never twice, within quiet hours and the quota, restart-safe."""
from __future__ import annotations

import datetime as dt
import json
import logging
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select, update

from bot import messages, recommendations, scheduler, staff_recommendations
from bot.models import Job, OutboxMessage, Preferences, RecommendationMark, RecommendedJob, SavedSearch, User
from bot.line.limits import LimitError
from bot.models.outbox import MERGED
from bot.router import encode_postback
from tests.factories import add_jobs, job
from tests.test_broadcasts import people
from tests.test_dispatcher import dispatch

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = dt.datetime(2026, 11, 30, 9, 0, tzinfo=TOKYO)
NEXT_MONDAY = MONDAY + dt.timedelta(days=7)
FRESH = dt.date(2026, 11, 27)  # within the first run's week
OMURA, HASAMI = "42205", "42323"


def jobs_at(db, when, *rows):
    with time_machine.travel(when, tick=False):
        return add_jobs(db, *rows)


def run(app, when=MONDAY):
    with time_machine.travel(when, tick=False):
        return recommendations.run(app.extensions["bot"])


def user_id(db, line_user_id):
    with db.session() as s:
        return s.scalar(select(User.id).where(User.line_user_id == line_user_id))


def save(db, line_user_id, *conditions):
    uid = user_id(db, line_user_id)
    with db.session() as s:
        s.add_all(SavedSearch(user_id=uid, slot=i + 1, name=f"条件{i + 1}", conditions=c)
                  for i, c in enumerate(conditions))


def sent(db, line_user_id) -> list[str]:
    """Job numbers recommended to someone, in carousel order, over all their pushes and multicasts."""
    with db.session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.status != MERGED,
                                                     OutboxMessage.source.like("recommend:%"))
                         .order_by(OutboxMessage.id)).all()
        numbers = []
        for row in rows:
            if line_user_id not in row.recipients:
                continue
            assert row.topic == "recommendations"
            [message] = row.payload["messages"]
            numbers += numbers_in(message)
        return numbers


def numbers_in(carousel: dict) -> list[str]:
    return [b["body"]["contents"][-1]["contents"][1]["text"] for b in carousel["contents"]["contents"][:-1]]


def test_saved_conditions_or_preferences_choose_the_jobs(app, db, emulator):
    care_omura = job(municipality_code=OMURA, occupation_major="E", received_on=FRESH)
    factory_omura = job(municipality_code=OMURA, occupation_major="H", received_on=FRESH - dt.timedelta(days=1))
    care_hasami = job(municipality_code=HASAMI, occupation_major="E", received_on=FRESH, wage_min=250000,
                      wage_max=300000)
    closed = job(municipality_code=OMURA, occupation_major="E", received_on=FRESH, status="無効")
    jobs_at(db, MONDAY - dt.timedelta(days=1), care_omura, factory_omura, care_hasami, closed)
    [searcher] = people(emulator, db, 1, municipality_code=HASAMI, interests=["K"])
    [by_prefs] = people(emulator, db, 1, municipality_code=OMURA, interests=["H"])
    [nothing_told] = people(emulator, db, 1)
    # care_omura matches both saved conditions and still comes once.
    save(db, searcher, {"occupation_major": "E"}, {"municipalities": [OMURA]})
    report = run(app)
    assert report.sent == 2 and report.nothing_new == 1
    # Newest received first, then the higher wage.
    assert sent(db, searcher) == [care_hasami["job_number"], care_omura["job_number"],
                                  factory_omura["job_number"]]
    assert sent(db, by_prefs) == [factory_omura["job_number"]]
    assert sent(db, nothing_told) == []


def test_never_twice_and_only_new_or_changed_since_the_last_run(app, db, emulator):
    first = job(municipality_code=OMURA, received_on=FRESH)
    old = job(municipality_code=OMURA, received_on=dt.date(2026, 11, 1))  # before the first week
    jobs_at(db, MONDAY - dt.timedelta(days=1), first, old)
    [friend] = people(emulator, db, 1, municipality_code=OMURA)
    run(app)
    assert sent(db, friend) == [first["job_number"]]
    assert run(app, MONDAY + dt.timedelta(hours=2)).sent == 0  # same run again: nothing doubled
    new = job(municipality_code=OMURA, received_on=dt.date(2026, 12, 3))
    # `first` and `old` are updated this week; only `old` was never recommended.
    jobs_at(db, NEXT_MONDAY - dt.timedelta(days=2), new, {**first, "wage_max": 230000},
            {**old, "days_off": "日曜"})
    run(app, NEXT_MONDAY)
    assert sent(db, friend) == [first["job_number"], new["job_number"], old["job_number"]]
    assert run(app, NEXT_MONDAY + dt.timedelta(days=7)).sent == 0  # nothing new: nothing sent
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_opted_out_blocked_and_stopped_friends_are_skipped(app, db, emulator):
    jobs_at(db, MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, received_on=FRESH))
    [wants] = people(emulator, db, 1, municipality_code=OMURA)
    [opted_out] = people(emulator, db, 1, municipality_code=OMURA, recommendations=False)
    [stopped] = people(emulator, db, 1, municipality_code=OMURA, stopped=True)
    [blocked] = people(emulator, db, 1, municipality_code=OMURA)
    with db.session() as s:
        s.execute(update(User).where(User.line_user_id == blocked).values(status="blocked"))
    assert run(app).sent == 1
    assert len(sent(db, wants)) == 1
    assert sent(db, opted_out) == sent(db, stopped) == sent(db, blocked) == []


def test_nothing_at_night(app, db, emulator, caplog):
    jobs_at(db, MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, received_on=FRESH))
    [friend] = people(emulator, db, 1, municipality_code=OMURA)
    caplog.set_level(logging.INFO, logger="bot.recommendations")
    for night in (MONDAY.replace(hour=21), MONDAY.replace(hour=7, minute=59)):
        assert run(app, night).quiet
    assert "quiet hours" in caplog.text
    assert sent(db, friend) == []
    assert run(app, MONDAY.replace(hour=8)).sent == 1


def test_nothing_new_sends_nothing(app, db, emulator):
    people(emulator, db, 2, municipality_code=OMURA)
    report = run(app)
    assert report.sent == 0 and report.nothing_new == 2
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_at_most_ten_newest_first(app, db, emulator):
    rows = [job(municipality_code=OMURA, received_on=FRESH - dt.timedelta(days=i % 5)) for i in range(13)]
    jobs_at(db, MONDAY - dt.timedelta(days=1), *rows)
    [friend] = people(emulator, db, 1, municipality_code=OMURA)
    run(app)
    numbers = sent(db, friend)
    by_number = {r["job_number"]: r for r in rows}
    assert len(numbers) == 10
    days = [by_number[n]["received_on"] for n in numbers]
    assert days == sorted(days, reverse=True)
    run(app, NEXT_MONDAY)  # the three left over are not "new" any more
    assert len(sent(db, friend)) == 10


def test_an_interrupted_run_finishes_without_doubles(app, db, emulator, monkeypatch):
    jobs_at(db, MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, received_on=FRESH),
            job(municipality_code=OMURA, received_on=FRESH))
    friends = people(emulator, db, 6, municipality_code=OMURA)
    monkeypatch.setattr(recommendations, "BATCH", 2)
    real_push, calls = recommendations.outbox.push_many, []

    def crashing_push(*args, **kw):
        calls.append(1)
        if len(calls) == 2:  # the second batch of two people
            raise RuntimeError("process killed")
        return real_push(*args, **kw)

    monkeypatch.setattr(recommendations.outbox, "push_many", crashing_push)
    with pytest.raises(RuntimeError):
        run(app)
    assert sum(1 for f in friends if sent(db, f)) == 2  # the first batch, whole; nothing of the second
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(RecommendationMark)) == 2
    monkeypatch.setattr(recommendations.outbox, "push_many", real_push)
    assert run(app, MONDAY + dt.timedelta(minutes=5)).sent == 4
    assert all(len(sent(db, f)) == 2 for f in friends)
    with time_machine.travel(MONDAY + dt.timedelta(minutes=6), tick=False):
        dispatch(app)
    assert all(len(emulator.messages_for(f)) == 1 for f in friends)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(RecommendedJob)) == 12


def test_a_person_another_run_got_to_first_is_left_out_and_the_rest_are_sent(app, db, emulator, monkeypatch):
    [listing] = jobs_at(db, MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, received_on=FRESH))
    friends = people(emulator, db, 3, municipality_code=OMURA)
    real_quota = recommendations.quota_left

    def another_run_writes_then_quota(line):
        # Between matching and queueing (the quota is asked in between), as a second clock could.
        with db.session() as other:
            other.add(RecommendedJob(user_id=user_id(db, friends[1]), job_id=other.scalar(
                select(Job.id).where(Job.job_number == listing["job_number"])), run_key="other",
                sent_at=MONDAY))
        return real_quota(line)

    monkeypatch.setattr(recommendations, "quota_left", another_run_writes_then_quota)
    assert run(app).sent == 2
    assert [bool(sent(db, f)) for f in friends] == [True, False, True]


def test_equal_carousels_go_out_as_one_multicast_and_opt_outs_still_hold(app, db, emulator):
    jobs_at(db, MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, received_on=FRESH),
            job(municipality_code=HASAMI, received_on=FRESH))
    omura = people(emulator, db, 5, municipality_code=OMURA)
    [hasami] = people(emulator, db, 1, municipality_code=HASAMI)
    save(db, omura[4], {"municipalities": [OMURA]})  # saved conditions: the same jobs, but another basis
    assert run(app).sent == 6
    turned_off = user_id(db, omura[1])
    with db.session() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert sorted((r.kind, len(r.recipients)) for r in rows) == [("multicast", 4), ("push", 1), ("push", 1)]
        s.execute(update(Preferences).where(Preferences.user_id == turned_off)
                  .values(recommendations=False))  # turned off after the run, before delivery
        s.execute(update(User).where(User.line_user_id == omura[2]).values(status="blocked"))
    with time_machine.travel(MONDAY + dt.timedelta(minutes=1), tick=False):
        dispatch(app)
    assert [len(emulator.messages_for(f)) for f in omura + [hasami]] == [1, 0, 0, 1, 1, 1]
    [first], [by_saved], [other] = (emulator.messages_for(f) for f in (omura[0], omura[4], hasami))
    assert numbers_in(first) == numbers_in(by_saved) != numbers_in(other)
    assert "保存した検索条件" in str(by_saved) and "保存した検索条件" not in str(first)
    [multicast] = emulator.records(endpoint="multicast")
    assert multicast["to"] == [omura[0], omura[3]]


def test_people_read_a_few_at_a_time_still_share_their_multicast(app, db, emulator, monkeypatch):
    # The run reads and matches CHUNK people at a time; who gets the same carousel is decided over all.
    monkeypatch.setattr(recommendations, "CHUNK", 2)
    jobs_at(db, MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, received_on=FRESH),
            job(municipality_code=HASAMI, received_on=FRESH))
    omura = people(emulator, db, 3, municipality_code=OMURA)
    [hasami] = people(emulator, db, 1, municipality_code=HASAMI)
    omura += people(emulator, db, 4, municipality_code=OMURA)
    [nothing_told] = people(emulator, db, 1)
    report = run(app)
    assert (report.sent, report.nothing_new) == (8, 1)
    with db.session() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert sorted((r.kind, len(r.recipients)) for r in rows) == [("multicast", 7), ("push", 1)]
        assert s.scalar(select(func.count()).select_from(RecommendationMark)) == 9
    assert sorted(next(r.recipients for r in rows if r.kind == "multicast")) == sorted(omura)
    assert len(sent(db, hasami)) == 1 and sent(db, nothing_told) == []
    assert run(app, NEXT_MONDAY).sent == 0  # everyone's window moved on, in every chunk


def test_jobs_staff_recommended_are_not_sent_again_weekly(app, db, emulator):
    staff_job, other = jobs_at(db, MONDAY - dt.timedelta(days=2), job(municipality_code=OMURA, received_on=FRESH),
                               job(municipality_code=OMURA, received_on=FRESH))
    [friend] = people(emulator, db, 1, municipality_code=OMURA)
    uid = user_id(db, friend)
    with time_machine.travel(MONDAY - dt.timedelta(days=1), tick=False), db.session() as s:
        listing = s.scalar(select(Job).where(Job.job_number == staff_job["job_number"]))
        staff_recommendations.send(s, "shokuin", [listing], [s.get(User, uid)],
                                   dt.date(2026, 12, 5), "", recommendations.utcnow())
    run(app)
    assert sent(db, friend) == [other["job_number"]]
    assert run(app, NEXT_MONDAY).sent == 0


def test_the_carousel_buttons_work(app, db, emulator, line):
    rows = jobs_at(db, MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, received_on=FRESH))
    friend = line.new_user()
    line.follow(friend)
    with db.session() as s:
        s.merge(Preferences(user_id=s.scalar(select(User.id).where(User.line_user_id == friend)),
                            events=True, training=True, recommendations=True, notices=True, stopped=False,
                            municipality_code=OMURA, interests=[]))
    before = len(line.received(friend))
    run(app)
    with time_machine.travel(MONDAY + dt.timedelta(minutes=1), tick=False):
        dispatch(app)
    [carousel] = line.received(friend)[before:]
    assert carousel["type"] == "flex" and "おすすめ求人" in carousel["altText"]
    buttons = {}
    for bubble in carousel["contents"]["contents"]:
        for b in bubble["footer"]["contents"]:
            buttons[b["action"]["label"]] = b["action"]["data"]
    assert line.tap(friend, buttons["詳しく見る"]).status_code == 200
    assert rows[0]["job_number"] in str(line.received(friend)[-1])
    line.tap(friend, buttons["もっと見る"])
    assert "求人" in str(line.received(friend)[-1])
    line.say(friend, "おすすめ求人")  # on request: the last recommendation again
    assert line.received(friend)[-1]["altText"].startswith("前回のおすすめ求人")
    line.tap(friend, buttons["配信を停止"])
    assert "おすすめ求人" in str(line.received(friend)[-1])
    with db.session() as s:
        assert s.scalar(select(Preferences.recommendations)) is False
    jobs_at(db, NEXT_MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, received_on=dt.date(2026, 12, 5)))
    assert run(app, NEXT_MONDAY).sent == 0


def test_the_quota_stops_sending_beyond_the_limit(app, db, emulator, caplog):
    jobs_at(db, MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, received_on=FRESH))
    friends = people(emulator, db, 5, municipality_code=OMURA)
    emulator.set_quota(2)
    report = run(app)
    assert (report.sent, report.skipped_quota) == (2, 3)
    assert "quota ran out" in caplog.text
    with time_machine.travel(MONDAY + dt.timedelta(minutes=1), tick=False):
        dispatch(app)
    assert sum(len(emulator.messages_for(f)) for f in friends) == 2
    # Those left out were not marked done: next month's quota lets them have the listing.
    emulator.set_quota(None)
    assert run(app, MONDAY + dt.timedelta(days=3)).sent == 3


def test_unknown_quota_sends_nothing_and_the_next_run_catches_up(app, db, emulator):
    jobs_at(db, MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, received_on=FRESH))
    [friend] = people(emulator, db, 1, municipality_code=OMURA)
    emulator.inject(endpoint="*", status=500, times=1)
    assert run(app).sent == 0
    assert sent(db, friend) == []
    assert run(app, MONDAY + dt.timedelta(hours=1)).sent == 1


def test_asking_before_any_recommendation_explains_them(line):
    friend = line.new_user()
    line.follow(friend)
    line.say(friend, "おすすめ求人")
    assert "毎週月曜日" in line.received(friend)[-1]["text"]
    line.say(friend, "おすすめ求人の配信停止")
    assert line.received(friend)[-1]["type"] == "flex"  # 配信設定


def test_declared_weekly_on_monday_morning():
    scheduler.load_jobs()
    spec = scheduler.JOBS["cron:weekly-recommendations"]
    assert spec.cron == {"day_of_week": recommendations.DAY_OF_WEEK, "hour": recommendations.HOUR, "minute": 0}


def test_more_runs_the_tapping_persons_own_conditions(app, db, line):
    jobs_at(db, MONDAY - dt.timedelta(days=1), job(municipality_code=OMURA, occupation_major="E", received_on=FRESH))
    friends = {}
    for name, interests in (("area", []), ("care", ["E"]), ("saved", [])):
        friends[name] = line.new_user()
        line.follow(friends[name])
        uid = user_id(db, friends[name])
        with db.session() as s:
            s.merge(Preferences(user_id=uid, events=True, training=True, recommendations=True, notices=True,
                                stopped=False, municipality_code=OMURA, interests=interests))
    save(db, friends["saved"], {"occupation_major": "E"}, {"municipalities": [HASAMI]})
    run(app)
    with time_machine.travel(MONDAY + dt.timedelta(minutes=1), tick=False):
        dispatch(app)
    carousels = {name: line.received(f)[-1] for name, f in friends.items()}
    assert carousels["area"] == carousels["care"]  # one carousel for both: nothing in it is theirs
    more = carousels["area"]["contents"]["contents"][-1]["footer"]["contents"][0]["action"]["data"]
    assert more == encode_postback("rec.more")
    line.tap(friends["area"], more)
    assert line.received(friends["area"])[-1]["altText"].endswith("(大村市)")
    line.tap(friends["care"], more)
    assert "(大村市・" in line.received(friends["care"])[-1]["altText"]
    line.tap(friends["saved"], more)  # two saved conditions: they choose which to run
    assert "保存した検索条件(2/3件)" in str(line.received(friends["saved"])[-1])


def test_carousels_put_together_from_checked_pieces_equal_the_templates_own(app, db):
    rows = jobs_at(db, MONDAY - dt.timedelta(days=1), *(job(municipality_code=OMURA, received_on=FRESH,
                                                            occupation=f"職種{i}") for i in range(4)))
    with db.session() as s:
        ids = [s.scalar(select(Job.id).where(Job.job_number == r["job_number"])) for r in rows]
        carousels = recommendations._Carousels(s, set(ids))
        for picks, by_prefs in (((ids[0], ids[1]), False), ((ids[2], ids[0]), False), ((ids[3], ids[1], ids[2]), True),
                                ((ids[1], ids[3]), True)):
            whole = messages.render_dicts("recommendations.json.j2", cards=[carousels.cards[i] for i in picks],
                                          basis=recommendations.BASIS[by_prefs])
            assert carousels(picks, by_prefs) == whole


def test_a_carousel_over_the_size_limit_is_refused_to_the_byte(app, db, monkeypatch):
    # Its size is summed from its pieces' sizes, not encoded again: the sum must be the encoding's, also
    # with a frame and bubbles measured for other carousels first.
    rows = jobs_at(db, MONDAY - dt.timedelta(days=1), *(job(municipality_code=OMURA, received_on=FRESH,
                                                            occupation=f"介護職員「夜勤あり」{i}" * (i + 1))
                                                        for i in range(10)))
    limit = recommendations.CAROUSEL_MAX_BYTES
    with db.session() as s:
        ids = tuple(s.scalar(select(Job.id).where(Job.job_number == r["job_number"])) for r in rows)

        def measured_before(then_limit: int):
            monkeypatch.setattr(recommendations, "CAROUSEL_MAX_BYTES", limit)
            carousels = recommendations._Carousels(s, set(ids))
            for other in (ids[:4], ids[6:], ids[1:2], ids[::-1]):  # other jobs, the tested lengths
                for basis in (False, True):
                    carousels(other, basis)
            monkeypatch.setattr(recommendations, "CAROUSEL_MAX_BYTES", then_limit)
            return carousels

        for picks, by_prefs in ((ids, False), (ids[:1], True), (ids[3:7], False)):
            [whole] = measured_before(limit)(picks, by_prefs)
            size = len(json.dumps(whole["contents"], ensure_ascii=False, separators=(",", ":")).encode())
            assert measured_before(size)(picks, by_prefs) == [whole]
            with pytest.raises(LimitError, match="50 KB or less"):
                measured_before(size - 1)(picks, by_prefs)
