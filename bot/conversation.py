"""Multi-step flows (search wizard, booking, renaming), in the spirit of python-telegram-bot's
ConversationHandler: one flow per person at a time, kept in the database, expiring when left alone."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from bot.db import transaction_memo
from bot.models import Conversation, utcnow

DEFAULT_TTL = dt.timedelta(minutes=30)


_LOAD = select(Conversation).where(Conversation.user_id == bindparam("user_id"))  # every text message runs it


# The event processor looks the flow up for every text message, and a handler that starts or ends one
# would ask again: lookups are kept for the transaction (only this module writes conversations, and it
# keeps them up to date).


def _seen(session: Session) -> dict:
    return transaction_memo(session).setdefault("conversations", {})


def load(session: Session, user_id: int) -> Conversation | None:
    """The person's flow, expired or not (callers tell an expired flow apart to say so)."""
    seen = _seen(session)
    if user_id not in seen:
        seen[user_id] = session.scalar(_LOAD, {"user_id": user_id})
    return seen[user_id]


def known_to_have_none(session: Session, user_id: int) -> None:
    """The caller has just read that the person has no flow (the event processor's claim does)."""
    _seen(session)[user_id] = None


def active(session: Session, user_id: int, now: dt.datetime | None = None) -> Conversation | None:
    conv = load(session, user_id)
    if conv is not None and conv.expires_at <= (now or utcnow()):
        return None
    return conv


def start(session: Session, user_id: int, flow: str, step: str, data: dict | None = None,
          ttl: dt.timedelta = DEFAULT_TTL) -> Conversation:
    """Starts a flow, replacing any other the person had open."""
    conv = load(session, user_id)
    if conv is None:
        conv = Conversation(user_id=user_id)
        session.add(conv)
        _seen(session)[user_id] = conv
    conv.flow, conv.step, conv.data = flow, step, dict(data or {})
    conv.expires_at = utcnow() + ttl
    session.flush()
    return conv


def advance(conv: Conversation, step: str, ttl: dt.timedelta = DEFAULT_TTL, **data) -> None:
    conv.step = step
    conv.data = {**conv.data, **data}  # a new dict, so SQLAlchemy sees the JSON change
    conv.expires_at = utcnow() + ttl


def finish(session: Session, user_id: int) -> None:
    session.execute(delete(Conversation).where(Conversation.user_id == user_id))
    _seen(session)[user_id] = None
