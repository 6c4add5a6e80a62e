"""Online job consultations (オンライン職業相談): the rules staff set, closures, slots and bookings."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

BOOKED = "booked"
CANCELLED = "cancelled"
ATTENDED = "attended"
NO_SHOW = "no_show"
STATUSES = (BOOKED, CANCELLED, ATTENDED, NO_SHOW)


class BookingRules(Base):
    """The one row (id 1) of the schedule staff configure; bot.booking.rules has the defaults."""

    __tablename__ = "booking_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    weekdays: Mapped[str] = mapped_column(String(20))       # "2,3,4": Monday is 0
    times: Mapped[str] = mapped_column(String(100))         # "10:00,11:00,15:00"
    length_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)          # counsellors per slot
    weeks_ahead: Mapped[int] = mapped_column(Integer)
    reminder_hour: Mapped[int] = mapped_column(Integer)     # the day before, Japan time
    max_upcoming: Mapped[int] = mapped_column(Integer)      # upcoming bookings one person may hold
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Closure(Base):
    """A day the office is closed besides weekends, national holidays and the New Year closure."""

    __tablename__ = "closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    reason: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsultationSlot(Base):
    """One consultation time. The count of bookings lives on the row: parallel bookings queue on its
    lock and the CHECK refuses one past the number of counsellors, on SQLite and PostgreSQL alike."""

    __tablename__ = "consultation_slots"
    __table_args__ = (CheckConstraint("booked_count <= capacity", name="slot_capacity"),
                      CheckConstraint("booked_count >= 0", name="slot_count_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), unique=True)
    length_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    booked_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set when the rules no longer offer this time; kept because bookings may point at it.
    retired: Mapped[bool] = mapped_column(default=False)
    zoom_url: Mapped[str | None] = mapped_column(String(500))
    meeting_id: Mapped[str | None] = mapped_column(String(40))
    passcode: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.length_minutes)

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked_count)


class Booking(Base):
    __tablename__ = "bookings"
    # One live booking per person and slot; cancelled ones stay as history.
    __table_args__ = (Index("uq_bookings_live", "slot_id", "user_id", unique=True,
                            sqlite_where=text("status = 'booked'"), postgresql_where=text("status = 'booked'")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("consultation_slots.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=BOOKED)
    topic: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(200))
    # Meeting details for this person only; when empty the slot's apply.
    zoom_url: Mapped[str | None] = mapped_column(String(500))
    meeting_id: Mapped[str | None] = mapped_column(String(40))
    passcode: Mapped[str | None] = mapped_column(String(40))
    booked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[str | None] = mapped_column(String(64))   # "本人" or a staff login
    reminded_day_before_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reminded_hour_before_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    slot: Mapped[ConsultationSlot] = relationship(lazy="joined")
