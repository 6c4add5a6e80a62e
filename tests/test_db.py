"""bot.db: what one event looked up is kept for its transaction only (transaction_memo: the conversation
of a text message, the booking rules), and a flow started or ended in it is seen at once; pooled
PostgreSQL connections are checked when they sat idle; insert_rows follows the same rules on both
databases."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from bot import conversation, users
from bot import db as db_module
from bot.db import insert_rows, make_engine, transaction_memo
from bot.models import Conversation, RecommendationMark
from tests.conftest import BACKENDS


def test_memo_outlives_flushes_not_the_transaction(db):
    with db.session() as s:
        memo = transaction_memo(s)
        memo["rules"] = "looked up"
        user = users.friend(s, "U" + "1" * 32)
        s.flush()
        assert transaction_memo(s) == {"rules": "looked up"}
        with s.begin_nested():
            transaction_memo(s)["inner"] = 1
        assert transaction_memo(s) == {}, "a savepoint's end forgets (its rollback could undo what was seen)"
        transaction_memo(s)["again"] = 2
    with db.Session() as s:
        with s.begin():
            assert transaction_memo(s) == {}
            transaction_memo(s)["x"] = 1
        assert transaction_memo(s) == {}, "a commit forgets"
        s.begin()
        transaction_memo(s)["y"] = 1
        s.rollback()
        assert transaction_memo(s) == {}, "a rollback forgets"
    assert user.id


def test_a_flow_started_or_ended_is_seen_in_the_same_transaction(db):
    now = dt.datetime.now(dt.timezone.utc)
    with db.session() as s:
        user = users.friend(s, "U" + "2" * 32)
        assert conversation.active(s, user.id, now) is None
        conv = conversation.start(s, user.id, "booking", "date")
        assert conversation.active(s, user.id, now) is conv
        conversation.finish(s, user.id)
        assert conversation.load(s, user.id) is None
        conversation.start(s, user.id, "search", "area")
    with db.session() as s:
        assert conversation.active(s, user.id, now).flow == "search"
    # Another writer (here a plain UPDATE in another transaction) is seen by the next transaction.
    with db.session() as s:
        s.execute(update(Conversation).where(Conversation.user_id == user.id).values(step="wage"))
    with db.session() as s:
        assert conversation.load(s, user.id).step == "wage"


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced(database_urls, backend, monkeypatch):
    # bot.db pings a PostgreSQL connection on checkout only when it sat in the pool IDLE seconds or more
    # (not on every event, as pool_pre_ping would). Here IDLE is set to 0 and then to an hour.
    url = database_urls[backend]
    engine, admin = make_engine(url), sa.create_engine(url, isolation_level="AUTOCOMMIT")

    def pooled_pid_dropped() -> int:
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as conn:  # the server restarts, or drops idle sessions
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return pid

    try:
        monkeypatch.setattr(db_module._PingWhenIdle, "IDLE", 0.0)
        dropped = pooled_pid_dropped()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() != dropped
        # Used a moment ago: not pinged, so the statement meets the dropped connection; the pool is
        # then renewed and the next checkout works (the webhook's 503 gets the event redelivered).
        monkeypatch.setattr(db_module._PingWhenIdle, "IDLE", 3600.0)
        dropped = pooled_pid_dropped()
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() != dropped
    finally:
        engine.dispose()
        admin.dispose()


def test_insert_rows_keeps_times_refuses_naive_ones_and_reports_clashes(db):
    # PostgreSQL copies the rows (COPY), SQLite inserts them: the same rules either way.
    with db.session() as s:
        first, second = (users.friend(s, "U" + c * 32).id for c in "23")
    in_japan = dt.datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    mark = lambda user_id, at: {"user_id": user_id, "last_run_at": at, "run_key": "2026-12-07"}  # noqa: E731
    with db.session() as s:
        insert_rows(s, RecommendationMark.__table__, [mark(first, in_japan)])
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        with db.session() as s:
            insert_rows(s, RecommendationMark.__table__, [mark(second, dt.datetime(2026, 12, 7, 0, 0))])
    with pytest.raises(IntegrityError):
        with db.session() as s:
            insert_rows(s, RecommendationMark.__table__, [mark(second, in_japan), mark(first, in_japan)])
    with db.session() as s:
        rows = s.scalars(sa.select(RecommendationMark)).all()
        assert [(m.user_id, m.last_run_at) for m in rows] == [(first, in_japan)]
        assert rows[0].last_run_at.utcoffset() == dt.timedelta(0)  # 00:00 UTC, given as 09:00 in Japan


def test_insert_rows_stores_json_as_the_orm_reads_it(db):
    from bot.jobs.search import Conditions
    from bot.models import SavedSearch

    with db.session() as s:
        user_id = users.friend(s, "U" + "4" * 32).id
    conditions = Conditions(municipalities=("42205",), keywords="介護 \"夜勤\"", min_wage=200_000).to_dict()
    at = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.timezone.utc)
    with db.session() as s:
        insert_rows(s, SavedSearch.__table__, [
            {"user_id": user_id, "slot": slot, "name": f"条件{slot}", "conditions": conditions, "created_at": at}
            for slot in (1, 2)])
    with db.session() as s:
        saved = s.scalars(sa.select(SavedSearch).order_by(SavedSearch.slot)).all()
        assert [(x.slot, x.name, x.conditions) for x in saved] == [(1, "条件1", conditions), (2, "条件2", conditions)]
        assert Conditions.from_dict(saved[0].conditions).keywords == "介護 \"夜勤\""
