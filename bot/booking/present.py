"""What the booking templates (templates/flex/booking*.json.j2) and the console show of a booking."""
from __future__ import annotations

import datetime as dt

from bot.booking import rules as booking_rules
from bot.booking.rules import Rules, label_day, label_time, local_day
from bot.booking.service import TOPICS, meeting
from bot.models import Booking, ConsultationSlot
from bot.models.booking import BOOKED

ZOOM_DOWNLOAD = "https://zoom.us/download"


def when(slot: ConsultationSlot, tz) -> str:
    """「12月2日(水) 10:00〜10:30」"""
    return (f"{label_day(local_day(slot.starts_at, tz))} "
            f"{label_time(slot.starts_at, tz)}〜{label_time(slot.ends_at, tz)}")


def card(booking: Booking, tz, closures, now: dt.datetime) -> dict:
    day = local_day(booking.slot.starts_at, tz)
    details = meeting(booking)
    url = details["zoom_url"] if (details["zoom_url"] or "").startswith("https://") else None
    return {
        "id": booking.id,
        "when": when(booking.slot, tz),
        "topic": TOPICS.get(booking.topic, booking.topic),
        "note": booking.note or "",
        "zoom_url": url,
        "meeting_id": details["meeting_id"] or "",
        "passcode": details["passcode"] or "",
        "has_details": bool(url or details["meeting_id"]),
        "deadline": label_day(booking_rules.deadline(day, closures)),
        "can_change": booking.status == BOOKED and booking.slot.starts_at > now
        and booking_rules.can_change(day, local_day(now, tz), closures),
        "zoom_download": ZOOM_DOWNLOAD,
    }


def schedule(rules: Rules) -> dict:
    """The office's consultation days and times in words, for the information bubble."""
    days = "・".join(booking_rules.WEEKDAY_NAMES[d] for d in rules.weekdays)
    hours = "・".join(f"{t.hour}時" if t.minute == 0 else f"{t.hour}時{t.minute}分" for t in rules.times)
    return {"days": f"毎週{days}曜日", "times": f"{hours}から各{rules.length_minutes}分",
            "weeks_ahead": rules.weeks_ahead, "deadline_days": booking_rules.DEADLINE_OPEN_DAYS}
