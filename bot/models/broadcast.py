from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

DRAFT = "draft"          # being written
SCHEDULED = "scheduled"  # waits for scheduled_at (the clock's send-due job picks it up)
QUEUED = "queued"        # written to the outbox; the dispatcher is delivering it
CANCELLED = "cancelled"
REFUSED = "refused"      # the monthly quota would not cover it (reason in `note`)
STATUSES = (DRAFT, SCHEDULED, QUEUED, CANCELLED, REFUSED)


class Broadcast(Base):
    """A message staff send to all friends or a segment, now or at a set time."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(60))  # for staff lists only
    topic: Mapped[str] = mapped_column(String(20))  # which 配信設定 switch applies
    text: Mapped[str | None] = mapped_column(Text)
    image_name: Mapped[str | None] = mapped_column(String(80))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    # {"municipalities": [...], "interests": [...], "event_id": N}; empty = every friend.
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT, index=True)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    targeted: Mapped[int] = mapped_column(Integer, default=0)  # friends the audience matched
    skipped: Mapped[int] = mapped_column(Integer, default=0)   # of those: blocked or opted out
    via: Mapped[str | None] = mapped_column(String(12))        # "multicast" or "broadcast" (LINE API)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
