"""The clock: declared jobs, Japan time, one active clock, and the housekeeping jobs."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest
import time_machine
from sqlalchemy import func, select, text

from bot import housekeeping, scheduler
from bot.line import outbox
from bot.models import OutboxMessage, ProcessedEvent
from tests.conftest import BACKENDS
from linebot.v3.messaging import TextMessage


def test_scheduler_list_shows_declared_jobs_in_japan_time(app):
    with time_machine.travel(dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc), tick=False):
        result = app.test_cli_runner().invoke(args=["scheduler", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    # 03:30 in Tokyo is 18:30 UTC of the previous day; the next one after 21:00 JST is tomorrow's.
    assert "2026-11-26 03:30 JST" in lines["cron:purge-event-ids"]
    assert "cron:purge-outbox" in lines


def test_only_one_clock_holds_the_lock(db):
    first, second = scheduler.LeaderLock(db), scheduler.LeaderLock(db)
    assert first.try_acquire()
    try:
        assert not second.try_acquire()
    finally:
        first.release()
    assert second.try_acquire()
    second.release()


def test_a_standby_clock_stops_when_asked(db, app):
    holder = scheduler.LeaderLock(db)
    assert holder.try_acquire()
    stop = threading.Event()
    standby = threading.Thread(target=scheduler.run_clock, args=(app.extensions["bot"], stop),
                               kwargs={"standby_wait": 0.05})
    standby.start()
    stop.set()
    standby.join(timeout=10)
    holder.release()
    assert not standby.is_alive()


def _lock_holders(db) -> list[int]:
    """Backend pids holding the clock's advisory lock in this test's database."""
    with db.engine.connect() as conn:
        return conn.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = :k AND objsubid = 1"
            " AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"k": scheduler.LOCK_KEY}).scalars().all()


# Only a PostgreSQL advisory lock can vanish under its holder; the file lock beside SQLite lives as long
# as the process. (Under CI=true PostgreSQL is always there, so this never comes out empty.)
@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_a_clock_whose_lock_connection_is_killed_stands_by_and_one_clock_stays_active(app, db, caplog):
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    services = app.extensions["bot"]
    stops = [threading.Event(), threading.Event()]
    active = [threading.Event(), threading.Event()]
    clocks = [threading.Thread(target=scheduler.run_clock, args=(services, stops[i]), name=f"clock-{i}",
                               kwargs={"standby_wait": 0.05, "check_every": 0.2, "active": active[i]})
              for i in range(2)]

    def sample() -> list[bool]:
        now = [a.is_set() for a in active]
        assert now != [True, True], "two clocks active at once"
        return now

    def wait_for(condition, seconds, what):
        # Real threads and a real database connection: polled, with a deadline.
        deadline, pause = time.monotonic() + seconds, threading.Event()
        while not condition(sample()):
            assert time.monotonic() < deadline, f"{what} not within {seconds} s"
            pause.wait(0.01)

    def logged(thread, words) -> bool:
        return any(r.threadName == thread and words in r.getMessage() for r in caplog.records)

    for clock in clocks:
        clock.start()
    try:
        wait_for(lambda now: sum(now) == 1, 15, "one clock active")
        leader = sample().index(True)
        standby = 1 - leader
        wait_for(lambda now: logged(f"clock-{standby}", "standing by"), 5, "the other clock on standby")
        # Session-level advisory locks are re-entrant: a standby sharing the leader's connection would
        # have been granted the lock too. One holder and one clock standing by: two connections.
        [killed] = _lock_holders(db)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed}).scalar()

        wait_for(lambda now: not now[leader], 10, "the clock that lost its lock stopping its jobs")
        assert logged(f"clock-{leader}", "lost its lock")
        wait_for(lambda now: sum(now) == 1, 10, "one clock active again")
        [holder] = _lock_holders(db)
        assert holder != killed
        # It stays so: the clock that is not active keeps standing by.
        quiet_until = time.monotonic() + 1.0
        wait_for(lambda now: sum(now) == 1 and time.monotonic() > quiet_until, 5, "a steady second of one clock")
        assert clocks[standby].is_alive() and clocks[leader].is_alive()
    finally:
        for stop in stops:
            stop.set()
        for clock in clocks:
            clock.join(timeout=15)
        with db.engine.begin() as conn:  # the job store is not a model table: leave no jobs to other tests
            conn.execute(text(f"DELETE FROM {scheduler.JOB_TABLE}"))
    assert not any(clock.is_alive() for clock in clocks)
    assert _lock_holders(db) == []


def test_run_job_calls_the_declared_function(app, db):
    scheduler._services = app.extensions["bot"]
    with db.session() as s:
        s.add(ProcessedEvent(webhook_event_id="old", event_type="message.text",
                             received_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=8)))
        s.add(ProcessedEvent(webhook_event_id="new", event_type="message.text"))
    scheduler.run_job("cron:purge-event-ids")
    with db.session() as s:
        assert s.scalars(select(ProcessedEvent.webhook_event_id)).all() == ["new"]


def test_purge_outbox_keeps_recent_and_pending_rows(app, db):
    services = app.extensions["bot"]
    with db.session() as s:
        old_sent, recent_sent, old_pending = (outbox.push(s, f"U{i:032x}", [TextMessage(text="x")])[0]
                                              for i in range(3))
        s.flush()
        long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=91)
        old_sent.status, recent_sent.status = "sent", "sent"
    with db.session() as s:
        # onupdate would refresh updated_at; write it with a plain UPDATE instead.
        s.execute(OutboxMessage.__table__.update().where(OutboxMessage.id.in_([old_sent.id, old_pending.id]))
                  .values(updated_at=long_ago))
    assert housekeeping.purge_outbox(services) == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2
