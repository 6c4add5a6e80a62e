"""Answers that survive the web process dying after its commit (bot.line.replies), counted at the emulator.

A "death" is played by leaving out the part of the webhook's work that a killed process never reaches:
the reply (died right after the commit) or the confirmation (died right after LINE took the reply)."""
from __future__ import annotations

import contextlib
import datetime as dt
import threading

import pytest
import time_machine
from sqlalchemy import event, func, select

from bot.db import Database
from bot.event_processor import EventProcessor
from bot.line import replies
from bot.line.replies import Settler
from bot.line.dispatcher import Dispatcher, DispatcherConfig
from bot.models import OutboxMessage, PendingReply, utcnow


def held(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(PendingReply))


@contextlib.contextmanager
def capture_statements(engine):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def later(seconds: float) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=seconds)


@pytest.fixture
def friend(line):
    uid = line.new_user()
    line.follow(uid)  # its greeting is confirmed when this returns (tests/conftest.py, Line.settle)
    return uid


def test_a_normal_reply_leaves_nothing_held(app, line, db, emulator, friend, monkeypatch):
    line.settle = False  # the settler's own round, not the test's
    settler = app.extensions["bot"].settler
    settled = threading.Event()
    flush = settler.flush

    def flush_and_tell():  # the test sees the moment the settler's thread writes
        written = flush()
        if written:
            settled.set()
        return written
    monkeypatch.setattr(settler, "flush", flush_and_tell)
    before = len(emulator.messages_for(friend))
    assert line.say(friend, "使い方").status_code == 200
    assert len(emulator.messages_for(friend)) > before
    assert settled.wait(timeout=10)  # the web process's settler thread confirms it on its own
    assert held(db) == 0


def test_delivered_replies_are_settled_together(app, line, db, emulator, friend, monkeypatch):
    """One DELETE for all the replies LINE took since the last round, not a transaction per event."""
    settler = Settler(db, every=3600.0)  # its round does not come during the test
    monkeypatch.setattr(app.extensions["bot"], "settler", settler)
    line.settle = False
    for word in ("使い方", "お気に入り", "求人"):
        line.say(friend, word)
    assert held(db) == 3 and settler.pending() == 3
    with capture_statements(db.engine) as statements:
        assert settler.flush() == 3
    assert held(db) == 0
    assert [s.split()[0] for s in statements if "pending_replies" in s] == ["DELETE"]
    assert settler.flush() == 0
    replies.resend_stale(app.extensions["bot"], grace=0, now=later(1))
    assert emulator.rejected(endpoint="reply") == []  # nothing left for the dispatcher to try


def test_confirmations_wait_out_an_unreachable_database(app, line, db, friend, monkeypatch):
    settler = Settler(db, every=3600.0)
    monkeypatch.setattr(app.extensions["bot"], "settler", settler)
    line.settle = False
    line.say(friend, "使い方")
    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    monkeypatch.setattr(settler, "db", broken)
    assert settler.flush() == 0 and settler.pending() == 1 and held(db) == 1  # kept, nothing lost
    monkeypatch.setattr(settler, "db", db)
    assert settler.flush() == 1 and held(db) == 0


def test_died_after_the_commit_the_dispatcher_answers_with_the_same_token(app, line, db, emulator, friend,
                                                                           monkeypatch):
    monkeypatch.setattr(EventProcessor, "_reply", lambda *args: None)  # the process is gone
    before = len(emulator.messages_for(friend))
    line.say(friend, "使い方")
    assert len(emulator.messages_for(friend)) == before and held(db) == 1
    monkeypatch.undo()
    services = app.extensions["bot"]
    assert replies.resend_stale(services, grace=15) == 0  # not yet: the web process may still be at it
    assert replies.resend_stale(services, grace=15, now=later(16)) == 1
    [_greeting, resent] = emulator.records(user_id=friend, endpoint="reply")
    assert len(emulator.messages_for(friend)) == before + len(resent["body"]["messages"])
    assert held(db) == 0
    assert replies.resend_stale(services, grace=15, now=later(16)) == 0  # once only


def test_died_after_line_took_the_reply_nothing_is_sent_twice(app, line, db, emulator, friend, monkeypatch):
    monkeypatch.setattr(Settler, "add", lambda *args: None)  # the process died before its settler's round
    before = len(emulator.messages_for(friend))
    line.say(friend, "使い方")
    answered = len(emulator.messages_for(friend))
    assert answered > before and held(db) == 1
    assert replies.resend_stale(app.extensions["bot"], grace=15, now=later(16)) == 1
    assert len(emulator.messages_for(friend)) == answered  # LINE refused the spent token: no second answer
    assert emulator.rejected(endpoint="reply")[-1]["status"] == 400
    assert held(db) == 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_token_too_old_to_tell_becomes_a_push(app, line, db, emulator, friend, monkeypatch):
    monkeypatch.setattr(EventProcessor, "_reply", lambda *args: None)
    line.say(friend, "使い方")
    assert replies.resend_stale(app.extensions["bot"], grace=15, now=later(replies.TOKEN_LIFETIME.seconds + 5)) == 1
    with db.session() as s:
        [row] = s.scalars(select(OutboxMessage)).all()
    assert row.kind == "push" and row.recipients == [friend] and row.source.startswith("reply:")
    assert held(db) == 0


def test_the_dispatcher_and_a_slow_web_process_never_both_answer(app, line, db, emulator, friend, monkeypatch):
    """The dispatcher takes the held reply while the web process is still about to send it: the web's
    reply is refused (token spent), and since the held row is gone it does not push either."""
    services = app.extensions["bot"]
    original = EventProcessor._reply

    def slow_reply(self, *args):
        replies.resend_stale(services, grace=0, now=later(1))  # the dispatcher got there first
        original(self, *args)
    monkeypatch.setattr(EventProcessor, "_reply", slow_reply)
    before = len(emulator.messages_for(friend))
    line.say(friend, "使い方")
    [_greeting, answer] = emulator.records(user_id=friend, endpoint="reply")
    assert len(emulator.messages_for(friend)) == before + len(answer["body"]["messages"])
    assert emulator.rejected(endpoint="reply")[-1]["status"] == 400  # the web process's own attempt
    assert held(db) == 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_apology_of_a_failed_handler_is_held_too(app, line, db, emulator, friend, monkeypatch):
    router = app.extensions["bot"].router
    monkeypatch.setattr(router, "handler_for_text", lambda ctx: (_ for _ in ()).throw(RuntimeError("boom")))
    monkeypatch.setattr(EventProcessor, "_reply", lambda *args: None)
    line.say(friend, "使い方")
    assert held(db) == 1
    monkeypatch.undo()
    replies.resend_stale(app.extensions["bot"], grace=15, now=later(16))
    assert "申し訳ありません" in emulator.messages_for(friend)[-1]["text"]


def test_the_dispatcher_loop_sends_held_replies(app, line, db, emulator, friend, monkeypatch):
    monkeypatch.setattr(EventProcessor, "_reply", lambda *args: None)
    before = len(emulator.messages_for(friend))
    line.say(friend, "使い方")
    monkeypatch.undo()
    worker = Dispatcher(app.extensions["bot"], DispatcherConfig(threads=2, reply_check_every=0))
    try:
        worker.run_once()  # within the grace: the web process may still be replying
        assert held(db) == 1
        with time_machine.travel(later(DispatcherConfig.reply_grace + 1)):
            worker.run_once()
    finally:
        worker.close()
    assert len(emulator.messages_for(friend)) > before and held(db) == 0


def test_a_held_answer_is_part_of_the_persons_data(app, line, db, friend, monkeypatch):
    from bot import privacy

    monkeypatch.setattr(EventProcessor, "_reply", lambda *args: None)
    line.say(friend, "使い方")
    with db.session() as s:
        [row] = privacy.export_user(s, friend)["tables"]["pending_replies"]
        assert row["line_user_id"] == friend and row["messages"]
        assert privacy.delete_user(s, friend)["pending_replies"] == 1
    assert held(db) == 0
