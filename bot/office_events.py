"""Seminars, company-interview fairs and vocational training: what is shown, and who registered.

Places are held by the database: a registration raises events.registered_count in the same
transaction, and the CHECK (registered_count <= capacity) refuses one too many, also when many people
tap at once.
"""
from __future__ import annotations

import datetime as dt
import enum
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Event, EventRegistration
from bot.models.event import CANCELLED, REGISTERED

WEEKDAYS = "月火水木金土日"


class Outcome(enum.Enum):
    REGISTERED = "registered"
    ALREADY = "already"
    FULL = "full"
    CLOSED = "closed"          # past, cancelled, not published, or not applied for in LINE
    CANCELLED = "cancelled"
    NOT_REGISTERED = "not_registered"


def visible(now: dt.datetime):
    return [Event.cancelled.is_(False), Event.publish_from <= now,
            or_(Event.publish_until.is_(None), Event.publish_until > now), Event.starts_at > now]


def upcoming(session: Session, now: dt.datetime, kinds: tuple[str, ...] = (), limit: int = 10) -> list[Event]:
    query = select(Event).where(*visible(now)).order_by(Event.starts_at, Event.id).limit(limit)
    if kinds:
        query = query.where(Event.kind.in_(kinds))
    return list(session.scalars(query))


def shown(session: Session, event_id: int, now: dt.datetime) -> Event | None:
    """The event if people may see it now (someone tapping an old bubble gets None)."""
    return session.scalar(select(Event).where(Event.id == event_id, *visible(now)))


def registration(session: Session, event_id: int, user_id: int) -> EventRegistration | None:
    return session.scalar(select(EventRegistration).where(EventRegistration.event_id == event_id,
                                                          EventRegistration.user_id == user_id))


def is_registered(session: Session, event_id: int, user_id: int) -> bool:
    found = registration(session, event_id, user_id)
    return found is not None and found.status == REGISTERED


def register(session: Session, event: Event, user_id: int, now: dt.datetime) -> Outcome:
    if event.apply_method != "line" or shown(session, event.id, now) is None:
        return Outcome.CLOSED
    if is_registered(session, event.id, user_id):
        return Outcome.ALREADY
    try:
        with session.begin_nested():
            session.execute(update(Event).where(Event.id == event.id)
                            .values(registered_count=Event.registered_count + 1)
                            .execution_options(synchronize_session=False))
            existing = registration(session, event.id, user_id)
            if existing is None:
                session.add(EventRegistration(event_id=event.id, user_id=user_id, registered_at=now))
            else:
                existing.status, existing.registered_at, existing.cancelled_at = REGISTERED, now, None
            session.flush()
    except IntegrityError:
        return Outcome.ALREADY if is_registered(session, event.id, user_id) else Outcome.FULL
    session.refresh(event)
    return Outcome.REGISTERED


def cancel(session: Session, event: Event, user_id: int, now: dt.datetime) -> Outcome:
    found = registration(session, event.id, user_id)
    if found is None or found.status != REGISTERED:
        return Outcome.NOT_REGISTERED
    if event.starts_at <= now:
        return Outcome.CLOSED
    found.status, found.cancelled_at = CANCELLED, now
    session.execute(update(Event).where(Event.id == event.id)
                    .values(registered_count=Event.registered_count - 1)
                    .execution_options(synchronize_session=False))
    session.flush()
    session.refresh(event)
    return Outcome.CANCELLED


def when(event: Event, tz: ZoneInfo) -> str:
    """「12月3日(水) 13:30〜15:00」 in Japan time."""
    start = event.starts_at.astimezone(tz)
    text = f"{start.month}月{start.day}日({WEEKDAYS[start.weekday()]}) {start:%H:%M}"
    if event.ends_at:
        end = event.ends_at.astimezone(tz)
        text += f"〜{end:%H:%M}" if end.date() == start.date() else f"〜{end.month}月{end.day}日 {end:%H:%M}"
    return text


def card(event: Event, settings, registered: bool = False) -> dict:
    """What an event bubble (templates/flex/events.json.j2) shows, for one person or for a broadcast."""
    left = event.places_left
    image = f"{settings.public_base_url}/media/events/{event.image_name}" if event.image_name else None
    return {
        "id": event.id, "kind": event.kind, "title": event.title, "body": event.body,
        "when": when(event, settings.tz),
        "place": event.place or ("オンライン" if event.online_url else "未定"),
        "places": "定員なし" if left is None else ("満席" if left == 0 else f"定員{event.capacity}名・残り{left}名"),
        "registered": registered,
        "can_join": event.apply_method == "line" and not registered and left != 0,
        "apply_method": event.apply_method, "apply_url": event.apply_url,
        # LINE shows images from https addresses only (a demo on http simply goes without).
        "image_url": image if image and image.startswith("https://") else None,
    }
