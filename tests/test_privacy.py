"""Personal data: export, deletion everywhere, the retention job and `flask users`."""
from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
import sqlalchemy as sa
import time_machine
from linebot.v3.messaging import TextMessage

from bot import privacy, scheduler
from bot.config import ConfigError, load_settings
from bot.line import outbox
from bot.models import AuditLog, Base, OutboxMessage, User
from simulator import webhook_events as ev
from tests.test_dispatcher import dispatch

UTC = dt.timezone.utc
_serial = itertools.count(1)


# --- a row in any table, made from the schema alone ------------------------------------------------

def _value(column: sa.Column):
    kind = column.type
    n = next(_serial)
    if isinstance(kind, (sa.Integer, sa.Numeric)):
        return 1
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Date):
        return dt.date(2026, 1, 1) + dt.timedelta(days=n)
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, (sa.DateTime, sa.types.TypeDecorator)):
        return dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=n)
    if isinstance(kind, sa.String):
        return f"v{n}"[-kind.length:] if kind.length else f"v{n}"
    raise AssertionError(f"no generic value for {column} ({kind}); teach tests/test_privacy.py")


def _insert(conn, table: sa.Table, user_id: int) -> dict:
    """One row of `table` for this user: parents are made as needed, required columns get values."""
    row = {}
    for column in table.columns:
        fks = list(column.foreign_keys)
        if fks and fks[0].column.table.name == "users":
            row[column.name] = user_id
        elif fks and fks[0].column.table is not table:
            parent = _insert(conn, fks[0].column.table, user_id)
            row[column.name] = parent[fks[0].column.name]
        elif column.primary_key and isinstance(column.type, sa.Integer) and not fks:
            continue
        elif not column.nullable and column.default is None and column.server_default is None:
            row[column.name] = _value(column)
    result = conn.execute(sa.insert(table).values(row).returning(*table.primary_key.columns))
    return {**row, **result.one()._asdict()}


def _seed_everything(db, user_id: int) -> None:
    with db.engine.begin() as conn:
        for name in privacy.personal_tables():
            _insert(conn, Base.metadata.tables[name], user_id)
        # Places counted on parents match the live rows, as the capabilities keep them.
        for name, key, status, live, counter in privacy.COUNTERS:
            table = Base.metadata.tables.get(name)
            if table is None:
                continue
            parent = next(iter(table.c[key].foreign_keys)).column
            live_rows = sa.select(sa.func.count()).where(table.c[key] == parent, table.c[status] == live)
            conn.execute(sa.update(parent.table).values({counter: live_rows.scalar_subquery()}))


def _person(db, line_user_id, **fields) -> int:
    with db.session() as s:
        user = User(line_user_id=line_user_id, display_name="大村 花子", **fields)
        s.add(user)
        s.flush()
        return user.id


def _owned_rows(db, user_id: int) -> dict[str, int]:
    paths = privacy.personal_tables()
    with db.session() as s:
        return {name: s.scalar(sa.select(sa.func.count()).select_from(Base.metadata.tables[name]).where(
            privacy._owned_by(Base.metadata.tables[name], user_id, paths))) for name in paths}


# --- the walk covers the schema -------------------------------------------------------------------

def test_every_table_with_a_key_to_users_is_covered():
    direct = {t.name for t in Base.metadata.sorted_tables
              for fk in t.foreign_keys if fk.column.table.name == "users"}
    assert direct and direct <= set(privacy.personal_tables())
    assert {"favorites", "saved_searches", "preferences", "applications"} <= direct


def test_a_table_under_a_personal_table_is_covered_too():
    metadata = sa.MetaData()
    users = sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("user_id", sa.ForeignKey("users.id")))
    sa.Table("note_tags", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("note_id", sa.ForeignKey("notes.id")))
    original = Base.metadata
    Base.metadata = metadata
    try:
        found = privacy.personal_tables()
    finally:
        Base.metadata = original
    assert set(found) == {"notes", "note_tags"} and users.name not in found


def test_rows_in_every_personal_table_are_exported_and_deleted(app, db, emulator):
    keep, gone = ev.new_user_id(), ev.new_user_id()
    keep_id, gone_id = _person(db, keep), _person(db, gone)
    _seed_everything(db, keep_id)
    _seed_everything(db, gone_id)
    before = _owned_rows(db, gone_id)
    assert all(before.values()), before  # the generic seed reached every table
    with db.session() as s:
        data = privacy.export_user(s, gone)
    json.dumps(data)  # JSON-able as it is
    for name, count in before.items():
        assert len(data["tables"][name]) == count, name
    assert data["tables"]["users"][0]["line_user_id"] == gone
    with db.session() as s:
        counts = privacy.delete_user(s, gone)
    assert counts["users"] == 1 and set(before) <= set(counts)
    assert not any(_owned_rows(db, gone_id).values())
    assert _owned_rows(db, keep_id) == before  # the other person's rows are untouched
    with db.session() as s:
        assert s.scalar(sa.select(User.id).where(User.line_user_id == gone)) is None
        assert privacy.export_user(s, gone) is None and privacy.delete_user(s, gone) is None


def test_places_held_by_the_person_are_given_back(app, db, emulator):
    from bot.models import Event, EventRegistration

    a, b = ev.new_user_id(), ev.new_user_id()
    ids = [_person(db, a), _person(db, b)]
    with db.session() as s:
        event = Event(kind="セミナー", title="面接対策セミナー", capacity=2, registered_count=2,
                      starts_at=dt.datetime(2030, 1, 1, tzinfo=UTC))
        s.add(event)
        s.flush()
        s.add_all(EventRegistration(event_id=event.id, user_id=i) for i in ids)
    with db.session() as s:
        privacy.delete_user(s, a)
    with db.session() as s:
        assert s.get(Event, event.id).registered_count == 1


def test_the_outbox_forgets_the_person_but_not_the_others(app, db, emulator):
    a, b = ev.new_user_id(), ev.new_user_id()
    for uid in (a, b):
        emulator.add_user(uid)
        _person(db, uid)
    with db.session() as s:
        outbox.push(s, a, [TextMessage(text="大村さん、ご予約を承りました")])
        outbox.push(s, [a, b], [TextMessage(text="セミナーのお知らせ")])
    with db.session() as s:
        data = privacy.export_user(s, a)
    assert sorted(m["messages"][0]["text"] for m in data["tables"]["outbox"]) == [
        "セミナーのお知らせ", "大村さん、ご予約を承りました"]
    assert all(m["recipients"] == [a] for m in data["tables"]["outbox"])  # never the others' ids
    with db.session() as s:
        assert privacy.delete_user(s, a)["outbox"] == 2
    with db.session() as s:
        [row] = s.scalars(sa.select(OutboxMessage)).all()
        assert row.recipients == [b]
    dispatch(app)
    assert emulator.messages_for(a) == [] and len(emulator.messages_for(b)) == 1


# --- the retention job ----------------------------------------------------------------------------

def _follow_then_unfollow(line, uid, at):
    with time_machine.travel(at, tick=False):
        assert line.follow(uid).status_code == 200
        assert line.post(ev.unfollow(uid)).status_code == 200


def test_unfollowed_friends_are_deleted_after_the_retention_period(app, db, line):
    scheduler._services = app.extensions["bot"]
    start = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    old, recent, returned, friend = (line.new_user() for _ in range(4))
    _follow_then_unfollow(line, old, start)
    _follow_then_unfollow(line, returned, start)
    _follow_then_unfollow(line, recent, start + dt.timedelta(days=10))
    with time_machine.travel(start + dt.timedelta(days=20), tick=False):
        line.follow(returned)  # came back as a friend: kept, however old the unfollow
        line.follow(friend)
        line.say(friend, "使い方")
    with time_machine.travel(start + dt.timedelta(days=185), tick=False):
        scheduler.run_job("cron:purge-unfollowed")
    with db.session() as s:
        left = set(s.scalars(sa.select(User.line_user_id)))
        [entry] = s.scalars(sa.select(AuditLog).where(AuditLog.action == "user.delete")).all()
    assert left == {recent, returned, friend}
    assert entry.details["via"] == "retention" and old not in json.dumps(entry.details)
    with time_machine.travel(start + dt.timedelta(days=191), tick=False):
        assert privacy.purge_unfollowed(app.extensions["bot"]) == 1
    with db.session() as s:
        assert set(s.scalars(sa.select(User.line_user_id))) == {returned, friend}


def test_the_retention_period_is_a_setting(settings, emulator, tmp_path):
    from app import create_app

    app = create_app(settings.replace(retention_days=30))
    db = app.extensions["bot"].db
    uid = ev.new_user_id()
    _person(db, uid, status="blocked", unfollowed_at=dt.datetime(2026, 3, 1, tzinfo=UTC))
    services = app.extensions["bot"]
    with time_machine.travel(dt.datetime(2026, 3, 30, tzinfo=UTC), tick=False):
        assert privacy.purge_unfollowed(services) == 0
    with time_machine.travel(dt.datetime(2026, 4, 1, tzinfo=UTC), tick=False):
        assert privacy.purge_unfollowed(services) == 1
    db.dispose()


def test_the_job_is_declared_daily():
    jobs = scheduler.load_jobs()
    assert jobs["cron:purge-unfollowed"].func is privacy.purge_unfollowed
    assert set(jobs["cron:purge-unfollowed"].cron) == {"hour", "minute"}


@pytest.mark.parametrize("value, days", [(None, 180), ("30", 30), ("3650", 3650)])
def test_retention_setting_accepts_whole_days(value, days):
    env = {} if value is None else {"PERSONAL_DATA_RETENTION_DAYS": value}
    assert load_settings({**env, "PUBLIC_BASE_URL": "http://127.0.0.1:8000"}).retention_days == days


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5", "3651"])
def test_retention_setting_refuses_nonsense(value):
    with pytest.raises(ConfigError, match="PERSONAL_DATA_RETENTION_DAYS"):
        load_settings({"PERSONAL_DATA_RETENTION_DAYS": value})


# --- flask users ----------------------------------------------------------------------------------

def test_users_export_prints_the_persons_data_as_json(app, db, line):
    uid = line.new_user("長崎 太郎")
    line.follow(uid)
    result = app.test_cli_runner().invoke(args=["users", "export", uid])
    assert result.exit_code == 0, result.output
    assert "長崎 太郎" in result.stdout  # UTF-8 as it is, not \u escapes
    data = json.loads(result.stdout)
    assert data["tables"]["users"][0]["display_name"] == "長崎 太郎"
    assert data["tables"]["outbox"] == [] or all(m["recipients"] == [uid] for m in data["tables"]["outbox"])
    with db.session() as s:
        [entry] = s.scalars(sa.select(AuditLog).where(AuditLog.action == "user.export")).all()
    assert entry.target == f"user:{data['tables']['users'][0]['id']}" and entry.details["via"] == "cli"


def test_users_delete_asks_first(app, db, line):
    uid = line.new_user()
    line.follow(uid)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "delete", uid], input="n\n")
    assert result.exit_code == 1 and "中止" in result.stderr
    result = runner.invoke(args=["users", "delete", uid])  # no answer at all
    assert result.exit_code == 1
    with db.session() as s:
        assert s.scalar(sa.select(User.id).where(User.line_user_id == uid))
    result = runner.invoke(args=["users", "delete", uid], input="y\n")
    assert result.exit_code == 0, result.output
    assert "削除しました" in result.stdout
    with db.session() as s:
        assert s.scalar(sa.select(User.id).where(User.line_user_id == uid)) is None
        [entry] = s.scalars(sa.select(AuditLog).where(AuditLog.action == "user.delete")).all()
    assert entry.details["via"] == "cli" and entry.details["operator"] and uid not in json.dumps(entry.details)


def test_users_delete_with_yes_does_not_ask(app, db, line):
    uid = line.new_user()
    line.follow(uid)
    result = app.test_cli_runner().invoke(args=["users", "delete", uid, "--yes"])
    assert result.exit_code == 0, result.output
    with db.session() as s:
        assert s.scalar(sa.select(User.id).where(User.line_user_id == uid)) is None


@pytest.mark.parametrize("command", ["export", "delete"])
def test_users_commands_refuse_unknown_and_malformed_ids(app, command):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", command, ev.new_user_id(), *(["--yes"] if command == "delete" else [])])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "登録されていません" in result.stderr and result.stdout == ""
    result = runner.invoke(args=["users", command, "花子"])
    assert result.exit_code == 2 and "LINEのユーザーID" in result.stderr
