"""Booking, changing and cancelling consultations; first come, first served.

A slot's places are held by the database: a booking raises consultation_slots.booked_count in the same
transaction, and the CHECK (booked_count <= capacity) refuses one past the number of counsellors, also
when fifty people tap at once. A person's own bookings are serialised on their users row, so the limit
of upcoming bookings per person holds under double taps too.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.booking import rules as booking_rules
from bot.booking.rules import Rules
from bot.db import insert_for
from bot.models import Booking, ConsultationSlot, OutboxMessage, User
from bot.models.booking import BOOKED, CANCELLED
from bot.models.outbox import PENDING

TOPICS = {
    "search": "仕事の探し方",
    "docs": "応募書類の書き方",
    "interview": "面接の受け方",
    "training": "職業訓練",
    "insurance": "雇用保険・手続き",
    "other": "その他",
}
NOTE_MAX = 200
BY_PERSON = "本人"


class Outcome(enum.Enum):
    BOOKED = "booked"
    FULL = "full"            # the last place was just taken
    CLOSED = "closed"        # past its deadline, not open yet, on a closure, or no longer offered
    LIMIT = "limit"          # the person already holds as many upcoming bookings as allowed
    ALREADY = "already"      # the person already booked this very slot


@dataclasses.dataclass
class Result:
    outcome: Outcome
    booking: Booking | None = None


def source_of(booking_id: int) -> str:
    """Outbox source of everything sent about one booking (cancelled with it while unsent)."""
    return f"booking:{booking_id}"


# --- slots ------------------------------------------------------------------------------------------

def ensure_slots(session: Session, rules: Rules, tz, now: dt.datetime) -> list[ConsultationSlot]:
    """Creates the slots the rules offer in the booking window and retires unbooked ones they no
    longer offer; returns the window's slots, soonest first. Idempotent and safe to run from several
    processes (insert … on conflict do nothing)."""
    today = booking_rules.local_day(now, tz)
    first, last = booking_rules.window(today, rules)
    wanted = {start for offset in range((last - first).days + 1)
              for start in booking_rules.slot_times(first + dt.timedelta(days=offset), rules, tz)}
    lo = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    hi = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    in_window = select(ConsultationSlot).where(ConsultationSlot.starts_at >= lo, ConsultationSlot.starts_at < hi)
    existing = {s.starts_at: s for s in session.scalars(in_window)}
    missing = [{"starts_at": start, "length_minutes": rules.length_minutes, "capacity": rules.capacity,
                "booked_count": 0, "retired": False, "updated_at": now}
               for start in sorted(wanted - set(existing))]
    if missing:
        session.execute(insert_for(session)(ConsultationSlot).on_conflict_do_nothing(index_elements=["starts_at"]), missing)
        existing = {s.starts_at: s for s in session.scalars(in_window)}
    for start, slot in existing.items():
        # A retired slot takes no new bookings; the ones it has stay valid.
        if slot.retired != (start not in wanted):
            slot.retired = start not in wanted
    session.flush()
    return [existing[start] for start in sorted(existing)]


def open_slots(session: Session, rules: Rules, closures, tz, now: dt.datetime) -> list[ConsultationSlot]:
    """Slots with a free place that can be booked now, soonest first."""
    today = booking_rules.local_day(now, tz)
    bookable_day = {}  # a day's slots share its answer (a few per day)
    found = []
    for slot in ensure_slots(session, rules, tz, now):
        if slot.retired or slot.booked_count >= slot.capacity:
            continue
        day = booking_rules.local_day(slot.starts_at, tz)
        if day not in bookable_day:
            bookable_day[day] = booking_rules.can_book(day, today, rules, closures)
        if bookable_day[day]:
            found.append(slot)
    return found


def bookable(slot: ConsultationSlot | None, rules: Rules, closures, tz, now: dt.datetime) -> bool:
    if slot is None or slot.retired:
        return False
    day = booking_rules.local_day(slot.starts_at, tz)
    return booking_rules.can_book(day, booking_rules.local_day(now, tz), rules, closures)


# --- a person's bookings -------------------------------------------------------------------------------

def owned(session: Session, user_id: int, booking_id: int) -> Booking | None:
    """The booking if it is this person's (anyone else's id gives None)."""
    return session.scalar(select(Booking).where(Booking.id == booking_id, Booking.user_id == user_id))


def upcoming(session: Session, user_id: int, now: dt.datetime) -> list[Booking]:
    return list(session.scalars(select(Booking).join(Booking.slot)
                                .where(Booking.user_id == user_id, Booking.status == BOOKED,
                                       ConsultationSlot.starts_at > now)
                                .order_by(ConsultationSlot.starts_at)))


def _lock_person(session: Session, user_id: int) -> None:
    # PostgreSQL: a row lock; SQLite's writers are already serialised by BEGIN IMMEDIATE.
    session.execute(select(User.id).where(User.id == user_id).with_for_update())


def book(session: Session, user_id: int, slot_id: int, topic: str, note: str | None, *, rules: Rules,
         closures, tz, now: dt.datetime, replacing: Booking | None = None) -> Result:
    """Books a place; with `replacing`, moves that booking to the new slot in the same transaction."""
    _lock_person(session, user_id)
    slot = session.get(ConsultationSlot, slot_id)
    if not bookable(slot, rules, closures, tz, now):
        return Result(Outcome.CLOSED)
    held = [b for b in upcoming(session, user_id, now) if replacing is None or b.id != replacing.id]
    if any(b.slot_id == slot_id for b in held):
        return Result(Outcome.ALREADY)
    if len(held) >= rules.max_upcoming:
        return Result(Outcome.LIMIT, held[0])
    try:
        with session.begin_nested():
            session.execute(update(ConsultationSlot).where(ConsultationSlot.id == slot_id)
                            .values(booked_count=ConsultationSlot.booked_count + 1)
                            .execution_options(synchronize_session=False))
            booking = Booking(slot_id=slot_id, user_id=user_id, status=BOOKED, topic=topic, note=note,
                              booked_at=now)
            session.add(booking)
            session.flush()
    except IntegrityError:
        return Result(Outcome.FULL)
    if replacing is not None:
        cancel(session, replacing, now, by=BY_PERSON)
    session.refresh(slot)
    return Result(Outcome.BOOKED, booking)


def cancel(session: Session, booking: Booking, now: dt.datetime, by: str) -> bool:
    """Frees the place; reminders not yet sent are withdrawn. False if it was not booked."""
    if booking.status != BOOKED:
        return False
    booking.status, booking.cancelled_at, booking.cancelled_by = CANCELLED, now, by
    session.execute(update(ConsultationSlot).where(ConsultationSlot.id == booking.slot_id)
                    .values(booked_count=ConsultationSlot.booked_count - 1)
                    .execution_options(synchronize_session=False))
    session.execute(delete(OutboxMessage).where(OutboxMessage.source == source_of(booking.id),
                                                OutboxMessage.status == PENDING))
    session.flush()
    session.expire(booking.slot, ["booked_count"])
    return True


def release_person(session: Session, user_id: int, now: dt.datetime, by: str) -> int:
    """Cancels a person's upcoming bookings (their data is being deleted); returns how many."""
    return sum(cancel(session, b, now, by) for b in upcoming(session, user_id, now))


def meeting(booking: Booking) -> dict:
    """Zoom details for this booking: its own when staff set them, else the slot's."""
    own = booking.zoom_url or booking.meeting_id
    source = booking if own else booking.slot
    return {"zoom_url": source.zoom_url, "meeting_id": source.meeting_id, "passcode": source.passcode}
