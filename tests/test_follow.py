"""Follow, unfollow, re-follow, postbacks through the real webhook."""
from __future__ import annotations

from sqlalchemy import select

from bot.models import User
from handlers.follow import on_follow


def user_row(db, line_user_id):
    with db.session() as s:
        return s.scalar(select(User).where(User.line_user_id == line_user_id))


def test_follow_creates_the_user_with_profile_name_and_greets(line, db):
    user = line.new_user("大村 太郎")
    assert line.follow(user).status_code == 200
    row = user_row(db, user)
    assert row.display_name == "大村 太郎" and row.status == "following"
    greeting, privacy = line.received(user)
    assert greeting["text"].startswith("大村 太郎さん、はじめまして。ハローワーク大村")
    assert "https://hw-omura.test/privacy" in privacy["text"]
    labels = [item["action"]["label"] for item in privacy["quickReply"]["items"]]
    assert "マイページ" in labels and "使い方" in labels


def test_follow_works_when_the_profile_api_fails(line, emulator, db):
    user = line.new_user()
    emulator.inject({"endpoint": "profile", "status": 500, "times": 1})
    assert line.follow(user).status_code == 200
    assert user_row(db, user).display_name is None
    assert line.received(user)[0]["text"].startswith("はじめまして。")


def test_the_profile_is_asked_of_line_while_no_transaction_is_open(line, app, db, locks_held):
    """LINE's profile API may take up to the client's timeout to answer. Meanwhile no other event may
    wait for the follow: on SQLite every writer would queue behind its write lock."""
    client = app.extensions["bot"].line
    asked, held = client.display_name, []

    def display_name(user_id):  # the real call to the emulator, with a look at the database first
        held.append(locks_held())
        return asked(user_id)

    client.display_name = display_name
    user = line.new_user("大村 太郎")
    assert line.follow(user).status_code == 200
    assert held == [0]
    assert user_row(db, user).display_name == "大村 太郎"
    assert line.received(user)[0]["text"].startswith("大村 太郎さん、はじめまして。")


def test_a_failing_preparation_still_greets_and_is_logged(app, line, db, caplog):
    def boom(services, line_user_id):
        raise RuntimeError("profile store down")

    app.extensions["bot"].router.event("follow", prepare=boom)(on_follow)
    user = line.new_user("大村 太郎")
    assert line.follow(user).status_code == 200
    assert user_row(db, user).status == "following"
    assert line.received(user)[0]["text"].startswith("はじめまして。")
    assert "preparation failed" in caplog.text and "profile store down" in caplog.text


def test_unfollow_blocks_and_refollow_reactivates(line, emulator, db):
    user = line.new_user("諫早 次郎")
    line.follow(user)
    from simulator import webhook_events as ev
    assert line.post(ev.unfollow(user)).status_code == 200
    row = user_row(db, user)
    assert row.status == "blocked" and row.unfollowed_at is not None
    line.follow(user)
    row = user_row(db, user)
    assert row.status == "following" and row.unfollowed_at is None
    assert "おかえりなさい" in line.received(user)[-2]["text"]


def test_message_from_unknown_friend_creates_them(line, db):
    user = line.new_user()
    line.say(user, "使い方")
    assert user_row(db, user).status == "following"


def test_follow_after_writing_first_keeps_the_row_and_takes_the_name(line, db):
    user = line.new_user("波佐見 花子")
    line.say(user, "使い方")  # LINE delivers a message of someone who has not followed (yet)
    first = user_row(db, user)
    assert first.display_name is None
    assert line.follow(user).status_code == 200
    row = user_row(db, user)
    assert row.id == first.id and row.display_name == "波佐見 花子" and row.status == "following"
    assert line.received(user)[-2]["text"].startswith("波佐見 花子さん、はじめまして。")


def test_stale_postback_is_answered_politely(line):
    user = line.new_user()
    for data in ["v=1&a=gone.away&j=42040-12345678", "v=0&a=help.show", "garbage", "v=1&a=help.show&x=1"]:
        assert line.tap(user, data).status_code == 200
    replies = line.received(user)
    assert len(replies) == 4
    assert all("もう一度お選びください" in r["text"] for r in replies)


def test_help_postback_and_keywords(line):
    user = line.new_user()
    line.tap(user, "v=1&a=help.show")
    line.say(user, "ＨＥＬＰ")
    line.say(user, "使い方を教えて")
    assert [m["altText"] for m in line.received(user)] == ["ハローワーク大村 LINE公式アカウントの使い方"] * 3
