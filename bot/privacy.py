"""A person's data: export it, delete it, and delete it by itself once they unfollowed long ago.

What belongs to a person is found from the schema, not from a list kept by hand: every table with a
foreign key to `users` holds their rows, and so does every table with a foreign key to one of those
(a table added later is covered without a change here). The outbox keeps LINE user ids as strings
in `recipients`; it is searched on its own. Webhook event ids and group notices hold no user id.
The audit log keeps staff actions as they were: it names people only by the internal number
("user:12"), which points at nothing once the users row is gone.
"""
from __future__ import annotations

import datetime as dt
import decimal
import getpass
import json
import logging
import os
import re
import sys

import click
from sqlalchemy import Table, Text, and_, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.models import AuditLog, Base, OutboxMessage, PendingReply, User, utcnow
from bot.models.user import BLOCKED
from bot.scheduler import scheduled

log = logging.getLogger(__name__)

LINE_USER_ID = re.compile(r"U[0-9a-f]{32}")
# Places counted on a parent row (the database enforces capacity with them): a live child row that is
# deleted gives its place back. (child table, key to the parent, status column, live status, counter)
COUNTERS = (
    ("event_registrations", "event_id", "status", "registered", "registered_count"),
    ("bookings", "slot_id", "status", "booked", "booked_count"),
)


# --- where a person's rows are -------------------------------------------------------------------

def personal_tables() -> dict[str, list]:
    """{table name: [foreign keys that lead to the person]}, for every table that points at `users`
    directly or through other personal tables. Self-references (e.g. outbox.merged_into) are not paths."""
    users = Base.metadata.tables["users"]
    found: dict[str, list] = {}
    frontier = [users]
    while frontier:
        parents, frontier = frontier, []
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table in parents and fk.column.table is not table and table is not users:
                    if table.name not in found:
                        frontier.append(table)
                    if fk not in found.setdefault(table.name, []):
                        found[table.name].append(fk)
    return found


def _owned_by(table: Table, user_id: int, paths: dict[str, list]):
    """A WHERE clause for the rows of `table` that belong to the user with this users.id."""
    if table.name == "users":
        return table.c.id == user_id
    clauses = []
    for fk in paths[table.name]:
        parent = fk.column.table
        clauses.append(fk.parent.in_(select(fk.column).where(_owned_by(parent, user_id, paths))))
    return or_(*clauses)


def _outbox_rows(session: Session, line_user_id: str) -> list[OutboxMessage]:
    # The JSON list is matched as text (the same on both databases), then checked exactly.
    rows = session.scalars(select(OutboxMessage).where(
        cast(OutboxMessage.recipients, Text).like(f'%"{line_user_id}"%')).with_for_update())
    return [row for row in rows if line_user_id in (row.recipients or [])]


def _plain(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _as_dict(row) -> dict:
    return {key: _plain(value) for key, value in row._mapping.items()}


# --- export and delete ---------------------------------------------------------------------------

def export_user(session: Session, line_user_id: str) -> dict | None:
    """Everything stored about one person, as JSON-able data; None when there is no such person."""
    user = session.scalar(select(User).where(User.line_user_id == line_user_id))
    if user is None:
        return None
    paths = personal_tables()
    tables = {"users": [_as_dict(r) for r in session.execute(select(User.__table__).where(User.id == user.id))]}
    for name in sorted(paths):
        table = Base.metadata.tables[name]
        tables[name] = [_as_dict(r) for r in session.execute(
            select(table).where(_owned_by(table, user.id, paths)).order_by(*table.primary_key.columns))]
    outbox_rows = []
    for row in _outbox_rows(session, line_user_id):
        # A multicast also went to others: only this person's own id is shown.
        outbox_rows.append({"id": row.id, "kind": row.kind, "recipients": [line_user_id],
                            "messages": row.payload.get("messages", []), "status": row.status,
                            "topic": row.topic, "created_at": _plain(row.created_at),
                            "sent_at": _plain(row.sent_at)})
    tables["outbox"] = outbox_rows
    # Answers not yet confirmed as sent (bot.line.replies): kept by LINE user id, for seconds.
    held = PendingReply.__table__
    tables["pending_replies"] = [_as_dict(r) for r in session.execute(
        select(held).where(held.c.line_user_id == line_user_id))]
    return {"line_user_id": line_user_id, "exported_at": utcnow().isoformat(), "tables": tables}


def delete_user(session: Session, line_user_id: str) -> dict[str, int] | None:
    """Removes the person's rows everywhere; returns rows changed per table, or None if unknown.

    Rows reached by an ON DELETE SET NULL key are kept with the key cleared, as the schema says;
    all others are deleted, children before parents."""
    user = session.scalar(select(User).where(User.line_user_id == line_user_id).with_for_update())
    if user is None:
        return None
    paths = personal_tables()
    _give_places_back(session, user.id, paths)
    counts: dict[str, int] = {}
    order = [t for t in reversed(Base.metadata.sorted_tables) if t.name in paths]
    for table in order:
        kept_fks = [fk for fk in paths[table.name] if (fk.ondelete or "").upper() == "SET NULL"]
        for fk in kept_fks:
            parent = fk.column.table
            result = session.execute(update(table).where(
                fk.parent.in_(select(fk.column).where(_owned_by(parent, user.id, paths))))
                .values({fk.parent.name: None}))
            counts[table.name] = counts.get(table.name, 0) + result.rowcount
        if len(kept_fks) < len(paths[table.name]):
            result = session.execute(delete(table).where(_owned_by(table, user.id, paths)))
            counts[table.name] = counts.get(table.name, 0) + result.rowcount
    counts["outbox"] = _forget_in_outbox(session, line_user_id)
    counts["pending_replies"] = session.execute(
        delete(PendingReply).where(PendingReply.line_user_id == line_user_id)).rowcount
    session.execute(delete(User).where(User.id == user.id))
    counts["users"] = 1
    return {name: n for name, n in counts.items() if n}


def _give_places_back(session: Session, user_id: int, paths: dict[str, list]) -> None:
    for name, key, status, live, counter in COUNTERS:
        table = Base.metadata.tables.get(name)
        if table is None or name not in paths:
            continue
        fk = next(iter(table.c[key].foreign_keys))
        parent = fk.column.table
        taken = session.execute(select(table.c[key], func.count()).where(
            _owned_by(table, user_id, paths), table.c[status] == live).group_by(table.c[key])).all()
        for parent_id, n in taken:
            session.execute(update(parent).where(fk.column == parent_id)
                            .values({counter: parent.c[counter] - n}))


def _forget_in_outbox(session: Session, line_user_id: str) -> int:
    """A row for this person alone goes; a multicast keeps its other recipients (and is not sent to
    this person any more, if still queued)."""
    changed = 0
    for row in _outbox_rows(session, line_user_id):
        others = [uid for uid in row.recipients if uid != line_user_id]
        if others:
            row.recipients = others
        else:
            session.execute(update(OutboxMessage).where(OutboxMessage.merged_into == row.id)
                            .values(merged_into=None))
            session.delete(row)
        changed += 1
    session.flush()
    return changed


def _audit(session: Session, action: str, user_id: int, **details) -> None:
    # Written like console.auth.audit, without a request: no staff member is signed in here.
    session.add(AuditLog(staff_id=None, action=action, target=f"user:{user_id}", ip=None,
                         details=json.loads(json.dumps(details, ensure_ascii=False, default=str))))


# --- the retention job ---------------------------------------------------------------------------

def _expired(cutoff: dt.datetime):
    return and_(User.status == BLOCKED,
                or_(User.unfollowed_at < cutoff, and_(User.unfollowed_at.is_(None), User.created_at < cutoff)))


def expired_user_ids(session: Session, retention_days: int, now: dt.datetime) -> list[int]:
    cutoff = now - dt.timedelta(days=retention_days)
    return list(session.scalars(select(User.id).where(_expired(cutoff)).order_by(User.id)))


@scheduled("purge-unfollowed", "Delete the data of friends who unfollowed longer ago than the retention",
           hour=4, minute=10)
def purge_unfollowed(services) -> int:
    """One person per transaction, each checked again under its row lock: someone who came back as a
    friend in the meantime is kept."""
    days = services.settings.retention_days
    with services.db.session() as session:
        candidates = expired_user_ids(session, days, utcnow())
    deleted = 0
    for user_id in candidates:
        with services.db.session() as session:
            cutoff = utcnow() - dt.timedelta(days=days)
            user = session.scalar(select(User).where(User.id == user_id, _expired(cutoff)).with_for_update())
            if user is None:
                continue
            counts = delete_user(session, user.line_user_id)
            _audit(session, "user.delete", user_id, via="retention", retention_days=days, rows=counts)
            deleted += 1
    log.info("deleted the data of %d friends who unfollowed more than %d days ago", deleted, days)
    return deleted


# --- flask users export|delete -------------------------------------------------------------------

def _operator() -> str:
    """Who ran the command, as the operating system knows them (the audit log has no staff here)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or f"uid {os.getuid()}"


def register_cli(app) -> None:
    from flask import current_app

    from bot.cli import fail

    def checked(line_user_id: str) -> str:
        if not LINE_USER_ID.fullmatch(line_user_id):
            click.echo("error: LINEのユーザーIDではありません（U で始まる33文字です）: "
                       f"{line_user_id[:40]}", err=True)
            sys.exit(2)
        return line_user_id

    @app.cli.group("users")
    def users_group():
        """友だち（求職者）の個人データ: 開示と削除。"""

    @users_group.command("export")
    @click.argument("line_user_id")
    def export_command(line_user_id: str):
        """保存しているその方のデータをすべてJSONで標準出力に出します。"""
        line_user_id = checked(line_user_id)
        with current_app.extensions["bot"].db.session() as session:
            data = export_user(session, line_user_id)
            if data is None:
                fail(f"このLINEユーザーIDの友だちは登録されていません: {line_user_id}")
            _audit(session, "user.export", data["tables"]["users"][0]["id"], via="cli",
                   operator=_operator())
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))

    @users_group.command("delete")
    @click.argument("line_user_id")
    @click.option("--yes", is_flag=True, help="確認せずに削除します")
    def delete_command(line_user_id: str, yes: bool):
        """その方のデータをすべて削除します（元に戻せません）。"""
        line_user_id = checked(line_user_id)
        with current_app.extensions["bot"].db.session() as session:
            user = session.scalar(select(User).where(User.line_user_id == line_user_id))
            if user is None:
                fail(f"このLINEユーザーIDの友だちは登録されていません: {line_user_id}")
            user_id = user.id
        try:
            confirmed = yes or click.confirm(f"{line_user_id} のデータをすべて削除します。よろしいですか",
                                             err=True, default=False)
        except click.Abort:  # no answer (end of input, Ctrl-C)
            confirmed = False
        if not confirmed:
            fail("削除を中止しました")
        with current_app.extensions["bot"].db.session() as session:
            counts = delete_user(session, line_user_id)
            if counts is None:
                fail(f"このLINEユーザーIDの友だちは登録されていません: {line_user_id}")
            _audit(session, "user.delete", user_id, via="cli", operator=_operator(), rows=counts)
        summary = "、".join(f"{name} {n}件" for name, n in sorted(counts.items()))
        click.echo(f"{line_user_id} のデータを削除しました（{summary}）")
