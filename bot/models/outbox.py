from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

PENDING = "pending"      # waiting for its next attempt
SENDING = "sending"      # claimed by a dispatcher until lease_until
SENT = "sent"            # LINE accepted it (or answered 409 for our retry key)
FAILED = "failed"        # LINE refused it for good (4xx) or attempts ran out
MERGED = "merged"        # folded into a multicast row (merged_into)
CANCELLED = "cancelled"  # nobody left to send to (all recipients unfollowed)
STATES = (PENDING, SENDING, SENT, FAILED, MERGED, CANCELLED)

KINDS = ("push", "multicast", "broadcast", "narrowcast")


def new_retry_key() -> str:
    return str(uuid.uuid4())


class OutboxMessage(Base):
    """A request to LINE waiting to be sent; written in the same transaction as its cause."""

    __tablename__ = "outbox"
    # The dispatcher's claim walks it in order (bot.line.dispatcher): status, then when due, then id.
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # User ids for push/multicast; empty for broadcast; narrowcast keeps its filter in payload.
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    payload: Mapped[dict] = mapped_column(JSON)
    # Same payload -> same hash: lets the dispatcher fold single pushes into one multicast.
    payload_hash: Mapped[str] = mapped_column(String(64), index=True)
    retry_key: Mapped[str] = mapped_column(String(36), unique=True, default=new_retry_key)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    line_request_id: Mapped[str | None] = mapped_column(String(64))
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    # What it is about (bot.models.preferences.TOPICS): the dispatcher drops recipients who turned
    # that topic off in 配信設定 since. None: an answer to the person, always delivered.
    topic: Mapped[str | None] = mapped_column(String(20))
    # What caused it (e.g. "broadcast:12"), for figures per broadcast.
    source: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
