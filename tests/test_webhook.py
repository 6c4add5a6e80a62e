"""POST /callback over HTTP: signatures, bad bodies, redelivery, failures, many events."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.models import ProcessedEvent, User
from simulator import webhook_events as ev


def count(db, model):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_signed_text_gets_a_reply_at_the_emulator(line, emulator, db):
    user = line.new_user()
    response = line.say(user, "使い方")
    assert response.status_code == 200
    [record] = emulator.records(endpoint="reply")
    assert record["to"] == [user]
    assert "使い方" in record["body"]["messages"][0]["altText"]
    assert count(db, ProcessedEvent) == 1


def test_the_webhook_neither_reads_nor_sets_cookies(app, line, client):
    # LINE sends no cookies: the webhook opens no session, while the staff console keeps its own.
    user = line.new_user()
    client.set_cookie("session", "not-a-signed-session")
    response = line.say(user, "使い方")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
    sign_in = client.get("/console/login")
    assert sign_in.status_code == 200 and "session=" in sign_in.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "x" * 44])
def test_missing_or_wrong_signature_is_400_and_nothing_happens(client, line, emulator, db, signature):
    user = line.new_user()
    body = ev.payload(ev.text(user, line.token(user), "使い方"))
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Line-Signature"] = signature
    response = client.post("/callback", data=body, headers=headers)
    assert response.status_code == 400
    assert emulator.records() == []
    assert count(db, ProcessedEvent) == 0 and count(db, User) == 0


def test_signature_of_another_secret_is_refused(line, emulator, db):
    user = line.new_user()
    body = ev.payload(ev.text(user, line.token(user), "使い方"))
    response = line.post(body=body, signature=ev.sign("f" * 32, body))
    assert response.status_code == 400
    assert emulator.records() == [] and count(db, User) == 0


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'{"events": {}}', b'{"events": [1]}',
                                  b'{"destination": "x"}', "\xff\xfe".encode("latin-1")])
def test_bad_bodies_are_400_without_rows(line, db, body):
    response = line.post(body=body)
    assert response.status_code == 400
    assert b"Traceback" not in response.data
    assert count(db, ProcessedEvent) == 0


def test_one_megabyte_body_is_refused(line, db):
    body = json.dumps({"events": [], "padding": "x" * (1024 * 1024)}).encode()
    assert line.post(body=body).status_code == 400
    assert count(db, ProcessedEvent) == 0


def test_empty_event_list_is_200_like_line_verify(line, emulator):
    # The LINE console's "Verify" button sends exactly this.
    assert line.post(body=b'{"destination":"U0","events":[]}').status_code == 200
    assert emulator.records() == []


def test_redelivered_event_is_processed_once(line, emulator, db):
    user = line.new_user()
    event = ev.text(user, line.token(user), "マイページ")
    assert line.post(event).status_code == 200
    again = {**event, "replyToken": line.token(user), "deliveryContext": {"isRedelivery": True}}
    assert line.post(again).status_code == 200
    assert len(emulator.records(endpoint="reply")) == 1
    assert count(db, ProcessedEvent) == 1


def test_many_events_in_one_body_are_all_handled(line, emulator):
    users = [line.new_user(f"利用者{i}") for i in range(4)]
    events = [ev.follow(users[0], line.token(users[0])),
              ev.text(users[1], line.token(users[1]), "使い方"),
              ev.text(users[2], line.token(users[2]), "ログイン"),
              ev.text(users[3], line.token(users[3]), "こんにちは")]
    assert line.post(*events).status_code == 200
    assert [len(line.received(u)) > 0 for u in users] == [True] * 4


def test_unknown_event_type_and_event_without_source_are_200(line, emulator, db):
    user = line.new_user()
    unknown = {"type": "somethingNew", "mode": "active", "timestamp": 1, "webhookEventId": ev.new_event_id(),
               "deliveryContext": {"isRedelivery": False}, "source": {"type": "user", "userId": user}}
    no_source = ev.text(user, line.token(user), "使い方")
    del no_source["source"]
    no_user = ev.text(user, line.token(user), "使い方")
    no_user["source"] = {"type": "user"}
    good = ev.text(user, line.token(user), "使い方")
    assert line.post(unknown, no_source, no_user, good).status_code == 200
    assert len(emulator.records(endpoint="reply")) == 1  # only the well-formed one was answered
    assert count(db, User) == 1


def test_unknown_message_type_gets_a_polite_reply(line):
    user = line.new_user()
    assert line.post(ev.message(user, line.token(user), {"type": "sticker", "packageId": "1",
                                                          "stickerId": "1", "stickerResourceType": "STATIC"}
                                )).status_code == 200
    assert line.post(ev.message(user, line.token(user), {"type": "hologram", "shape": "cube"})).status_code == 200
    received = line.received(user)
    assert received, "the person who sent something must not be met with silence"
    assert "文字" in received[0]["text"]


def test_a_failing_handler_gets_an_apology_and_others_still_run(app, line, emulator, db, caplog):
    router = app.extensions["bot"].router

    @router.keyword("こわれる")
    def broken(ctx):
        raise RuntimeError("boom")

    alice, bob = line.new_user(), line.new_user()
    bad = ev.text(alice, line.token(alice), "こわれる")
    good = ev.text(bob, line.token(bob), "使い方")
    assert line.post(bad, good).status_code == 200
    assert "申し訳ありません" in line.received(alice)[0]["text"]
    assert line.received(bob)
    assert bad["webhookEventId"] in caplog.text
    # Marked processed, so LINE's redelivery does not repeat the failure or the apology.
    assert line.post({**bad, "replyToken": line.token(alice)}).status_code == 200
    assert len(line.received(alice)) == 1


def test_a_failing_handler_leaves_no_half_done_rows(app, line, db):
    router = app.extensions["bot"].router

    @router.keyword("はんぶん")
    def half(ctx):
        ctx.session.add(User(line_user_id="U" + "a" * 32))
        ctx.session.flush()
        raise RuntimeError("after writing")

    user = line.new_user()
    line.say(user, "はんぶん")
    with db.session() as s:
        assert s.scalar(select(User).where(User.line_user_id == "U" + "a" * 32)) is None


def test_expired_reply_token_falls_back_to_the_outbox(line, emulator, db):
    from bot.models import OutboxMessage

    user = line.new_user()
    line.follow(user)
    stale = "0" * 32  # never issued by the emulator, like an expired token
    assert line.post(ev.text(user, stale, "使い方")).status_code == 200
    with db.session() as s:
        [row] = s.scalars(select(OutboxMessage)).all()
        assert row.kind == "push" and row.recipients == [user]
        assert "使い方" in row.payload["messages"][0]["altText"]


@pytest.mark.parametrize("text", ["あ" * 5000, "🎉🙇‍♀️👍🏽" * 10, "\u0000\u0007\u202e制御文字", "　", "'; DROP TABLE users; --",
                                  "<script>alert(1)</script>"])
def test_hostile_text_gets_a_polite_reply(line, text):
    user = line.new_user()
    assert line.say(user, text).status_code == 200
    [reply] = line.received(user)
    assert "メニュー" in reply["text"]


def test_group_chat_gets_one_explanation_and_no_user_rows(line, emulator, db):
    group = {"type": "group", "groupId": "C" + "1" * 32, "userId": line.new_user()}
    token = line.token(None)
    assert line.post(ev.join_group(group["groupId"], token)).status_code == 200
    assert line.post(ev.text(None, line.token(None), "使い方", source=group)).status_code == 200
    replies = emulator.records(endpoint="reply")
    assert len(replies) == 1
    assert "1対1" in replies[0]["body"]["messages"][0]["text"]
    assert count(db, User) == 0


def test_parallel_deliveries_of_one_event_are_processed_once(app, line, emulator, db):
    import threading

    user = line.new_user()
    line.follow(user)
    event = ev.text(user, line.token(user), "使い方")
    body = ev.payload(event)
    statuses = []

    def deliver():
        response = app.test_client().post("/callback", data=body, headers={
            "X-Line-Signature": ev.sign(line.secret, body), "Content-Type": "application/json"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    assert count(db, ProcessedEvent) == 2  # the follow and this one
    assert len(emulator.records(endpoint="reply")) == 2


def test_logs_carry_no_secrets_and_no_message_text(app, line, caplog):
    import logging

    from tests.conftest import TEST_SECRET, TEST_TOKEN

    caplog.set_level(logging.DEBUG)
    router = app.extensions["bot"].router

    @router.keyword("ログ確認")
    def broken(ctx):
        raise RuntimeError("handler failed")

    user = line.new_user()
    line.say(user, "ログ確認 私の電話番号は090-1234-5678です")
    line.say(user, "住所は大村市玖島1丁目です")
    logged = caplog.text
    assert "090-1234-5678" not in logged and "玖島" not in logged
    assert TEST_TOKEN not in logged and TEST_SECRET not in logged
