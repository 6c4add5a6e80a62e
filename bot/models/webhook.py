from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class ProcessedEvent(Base):
    """One row per webhook event handled; the unique key makes LINE's redeliveries no-ops."""

    __tablename__ = "processed_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ChatNotice(Base):
    """Group and room chats already told that the bot works in 1:1 chat (no personal data)."""

    __tablename__ = "chat_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(40), unique=True)
    noticed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
