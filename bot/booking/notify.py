"""What a person is told about their booking without asking: reminders the day before (at the hour the
rules give) and one hour before, new meeting details, and a cancellation by staff. All of it goes
through the outbox with the booking as its source, so cancelling a booking withdraws what is unsent."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import links, messages
from bot.booking import present, service
from bot.booking import rules as booking_rules
from bot.line import outbox
from bot.models import Booking, ConsultationSlot, User, utcnow
from bot.models.booking import BOOKED
from bot.scheduler import scheduled

HOUR_BEFORE = dt.timedelta(hours=1)
DAY_BEFORE = "明日はオンライン職業相談の日です"
SOON = "まもなくオンライン職業相談の時間です"


def _push(session: Session, booking: Booking, heading: str, intro: str, settings, now: dt.datetime) -> None:
    user = session.get(User, booking.user_id)
    closures = booking_rules.closure_days(session)
    card = present.card(booking, settings.tz, closures, now)
    body = messages.render("booking.json.j2", b=card, heading=heading, intro=intro, links=links)
    outbox.push(session, user.line_user_id, body, source=service.source_of(booking.id))


def queue_reminders(session: Session, settings, now: dt.datetime) -> int:
    """Queues the reminders that are due; each is sent once (the booking row records it)."""
    rules = booking_rules.load(session)
    tz = settings.tz
    due = session.scalars(select(Booking).join(Booking.slot).where(
        Booking.status == BOOKED, ConsultationSlot.starts_at > now,
        ConsultationSlot.starts_at <= now + dt.timedelta(days=2),
        or_(Booking.reminded_day_before_at.is_(None), Booking.reminded_hour_before_at.is_(None))))
    queued = 0
    for booking in list(due):
        start = booking.slot.starts_at
        eve = booking_rules.local_day(start, tz) - dt.timedelta(days=1)
        day_before_at = dt.datetime.combine(eve, dt.time(rules.reminder_hour), tzinfo=tz)
        if booking.reminded_hour_before_at is None and now >= start - HOUR_BEFORE:
            # Within the hour the day-before reminder has nothing left to add.
            booking.reminded_hour_before_at = now
            booking.reminded_day_before_at = booking.reminded_day_before_at or now
            _push(session, booking, SOON, f"{booking_rules.label_time(start, tz)}から相談を始めます。"
                  "開始10分前までにZoomに入室してお待ちください。", settings, now)
        elif booking.reminded_day_before_at is None and now >= day_before_at:
            booking.reminded_day_before_at = now
            _push(session, booking, DAY_BEFORE, "ご予約の相談日は明日です。参加方法をご確認ください。", settings, now)
        else:
            continue
        queued += 1
    session.flush()
    return queued


@scheduled("booking-reminders", "Remind people of their consultation the day before and one hour before",
           minute="*")
def send_reminders(services) -> int:
    with services.db.session() as session:
        return queue_reminders(session, services.settings, utcnow())


def details_changed(session: Session, bookings: list[Booking], settings, now: dt.datetime) -> int:
    """Tells everyone with an upcoming booking among `bookings` their new meeting details."""
    told = 0
    for booking in bookings:
        if booking.status == BOOKED and booking.slot.starts_at > now:
            _push(session, booking, "参加方法(Zoom)のお知らせ",
                  "ご予約の相談の参加方法が決まりました(変更になりました)。", settings, now)
            told += 1
    return told


def cancelled_by_office(session: Session, booking: Booking, settings, reason: str) -> None:
    user = session.get(User, booking.user_id)
    when = present.when(booking.slot, settings.tz)
    body = (f"{links.OFFICE_NAME}です。{when}のオンライン職業相談のご予約は、"
            "誠に申し訳ありませんが、こちらの都合により取り消しとなりました。")
    if reason:
        body += f"\n理由: {reason}"
    body += (f"\n\nお手数ですが、別の日時を「相談を予約する」からお選びいただくか、"
             f"{links.OFFICE_PHONE}へお電話ください。")
    # Its own source: the cancellation just withdrew what was queued under the booking's.
    outbox.push(session, user.line_user_id, [messages.text(body)], source=f"booking-cancel:{booking.id}")
