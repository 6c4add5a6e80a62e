"""Writing to the outbox: pushes, multicasts, broadcasts and narrowcasts are rows in the caller's
transaction, delivered later by the dispatcher (bot/line/dispatcher.py). Nothing here talks to LINE."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.line.limits import MAX_MULTICAST, check_messages
from bot.models import OutboxMessage, utcnow
from bot.models.outbox import FAILED, PENDING, STATES


def _as_dicts(messages) -> list[dict]:
    dicts = [m if isinstance(m, dict) else m.to_dict() for m in messages]
    check_messages(dicts)
    return dicts


def payload_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _row(kind: str, recipients: list[str], payload: dict, source: str | None,
         topic: str | None = None) -> OutboxMessage:
    return OutboxMessage(kind=kind, recipients=recipients, payload=payload,
                         payload_hash=payload_hash(payload), source=source, topic=topic)


def push(session: Session, user_ids: str | Iterable[str], messages, *, source: str | None = None,
         topic: str | None = None) -> list[OutboxMessage]:
    """Queues the same messages to one or many users: one push, or multicasts of at most 500.

    `topic` (bot.models.preferences.TOPICS) makes the dispatcher skip whoever turned it off."""
    ids = [user_ids] if isinstance(user_ids, str) else list(dict.fromkeys(user_ids))
    payload = {"messages": _as_dicts(messages)}
    if len(ids) == 1:
        rows = [_row("push", ids, payload, source, topic)]
    else:
        rows = [_row("multicast", ids[i:i + MAX_MULTICAST], payload, source, topic)
                for i in range(0, len(ids), MAX_MULTICAST)]
    session.add_all(rows)
    return rows


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
