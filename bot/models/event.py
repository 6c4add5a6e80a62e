from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

KINDS = ("セミナー", "事業所面談会", "職業訓練", "その他")
APPLY_METHODS = ("line", "link", "none")  # in LINE, on another site, no application needed
REGISTERED = "registered"
CANCELLED = "cancelled"


class Event(Base):
    """A seminar, company-interview fair or vocational training course that staff announce."""

    __tablename__ = "events"
    # The count of registrations lives on the row: concurrent sign-ups queue on its lock and the
    # database refuses one past the capacity.
    __table_args__ = (CheckConstraint("capacity IS NULL OR registered_count <= capacity", name="capacity"),
                      CheckConstraint("registered_count >= 0", name="count_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    place: Mapped[str | None] = mapped_column(String(200))
    online_url: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int | None] = mapped_column(Integer)
    registered_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    image_name: Mapped[str | None] = mapped_column(String(80))  # file under instance/media/events
    apply_method: Mapped[str] = mapped_column(String(8), default="line")
    apply_url: Mapped[str | None] = mapped_column(String(500))
    publish_from: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    publish_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.registered_count)


class EventRegistration(Base):
    __tablename__ = "event_registrations"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=REGISTERED)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
