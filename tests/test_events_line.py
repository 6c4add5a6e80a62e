"""セミナー・イベント in LINE: the carousel, registering while places remain, cancelling."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from sqlalchemy import func, select

from bot.models import Event, EventRegistration
from tests.test_search_line import last, postbacks

NOW = dt.datetime.now(dt.timezone.utc)


def add_event(db, **fields) -> int:
    values = dict(kind="セミナー", title="応募書類の書き方セミナー", body="履歴書と職務経歴書の書き方を学びます。",
                  starts_at=NOW + dt.timedelta(days=7), ends_at=NOW + dt.timedelta(days=7, hours=1, minutes=30),
                  place="ハローワーク大村 2階会議室", capacity=20, apply_method="line",
                  publish_from=NOW - dt.timedelta(days=1))
    values.update(fields)
    with db.session() as s:
        event = Event(**values)
        s.add(event)
        s.flush()
        return event.id


@pytest.fixture
def friend(line):
    user = line.new_user()
    line.follow(user)
    return user


def titles(message):
    return [b["header"]["contents"][1]["text"] for b in message["contents"]["contents"]]


def test_upcoming_events_carousel_and_training_filter(line, db, friend):
    add_event(db, title="面接対策セミナー", starts_at=NOW + dt.timedelta(days=3))
    add_event(db, title="事業所面談会(介護)", kind="事業所面談会", starts_at=NOW + dt.timedelta(days=5))
    add_event(db, title="介護職員初任者研修", kind="職業訓練", apply_method="link",
              apply_url="https://training.example.test/apply", starts_at=NOW + dt.timedelta(days=30))
    add_event(db, title="終わったセミナー", starts_at=NOW - dt.timedelta(days=1))
    add_event(db, title="未公開のセミナー", publish_from=NOW + dt.timedelta(days=1))
    add_event(db, title="中止したセミナー", cancelled=True)
    line.say(friend, "セミナー")
    carousel = last(line, friend)
    assert titles(carousel) == ["面接対策セミナー", "事業所面談会(介護)", "介護職員初任者研修"]
    text = json.dumps(carousel, ensure_ascii=False)
    assert "https://training.example.test/apply" in text and "定員20名・残り20名" in text
    line.say(friend, "職業訓練を探したい")
    assert titles(last(line, friend)) == ["介護職員初任者研修"]


def test_when_is_shown_in_japan_time(line, db, friend):
    start = dt.datetime(2030, 12, 4, 4, 30, tzinfo=dt.timezone.utc)  # 13:30 JST, a Wednesday
    add_event(db, starts_at=start, ends_at=start + dt.timedelta(hours=1, minutes=30))
    line.say(friend, "イベント")
    assert "日時: 12月4日(水) 13:30〜15:00" in json.dumps(last(line, friend), ensure_ascii=False)


def test_register_with_confirmation_then_cancel(line, db, friend):
    event_id = add_event(db, capacity=2)
    line.say(friend, "セミナー")
    line.tap(friend, postbacks(last(line, friend))["参加を申し込む"])
    confirm = last(line, friend)
    assert confirm["text"].startswith("次のイベントに申し込みますか?")
    line.tap(friend, postbacks(confirm)["申し込む"])
    done = last(line, friend)
    assert done["text"].startswith("お申し込みを受け付けました。")
    line.say(friend, "セミナー")
    text = json.dumps(last(line, friend), ensure_ascii=False)
    assert "お申し込み済みです" in text and "残り1名" in text
    line.tap(friend, f"v=1&a=event.join&e={event_id}&c=1")
    assert "すでにお申し込み済み" in last(line, friend)["text"]
    line.tap(friend, postbacks(done)["申し込みを取り消す"])
    line.tap(friend, postbacks(last(line, friend))["取り消す"])
    assert "取り消しました" in last(line, friend)["text"]
    line.tap(friend, f"v=1&a=event.cancel&e={event_id}&c=1")
    assert "すでに取り消されています" in last(line, friend)["text"]
    with db.session() as s:
        assert s.get(Event, event_id).registered_count == 0


def test_full_event_refuses_politely(line, db):
    event_id = add_event(db, capacity=1)
    first, second = line.new_user(), line.new_user()
    line.tap(first, f"v=1&a=event.join&e={event_id}&c=1")
    line.tap(second, f"v=1&a=event.join&e={event_id}&c=1")
    assert "満席になったため" in last(line, second)["text"]
    line.say(second, "セミナー")
    text = json.dumps(last(line, second), ensure_ascii=False)
    assert "満席" in text and "参加を申し込む" not in text


def test_fifty_parallel_registrations_for_ten_places(app, line, db):
    event_id = add_event(db, capacity=10)
    people = [line.new_user() for _ in range(50)]
    line.tap_at_once(app, [(p, f"v=1&a=event.join&e={event_id}&c=1") for p in people])
    with db.session() as s:
        assert s.get(Event, event_id).registered_count == 10
        assert s.scalar(select(func.count()).select_from(EventRegistration)) == 10
    answers = [line.received(p)[-1]["text"] for p in people]
    assert sum(a.startswith("お申し込みを受け付けました") for a in answers) == 10
    assert sum("満席" in a for a in answers) == 40


def test_stale_and_forged_postbacks(line, db, friend):
    past = add_event(db, starts_at=NOW + dt.timedelta(hours=1))
    line.tap(friend, f"v=1&a=event.join&e={past}&c=1")
    with time_machine.travel(NOW + dt.timedelta(hours=2)):
        line.tap(friend, f"v=1&a=event.cancel&e={past}&c=1")
        assert "取り消しはできません" in last(line, friend)["text"]
        line.tap(friend, f"v=1&a=event.join&e={past}&c=1")
        assert "受付を終了しました" in last(line, friend)["text"]
    line.tap(friend, "v=1&a=event.join&e=999999&c=1")
    assert "受付を終了しました" in last(line, friend)["text"]
    link_only = add_event(db, apply_method="link", apply_url="https://example.test/a")
    line.tap(friend, f"v=1&a=event.join&e={link_only}&c=1")
    assert "受付を終了しました" in last(line, friend)["text"]
    line.tap(friend, "v=1&a=event.join&e=abc")
    assert "もう一度お選びください" in last(line, friend)["text"]


def test_no_events(line, db, friend):
    line.say(friend, "訓練")
    assert "いま受付中の職業訓練はありません" in last(line, friend)["text"]
