"""配信設定 in LINE, and every push path honouring it (the dispatcher re-checks at send time)."""
from __future__ import annotations

import json

import pytest
from linebot.v3.messaging import TextMessage
from sqlalchemy import select

from bot.line import outbox
from bot.models import OutboxMessage, Preferences
from tests.test_dispatcher import dispatch
from tests.test_search_line import last, postbacks


@pytest.fixture
def friend(line):
    user = line.new_user()
    line.follow(user)
    return user


def rows_of(message):
    body = message["contents"]["body"]["contents"]
    return {box["contents"][0]["contents"][0]["text"]: box["contents"][0]["contents"][1]["text"]
            for box in body if box.get("layout") == "horizontal"}


def test_settings_show_and_toggle(line, db, friend):
    line.say(friend, "配信設定")
    shown = last(line, friend)
    assert rows_of(shown) == {"セミナー・事業所面談会": "受け取る", "職業訓練": "受け取る", "おすすめ求人": "受け取る",
                              "応募・相談予約のお知らせ": "受け取る"}
    line.tap(friend, "v=1&a=settings.topic&t=events&on=0")
    note, updated = line.received(friend)[-2:]
    assert note["text"] == "「セミナー・事業所面談会」の配信を停止しました。"
    assert rows_of(updated)["セミナー・事業所面談会"] == "停止中"
    line.tap(friend, postbacks(updated)["すべて停止する"])
    assert "すべてのお知らせの配信を停止しました" in line.received(friend)[-2]["text"]
    line.tap(friend, "v=1&a=settings.topic&t=training&on=1")
    assert "再開するまで届きません" in line.received(friend)[-2]["text"]
    line.tap(friend, "v=1&a=settings.stop&on=0")
    assert line.received(friend)[-2]["text"] == "お知らせの配信を再開しました。"
    with db.session() as s:
        prefs = s.scalar(select(Preferences))
        assert (prefs.events, prefs.training, prefs.stopped) == (False, True, False)


def test_area_and_interests(line, db, friend):
    line.tap(friend, "v=1&a=settings.ask_area")
    line.tap(friend, postbacks(last(line, friend))["波佐見町"])
    assert line.received(friend)[-2]["text"] == "お住まいの地域を「波佐見町」に設定しました。"
    line.tap(friend, "v=1&a=settings.interests")
    line.tap(friend, postbacks(last(line, friend))["サービス"])
    line.tap(friend, postbacks(last(line, friend))["製造・生産"])
    labels = list(postbacks(last(line, friend)))
    assert "✓ サービス" in labels and "✓ 製造・生産" in labels
    line.tap(friend, postbacks(last(line, friend))["✓ サービス"])
    assert "外しました" in line.received(friend)[-2]["text"]
    line.tap(friend, "v=1&a=settings.show")
    text = json.dumps(last(line, friend), ensure_ascii=False)
    assert "お住まいの地域: 波佐見町" in text and "関心のある職種: 製造・生産" in text


@pytest.mark.parametrize("data", ["v=1&a=settings.topic&t=everything&on=0", "v=1&a=settings.topic&t=events&on=2",
                                  "v=1&a=settings.area&m=13101", "v=1&a=settings.interest&o=Z"])
def test_forged_settings_postbacks_change_nothing(line, db, friend, data):
    line.tap(friend, data)
    assert "もう一度お選びください" in last(line, friend)["text"]
    with db.session() as s:
        assert s.scalar(select(Preferences)) is None


def test_dispatcher_skips_people_who_turned_the_topic_off(app, line, db, emulator):
    keen, tired, stopped = line.new_user(), line.new_user(), line.new_user()
    for user in (keen, tired, stopped):
        line.follow(user)
    line.tap(tired, "v=1&a=settings.topic&t=events&on=0")
    line.tap(stopped, "v=1&a=settings.stop&on=1")
    before = {u: len(line.received(u)) for u in (keen, tired, stopped)}
    with db.session() as s:
        outbox.push(s, [keen, tired, stopped], [TextMessage(text="セミナーのご案内")], topic="events")
        outbox.push(s, [keen, tired, stopped], [TextMessage(text="職業訓練のご案内")], topic="training")
        outbox.push(s, stopped, [TextMessage(text="お問い合わせへの回答")])  # no topic: always delivered
    dispatch(app)
    got = {u: [m.get("text") for m in line.received(u)[before[u]:]] for u in (keen, tired, stopped)}
    assert sorted(got[keen]) == ["セミナーのご案内", "職業訓練のご案内"]
    assert got[tired] == ["職業訓練のご案内"]
    assert got[stopped] == ["お問い合わせへの回答"]


def test_an_opt_out_after_queueing_still_counts(app, line, db):
    user = line.new_user()
    line.follow(user)
    with db.session() as s:
        outbox.push(s, user, [TextMessage(text="おすすめ求人")], topic="recommendations")
    line.tap(user, "v=1&a=settings.topic&t=recommendations&on=0")
    count = len(line.received(user))
    dispatch(app)
    assert len(line.received(user)) == count
    with db.session() as s:
        assert s.scalar(select(OutboxMessage.status).where(OutboxMessage.topic == "recommendations")) == "cancelled"
