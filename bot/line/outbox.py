"""Writing to the outbox: pushes, multicasts, broadcasts and narrowcasts are rows in the caller's
transaction, delivered later by the dispatcher (bot/line/dispatcher.py). Nothing here talks to LINE."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from bot.line.checked import Checked
from bot.line.limits import MAX_MULTICAST, check_messages
from bot.models import OutboxMessage, utcnow
from bot.models.base import EncodedJSON
from bot.models.outbox import FAILED, PENDING, STATES, new_retry_key

# push_many's rows carry their payload's JSON text, encoded once for the hash and the column.
_MANY = insert(OutboxMessage.__table__).values(payload=bindparam("payload_json", type_=EncodedJSON()))


def _as_dicts(messages) -> list[dict]:
    messages = list(messages)
    if messages and all(isinstance(m, Checked) for m in messages):
        return [m.to_dict() for m in messages]  # checked when they were made (bot.messages)
    dicts = [m if isinstance(m, dict) else m.to_dict() for m in messages]
    check_messages(dicts)
    return dicts


def encoded(payload: dict) -> tuple[str, str]:
    """The payload's JSON text and its hash; equal payloads get equal hashes whatever their keys' order."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text, hashlib.sha256(text.encode()).hexdigest()


def payload_hash(payload: dict) -> str:
    return encoded(payload)[1]


def _row(kind: str, recipients: list[str], payload: dict, source: str | None,
         topic: str | None = None) -> OutboxMessage:
    return OutboxMessage(kind=kind, recipients=recipients, payload=payload,
                         payload_hash=payload_hash(payload), source=source, topic=topic)


def _chunks(ids: list[str]) -> list[tuple[str, list[str]]]:
    """One push, or multicasts of at most 500."""
    if len(ids) == 1:
        return [("push", ids)]
    return [("multicast", ids[i:i + MAX_MULTICAST]) for i in range(0, len(ids), MAX_MULTICAST)]


def push(session: Session, user_ids: str | Iterable[str], messages, *, source: str | None = None,
         topic: str | None = None, not_before: dt.datetime | None = None) -> list[OutboxMessage]:
    """Queues the same messages to one or many users: one push, or multicasts of at most 500.

    `topic` (bot.models.preferences.TOPICS) makes the dispatcher skip whoever turned it off;
    `not_before` holds the rows back until then (quiet hours)."""
    ids = [user_ids] if isinstance(user_ids, str) else list(dict.fromkeys(user_ids))
    payload = {"messages": _as_dicts(messages)}
    rows = [_row(kind, chunk, payload, source, topic) for kind, chunk in _chunks(ids)]
    if not_before is not None:
        for row in rows:
            row.next_attempt_at = not_before
    session.add_all(rows)
    return rows


def push_many(session: Session, items: Iterable[tuple[Iterable[str], list]], *, source: str | None = None,
              topic: str | None = None, checked: bool = False) -> int:
    """push() for many (user ids, messages) pairs in one INSERT, without ORM objects: for jobs that
    queue thousands of people at once. Each distinct messages object is checked once, or not at all
    with `checked=True` (dicts from bot.messages.render_dicts, which checked them). Returns rows."""
    now, rows, seen = utcnow(), [], {}
    for user_ids, messages in items:
        if id(messages) not in seen:  # the object is kept in `seen`, so its id stays its own
            payload = {"messages": list(messages) if checked else _as_dicts(messages)}
            seen[id(messages)] = (messages, *encoded(payload))
        _, text, digest = seen[id(messages)]
        rows += [{"kind": kind, "recipients": chunk, "payload_json": text, "payload_hash": digest,
                  "source": source, "topic": topic, "retry_key": new_retry_key(), "status": PENDING,
                  "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now}
                 for kind, chunk in _chunks(list(dict.fromkeys(user_ids)))]
    if rows:
        session.execute(_MANY, rows)
    return len(rows)


def broadcast(session: Session, messages, *, source: str | None = None) -> OutboxMessage:
    row = _row("broadcast", [], {"messages": _as_dicts(messages)}, source)
    session.add(row)
    return row


def narrowcast(session: Session, messages, *, recipient=None, filter=None, limit=None,
               source: str | None = None) -> OutboxMessage:
    extra = {k: v for k, v in {"recipient": recipient, "filter": filter, "limit": limit}.items() if v}
    row = _row("narrowcast", [], {"messages": _as_dicts(messages), "narrowcast": extra}, source)
    session.add(row)
    return row


def counts(session: Session) -> dict[str, int]:
    found = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return {state: found.get(state, 0) for state in STATES}


def retry_failed(session: Session, ids: list[int] | None = None) -> int:
    """Puts failed rows back in the queue (keeping their retry keys, so nothing is sent twice)."""
    stmt = update(OutboxMessage).where(OutboxMessage.status == FAILED)
    if ids:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    result = session.execute(stmt.values(status=PENDING, attempts=0, next_attempt_at=utcnow(),
                                         last_error=None))
    return result.rowcount
