"""Replies that survive the web process dying between its commit and LINE's answer.

A handler's replies are written to `pending_replies` in the handler's own transaction (`hold`), so the
answer is committed together with the work it reports. The web process then replies and deletes the row
(`settle`). A row still there some seconds later belongs to a process that died in between: the
dispatcher sends it (`resend_stale`) with the same reply token. LINE accepts a reply token once, so the
token itself tells what happened: accepted means the first attempt never reached LINE; 400 means it
did, and the person has the answer already.

Whoever deletes the row owns the answer: the web process pushes its failed reply only if its DELETE
still found the row, the dispatcher sends only the rows its DELETE returned. So the two never both send.

Settling a delivered reply needs no hurry: a row the dispatcher finds after its grace is resent with
a spent token, which LINE refuses, so nobody gets it twice. The web process therefore settles its
delivered replies in batches from a background thread (`Settler`), one DELETE for all of a half
second's replies, instead of a transaction of its own after every event.

A reply token lives about a minute. A row older than that (the dispatcher was down as long) cannot be
told apart any more: it goes out as a push, since a repeated answer is a smaller harm than a lost one
(a booking confirmed in the database and never confirmed to the person).
"""
from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import InterfaceError, OperationalError

from bot import users
from bot.line import outbox
from bot.line.checked import Checked
from bot.models import PendingReply, utcnow

log = logging.getLogger(__name__)

# LINE takes a reply token for about a minute after the webhook; a little less, to stay on the safe side.
TOKEN_LIFETIME = dt.timedelta(seconds=50)
BATCH = 20  # rows per transaction: the dispatcher holds their lock while it sends them


_HOLD = insert(PendingReply.__table__)  # Core, built once: every answered event runs it


def hold(session, event_id: str, user_id: str, reply_token: str, replies: list) -> None:
    session.connection().execute(_HOLD, {"webhook_event_id": event_id, "line_user_id": user_id,
                                         "reply_token": reply_token, "messages": [m.to_dict() for m in replies]})


# Built once: the settler runs it every half second, a failed reply once.
_SETTLE = delete(PendingReply).where(PendingReply.webhook_event_id.in_(bindparam("ids", expanding=True)))


def settle(session, event_id: str) -> bool:
    """Deletes the held reply; False when the dispatcher took it meanwhile (then it is the sender).
    `session` is a Session or a Connection."""
    return session.execute(_SETTLE, {"ids": [event_id]}).rowcount > 0


class Settler:
    """Deletes the held replies LINE has taken, in batches, from a thread of the web process.

    A process killed before its batch is written leaves at most `every` seconds of delivered replies
    held; the dispatcher finds them after its grace and LINE refuses their spent tokens (see above).
    While the database is unreachable the ids are kept for the next round, up to KEEP of them."""

    KEEP = 50_000  # beyond this the oldest are left to the dispatcher (each costs it one refused call)

    def __init__(self, db, every: float = 0.5):
        self.db, self.every = db, every
        self._ids: list[str] = []
        self._lock = threading.Lock()
        self._pid = None  # the process whose thread runs: a forked child starts its own
        self._work = threading.Event()  # set by add(): the thread sleeps on it while nothing is sent
        self._closed = threading.Event()

    def add(self, event_id: str) -> None:
        with self._lock:
            self._ids.append(event_id)
            self._work.set()
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="reply-settler", daemon=True).start()
                atexit.register(self.flush)  # a worker stopped gracefully settles what it sent

    def pending(self) -> int:
        with self._lock:
            return len(self._ids)

    def flush(self) -> int:
        """Settles every reply added so far; returns how many were written."""
        with self._lock:
            ids, self._ids = self._ids, []
        if not ids:
            return 0
        try:
            with self.db.engine.begin() as conn:
                conn.execute(_SETTLE, {"ids": ids})
        except (OperationalError, InterfaceError) as exc:
            with self._lock:
                self._ids[:0] = ids
                del self._ids[:-self.KEEP]
            log.warning("held replies not settled, database unavailable (%s); %d kept for the next round",
                        type(exc.orig or exc).__name__, len(ids))
            return 0
        return len(ids)

    def close(self) -> None:
        """Settles what is left and stops the thread (the database is about to go)."""
        self._closed.set()
        self._work.set()  # wakes an idle thread, which then sees the close and ends
        atexit.unregister(self.flush)
        self.flush()

    def _run(self) -> None:
        while True:
            self._work.wait()  # idle until a reply is delivered
            if self._closed.wait(self.every):  # then gather the next half second's, unless closing
                return
            self._work.clear()  # before the flush: a reply added during it wakes the next round
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                log.exception("settling held replies failed")


def push_instead(session, user_id: str, messages: list, event_id: str) -> None:
    """The answer as a push (reply token spent or expired), to a person who still follows."""
    user = users.find(session, user_id)
    if user is not None and user.is_following:
        outbox.push(session, user_id, messages, source=f"reply:{event_id}")


def resend_stale(services, grace: float, now: dt.datetime | None = None) -> int:
    """Sends the replies of web processes that died before confirming them; returns rows handled."""
    now = now or utcnow()
    with services.db.session() as session:
        ids = list(session.scalars(
            select(PendingReply.webhook_event_id)
            .where(PendingReply.created_at < now - dt.timedelta(seconds=grace))
            .order_by(PendingReply.created_at).limit(BATCH).with_for_update(skip_locked=True)))
        if not ids:
            return 0
        rows = session.execute(delete(PendingReply).where(PendingReply.webhook_event_id.in_(ids))
                               .returning(PendingReply.webhook_event_id, PendingReply.line_user_id,
                                          PendingReply.reply_token, PendingReply.messages,
                                          PendingReply.created_at)).all()
        for row in rows:
            _resend(services, session, row, now - row.created_at)
        return len(rows)


def _resend(services, session, row, age: dt.timedelta) -> None:
    event_id, user_id, token, messages = row.webhook_event_id, row.line_user_id, row.reply_token, row.messages
    if age < TOKEN_LIFETIME:
        result = services.line.reply(token, [Checked.of(m) for m in messages])
        if result.outcome == "sent":
            log.warning("reply for event %s was lost with its web process; sent now", event_id)
            return
        if result.status == 400:
            log.info("reply for event %s had reached LINE before its web process died", event_id)
            return
        if result.outcome == "retry" and age + dt.timedelta(seconds=10) < TOKEN_LIFETIME:
            # LINE busy or slow: kept for the next round while the token is still good.
            session.add(PendingReply(webhook_event_id=event_id, line_user_id=user_id, reply_token=token,
                                     messages=messages, created_at=row.created_at))
            return
    log.warning("reply for event %s could not be settled with its token; sent as a push", event_id)
    push_instead(session, user_id, messages, event_id)
