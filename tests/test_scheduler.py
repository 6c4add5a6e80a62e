"""The clock: declared jobs, Japan time, one active clock, and the housekeeping jobs."""
from __future__ import annotations

import datetime as dt
import threading

import time_machine
from sqlalchemy import func, select

from bot import housekeeping, scheduler
from bot.line import outbox
from bot.models import OutboxMessage, ProcessedEvent
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
