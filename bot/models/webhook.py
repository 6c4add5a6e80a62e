from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class ProcessedEvent(Base):
    """One row per webhook event handled; the unique key makes LINE's redeliveries no-ops."""

    __tablename__ = "processed_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class PendingReply(Base):
    """A reply committed with its event's work and not yet confirmed as sent.

    The web process deletes the row once LINE has the answer (or once it is queued as a push). A row
    left behind means the process died in between; the dispatcher then sends it with the same reply
    token, which LINE accepts only if the first attempt never reached it (bot.line.replies)."""

    __tablename__ = "pending_replies"

    webhook_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(33))
    reply_token: Mapped[str] = mapped_column(String(255))
    messages: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ChatNotice(Base):
    """Group and room chats already told that the bot works in 1:1 chat (no personal data)."""

    __tablename__ = "chat_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(40), unique=True)
    noticed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
