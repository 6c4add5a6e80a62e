"""The outbox and dispatcher, observed at the emulator: nothing lost, nothing doubled."""
from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, PushMessageRequest, TextMessage
from sqlalchemy import select

from app import create_app
from bot.line import outbox
from bot.line.dispatcher import Dispatcher, DispatcherConfig
from bot.models import OutboxMessage, User
from simulator import webhook_events as ev
from tests.conftest import TEST_SECRET, TEST_TOKEN

ROOT = Path(__file__).resolve().parent.parent
FAST = dict(backoff_base=0.01, backoff_max=0.05, idle_wait=0.02, threads=8)


def text(body):
    return [TextMessage(text=body)]


def users(emulator, db, n, *, follow=True):
    ids = [ev.new_user_id() for _ in range(n)]
    for uid in ids:
        emulator.add_user(uid)
    if follow:
        with db.session() as s:
            s.add_all(User(line_user_id=uid) for uid in ids)
    return ids


def dispatch(app, **config):
    worker = Dispatcher(app.extensions["bot"], DispatcherConfig(**{**FAST, **config}))
    try:
        return worker.run(until_idle=True)
    finally:
        worker.close()


def rows(db):
    with db.session() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_a_push_is_delivered_with_its_retry_key(app, emulator, db):
    [uid] = users(emulator, db, 1)
    with db.session() as s:
        [row] = outbox.push(s, uid, text("面接会のお知らせです"))
    assert emulator.records() == []  # nothing is sent inline
    dispatch(app)
    [record] = emulator.records(endpoint="push")
    assert record["retry_key"] == row.retry_key and record["to"] == [uid]
    assert emulator.messages_for(uid) == [{"type": "text", "text": "面接会のお知らせです"}]
    [done] = rows(db)
    assert done.status == "sent" and done.line_request_id == record["request_id"] and done.attempts == 1


def test_identical_pushes_are_folded_into_one_multicast(app, emulator, db):
    ids = users(emulator, db, 3)
    with db.session() as s:
        for uid in ids:
            outbox.push(s, uid, text("同じお知らせ"))
    dispatch(app)
    [record] = emulator.records(endpoint="multicast")
    assert sorted(record["to"]) == sorted(ids)
    assert emulator.records(endpoint="push") == []
    states = collections.Counter(r.status for r in rows(db))
    assert states == {"merged": 3, "sent": 1}


def test_many_recipients_become_multicasts_of_at_most_500(app, emulator, db):
    ids = users(emulator, db, 1203)
    with db.session() as s:
        created = outbox.push(s, ids, text("セミナーのお知らせ"))
    assert [len(r.recipients) for r in created] == [500, 500, 203]
    dispatch(app)
    sizes = sorted(len(r["to"]) for r in emulator.records(endpoint="multicast"))
    assert sizes == [203, 500, 500]
    assert all(len(emulator.messages_for(uid)) == 1 for uid in ids)


def test_unfollowed_recipients_are_dropped_before_sending(app, emulator, db):
    stay, left, alone = users(emulator, db, 3)
    with db.session() as s:
        outbox.push(s, [stay, left], text("お知らせ"))
        outbox.push(s, alone, text("個別のお知らせ"))
        for user in s.scalars(select(User).where(User.line_user_id.in_([left, alone]))):
            user.status = "blocked"
    dispatch(app)
    assert emulator.messages_for(stay) and not emulator.messages_for(left) and not emulator.messages_for(alone)
    assert sorted(r.status for r in rows(db)) == ["cancelled", "sent"]


def test_a_refused_request_fails_with_the_reason_and_can_be_retried(app, emulator, db):
    stranger = ev.new_user_id()  # unknown to LINE: 400
    with db.session() as s:
        outbox.push(s, stranger, text("届かないお知らせ"))
    dispatch(app)
    [row] = rows(db)
    assert row.status == "failed" and row.last_error.startswith("400") and row.attempts == 1
    emulator.add_user(stranger)
    runner = app.test_cli_runner()
    assert "1 rows queued again" in runner.invoke(args=["outbox", "retry"]).output
    dispatch(app)
    assert rows(db)[0].status == "sent" and len(emulator.messages_for(stranger)) == 1


def test_outbox_commands(app, emulator, db):
    [uid] = users(emulator, db, 1)
    with db.session() as s:
        outbox.push(s, uid, text("状態の確認"))
    runner = app.test_cli_runner()
    assert "pending    1" in runner.invoke(args=["outbox", "status"]).output
    result = runner.invoke(args=["outbox", "retry", "999"])
    assert result.exit_code != 0 and "999" in result.output


def test_409_for_our_own_retry_key_counts_as_delivered(app, emulator, db, settings):
    [uid] = users(emulator, db, 1)
    with db.session() as s:
        [row] = outbox.push(s, uid, text("タイムアウトの後で"))
    # LINE accepted the request once before (the answer was lost to a timeout).
    with ApiClient(Configuration(host=settings.api_base_url, access_token=TEST_TOKEN)) as api:
        MessagingApi(api).push_message(PushMessageRequest(to=uid, messages=text("タイムアウトの後で")),
                                       x_line_retry_key=row.retry_key)
    dispatch(app)
    assert len(emulator.messages_for(uid)) == 1
    [done] = rows(db)
    assert done.status == "sent" and done.line_request_id == emulator.records(endpoint="push")[0]["request_id"]


def test_transient_failures_are_retried_with_backoff(app, emulator, db):
    [uid] = users(emulator, db, 1)
    emulator.inject(endpoint="push", status=500, times=2)
    emulator.inject(endpoint="push", status=429, times=1)
    with db.session() as s:
        outbox.push(s, uid, text("再送のテスト"))
    dispatch(app)
    [row] = rows(db)
    assert row.status == "sent" and row.attempts == 4
    assert len(emulator.messages_for(uid)) == 1


def test_attempts_run_out(app, emulator, db):
    [uid] = users(emulator, db, 1)
    emulator.inject(endpoint="push", status=503)
    with db.session() as s:
        outbox.push(s, uid, text("ずっと失敗"))
    dispatch(app, max_attempts=3)
    [row] = rows(db)
    assert row.status == "failed" and row.attempts == 3 and row.last_error.startswith("503")


@pytest.mark.slow
def test_two_thousand_pushes_under_faults_arrive_exactly_once(settings, emulator):
    app = create_app(settings.replace(line_timeout=0.25))
    db = app.extensions["bot"].db
    ids = users(emulator, db, 2000)
    with db.session() as s:
        for i, uid in enumerate(ids):
            outbox.push(s, uid, text(f"求人のお知らせ {i}"))  # distinct, so each stays a push
    emulator.inject(endpoint="push", status=500, probability=0.3, seed=1)
    emulator.inject(endpoint="push", status=429, probability=0.1, seed=2)
    emulator.inject(endpoint="push", delay=0.4, probability=0.01, seed=3)  # the client gives up first
    dispatch(app, max_attempts=40, threads=16)
    counts = collections.Counter(len(emulator.messages_for(uid)) for uid in ids)
    assert counts == {1: 2000}
    assert {r.status for r in rows(db)} == {"sent"}
    rejected = collections.Counter(r["status"] for r in emulator.rejected())
    assert rejected[500] > 300 and rejected[429] > 100  # the faults really happened
    assert rejected[409] > 0  # timed-out sends were recognised by their retry keys
    app.extensions["bot"].db.dispose()


@pytest.mark.slow
def test_two_dispatchers_never_send_a_row_twice(settings, emulator):
    app = create_app(settings)
    db = app.extensions["bot"].db
    ids = users(emulator, db, 600)
    with db.session() as s:
        for i, uid in enumerate(ids):
            outbox.push(s, uid, text(f"並行配信 {i}"))
    workers = [Dispatcher(create_app(settings).extensions["bot"], DispatcherConfig(**{**FAST, "batch_size": 50}))
               for _ in range(2)]
    threads = [threading.Thread(target=w.run, kwargs={"until_idle": True}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for w in workers:
        w.close()
    keys = [r["retry_key"] for r in emulator.records(endpoint="push")]
    assert len(keys) == len(set(keys)) == 600
    assert collections.Counter(len(emulator.messages_for(uid)) for uid in ids) == {1: 600}
    assert {r.claimed_by for r in rows(db)} == {None}


def _dispatcher_process(settings, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "DATABASE_URL"))}
    env.update(LINE_CHANNEL_SECRET=TEST_SECRET, LINE_CHANNEL_ACCESS_TOKEN=TEST_TOKEN,
               LINE_API_BASE_URL=settings.api_base_url, LINE_DATA_API_BASE_URL=settings.api_base_url,
               DATABASE_URL=settings.database_url, SECRET_KEY="s" * 40,
               PUBLIC_BASE_URL="https://hw-omura.test")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "dispatcher", *args],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_kill_9_mid_run_loses_and_doubles_nothing(settings, emulator):
    app = create_app(settings)
    db = app.extensions["bot"].db
    ids = users(emulator, db, 400)
    with db.session() as s:
        for i, uid in enumerate(ids):
            outbox.push(s, uid, text(f"停止試験 {i}"))
    emulator.inject(endpoint="push", delay=0.05)  # slow LINE, so the kill lands mid-run
    first = _dispatcher_process(settings, "--lease", "2", "--threads", "4")
    waited = threading.Event()
    while len(emulator.records(endpoint="push")) < 60 and first.poll() is None:
        waited.wait(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    sent_before = len(emulator.records(endpoint="push"))
    assert 0 < sent_before < 400
    emulator.clear_faults()
    second = _dispatcher_process(settings, "--until-idle", "--lease", "2")
    _, err = second.communicate(timeout=180)
    assert second.returncode == 0, err.decode()
    assert collections.Counter(len(emulator.messages_for(uid)) for uid in ids) == {1: 400}
    assert {r.status for r in rows(db)} == {"sent"}
    # The rows the killed process had in flight were resent with their keys and recognised.
    assert any(r["status"] == 409 for r in emulator.rejected())
    db.dispose()


def test_retry_keys_are_unique_per_row(app, db, emulator):
    ids = users(emulator, db, 2)
    with db.session() as s:
        a = outbox.push(s, ids[0], text("a"))[0]
        b = outbox.push(s, ids[1], text("b"))[0]
    assert uuid.UUID(a.retry_key) and a.retry_key != b.retry_key


def test_broadcast_and_narrowcast_rows_reach_every_follower(app, emulator, db):
    ids = users(emulator, db, 3)
    emulator.set_blocked(ids[2], True)
    with db.session() as s:
        outbox.broadcast(s, text("全員へのお知らせ"), source="broadcast:1")
        outbox.narrowcast(s, text("絞り込み配信"), limit={"max": 10})
    dispatch(app)
    # Rows of one batch go out in parallel, so only the set is certain, not the order.
    assert sorted(m["text"] for m in emulator.messages_for(ids[0])) == ["全員へのお知らせ", "絞り込み配信"]
    assert emulator.messages_for(ids[2]) == []
    assert {r.status for r in rows(db)} == {"sent"}
    [narrow] = emulator.records(endpoint="narrowcast")
    assert narrow["body"]["limit"]["max"] == 10 and narrow["retry_key"]


def test_rates_are_configurable_from_the_command_line(app):
    result = app.test_cli_runner().invoke(args=["dispatcher", "--until-idle", "--rate", "push=0"])
    assert result.exit_code != 0 and "push=0" in result.output
    result = app.test_cli_runner().invoke(args=["dispatcher", "--until-idle", "--rate", "push=50"])
    assert result.exit_code == 0, result.output


def test_identical_pushes_beyond_one_batch_fill_multicasts_of_500(app, emulator, db):
    ids = users(emulator, db, 1100)
    with db.session() as s:
        for uid in ids:
            outbox.push(s, uid, text("大きなお知らせ"))
    dispatch(app, batch_size=50)
    sizes = sorted(len(r["to"]) for r in emulator.records(endpoint="multicast"))
    assert sizes == [100, 500, 500]
    assert all(len(emulator.messages_for(uid)) == 1 for uid in ids)


def _plan(connection, statement: str, params) -> str:
    """How the database would run `statement`: SQLite's query plan, or PostgreSQL's as JSON."""
    if connection.dialect.name == "sqlite":
        return "\n".join(row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
    return str(connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar())


def test_a_claim_finds_due_rows_by_index_without_walking_delivered_ones(app, db):
    """The outbox keeps 90 days of delivered rows, and the dispatcher claims every second, busy or idle.
    Its search for due rows once walked the table from the first row, past every delivered one."""
    from sqlalchemy import event, update

    from bot.models.outbox import SENT

    with db.session() as s:
        outbox.push_many(s, [([ev.new_user_id()], [{"type": "text", "text": f"お知らせ {i}"}]) for i in range(3000)],
                         source="test")
    with db.session() as s:
        last = s.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1))
        s.execute(update(OutboxMessage).where(OutboxMessage.id <= last - 300).values(status=SENT))
    db.analyze()
    seen = []
    record = lambda conn, cursor, statement, params, context, many: seen.append((statement, params))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        worker = Dispatcher(app.extensions["bot"], DispatcherConfig(**FAST))
        claimed = worker.claim()
        worker.close()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(claimed) == 200
    due = [(sql, params) for sql, params in seen if "next_attempt_at <=" in sql or "lease_until <" in sql]
    due = [(sql, params) for sql, params in due if "payload_hash IN" not in sql]  # the search for siblings
    assert due, "\n".join(sql[-300:] for sql, _ in seen)
    with db.engine.connect() as connection:
        for sql, params in due:
            plan = _plan(connection, sql, params)
            # Read in the index's order: no walk of the table, and no sort of every due row either.
            assert "ix_outbox_due" in plan, plan
            assert not re.search(r"SCAN outbox|TEMP B-TREE|Seq Scan|pk_outbox|Sort", plan), plan
