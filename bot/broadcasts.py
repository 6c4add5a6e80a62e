"""Broadcasts: staff messages to every friend or a segment, now or at a set time, within the quota.

A broadcast is queued in one transaction: its audience is resolved (following friends who allow its
topic in 配信設定 and match the segment), the monthly quota is checked with LINE, and the messages go
to the outbox as multicasts of at most 500 — or, when it is for everyone and nobody opted out of its
topic, as one call to LINE's broadcast API. The dispatcher delivers; figures come from the outbox.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import messages, office_events, preferences
from bot.line import outbox
from bot.models import Broadcast, EventRegistration, OutboxMessage, Preferences, User, utcnow
from bot.models.broadcast import CANCELLED, DRAFT, QUEUED, REFUSED, SCHEDULED
from bot.models.event import REGISTERED
from bot.models.outbox import FAILED, PENDING, SENDING, SENT
from bot.models.user import FOLLOWING
from bot.scheduler import scheduled

log = logging.getLogger(__name__)


class BroadcastError(Exception):
    """Why a broadcast cannot go out; `message` is Japanese, for staff."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class QuotaRefused(BroadcastError):
    """The month's remaining messages would not cover this broadcast."""


def source(broadcast: Broadcast) -> str:
    return f"broadcast:{broadcast.id}"


def compose(session: Session, broadcast: Broadcast, settings) -> list[dict]:
    """The LINE messages of a broadcast: its text, its image, and its event's bubble."""
    result = []
    if broadcast.text:
        result.append({"type": "text", "text": broadcast.text})
    if broadcast.image_name:
        url = f"{settings.public_base_url}/media/broadcasts/{broadcast.image_name}"
        if url.startswith("https://"):  # LINE fetches images over https only
            result.append({"type": "image", "originalContentUrl": url, "previewImageUrl": url})
    if broadcast.event_id:
        event = session.get(office_events.Event, broadcast.event_id)
        if event is not None:
            result += messages.render_dicts("events.json.j2", cards=[office_events.card(event, settings)],
                                            heading=event.title, full=False)
    if not result:
        raise BroadcastError("本文・画像・イベントのいずれかを指定してください。")
    return result


@dataclasses.dataclass
class Audience:
    reachable: list[str]  # LINE user ids that will be sent to
    targeted: int         # friends the segment matched, reachable or not
    opted_out: int        # matched but following friends who turned the topic off or stopped all

    @property
    def skipped(self) -> int:
        return self.targeted - len(self.reachable)


def audience(session: Session, broadcast: Broadcast) -> Audience:
    """Friends matching the segment: every condition given must hold (municipality, interests, event)."""
    seg = broadcast.audience or {}
    query = select(User.line_user_id, User.status, Preferences).outerjoin(Preferences, Preferences.user_id == User.id)
    if seg.get("event_id"):
        query = query.join(EventRegistration, EventRegistration.user_id == User.id).where(
            EventRegistration.event_id == seg["event_id"], EventRegistration.status == REGISTERED)
    municipalities = set(seg.get("municipalities") or [])
    interests = set(seg.get("interests") or [])
    reachable, targeted, opted_out = [], 0, 0
    for line_user_id, status, prefs in session.execute(query):
        if municipalities and (prefs is None or prefs.municipality_code not in municipalities):
            continue
        if interests and (prefs is None or not interests & set(prefs.interests or [])):
            continue
        targeted += 1
        if status != FOLLOWING:
            continue
        if prefs is not None and not preferences.allows(prefs, broadcast.topic):
            opted_out += 1
            continue
        reachable.append(line_user_id)
    return Audience(reachable, targeted, opted_out)


def quota_left(line) -> int | None:
    """Messages LINE still allows this month (None: no limit); raises BroadcastError if LINE is silent."""
    try:
        quota = line.messaging.get_message_quota(_request_timeout=(3, 10))
        if quota.type == "none":
            return None
        used = line.messaging.get_message_quota_consumption(_request_timeout=(3, 10)).total_usage
    except Exception as exc:  # noqa: BLE001 - any failure means we cannot promise the quota
        log.warning("quota lookup failed: %s", type(exc).__name__)
        raise BroadcastError("LINEから今月の配信可能数を取得できなかったため、送信しませんでした。"
                             "しばらくしてからもう一度お試しください。") from None
    return max(0, quota.value - used)


def queue(session: Session, broadcast_id: int, services, left: int | None,
          now: dt.datetime | None = None) -> Broadcast:
    """Writes a draft or due broadcast to the outbox (once: the row is locked and its status moves).

    `left` is quota_left(), asked of LINE by the caller before the transaction opened: LINE may take
    seconds to answer, and on SQLite every writer (each webhook event) would wait meanwhile."""
    broadcast = session.scalar(select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update())
    if broadcast is None or broadcast.status not in (DRAFT, SCHEDULED):
        raise BroadcastError("この配信はすでに送信済みか、取り消されています。")
    payload = compose(session, broadcast, services.settings)
    people = audience(session, broadcast)
    if left is not None and len(people.reachable) > left:
        raise QuotaRefused(f"今月の残り配信可能数 {left:,}通に対して、この配信には {len(people.reachable):,}通が"
                           "必要なため、送信しませんでした。")
    everyone = not broadcast.audience and people.opted_out == 0
    if not people.reachable:
        broadcast.via = None
    elif everyone:
        # LINE's own broadcast reaches every friend in one call; only right when nobody opted out.
        outbox.broadcast(session, payload, source=source(broadcast))
        broadcast.via = "broadcast"
    else:
        outbox.push(session, people.reachable, payload, source=source(broadcast), topic=broadcast.topic)
        broadcast.via = "multicast"
    broadcast.status, broadcast.queued_at = QUEUED, now or utcnow()
    broadcast.targeted, broadcast.skipped = people.targeted, people.skipped
    return broadcast


def cancel(session: Session, broadcast: Broadcast) -> None:
    if broadcast.status not in (DRAFT, SCHEDULED):
        raise BroadcastError("送信を始めた配信は取り消せません。")
    broadcast.status = CANCELLED


def figures(session: Session, broadcast: Broadcast) -> dict[str, int]:
    """Targeted, sent, failed, waiting and skipped (blocked or opted out, also at delivery time)."""
    counts = {SENT: 0, FAILED: 0, PENDING: 0}
    rows = session.execute(select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.recipients)
                           .where(OutboxMessage.source == source(broadcast),
                                  OutboxMessage.status.in_([SENT, FAILED, PENDING, SENDING])))
    reachable = broadcast.targeted - broadcast.skipped
    for kind, status, recipients in rows:
        size = reachable if kind == "broadcast" else len(recipients)
        counts[PENDING if status == SENDING else status] += size
    done = counts[SENT] + counts[FAILED] + counts[PENDING]
    return {"targeted": broadcast.targeted, "sent": counts[SENT], "failed": counts[FAILED],
            "waiting": counts[PENDING], "skipped": broadcast.targeted - done}


def due(session: Session, now: dt.datetime) -> list[int]:
    return list(session.scalars(select(Broadcast.id).where(Broadcast.status == SCHEDULED,
                                                           Broadcast.scheduled_at <= now)
                                .order_by(Broadcast.scheduled_at, Broadcast.id)))


@scheduled("send-due-broadcasts", "Queue broadcasts whose time has come", minute="*")
def send_due(services) -> int:
    """Each due broadcast in its own transaction; a refused one is kept with its reason."""
    with services.db.session() as session:
        ids = due(session, utcnow())
    sent = 0
    for broadcast_id in ids:
        try:
            left = quota_left(services.line)
            with services.db.session() as session:
                queue(session, broadcast_id, services, left)
            sent += 1
        except QuotaRefused as exc:
            log.warning("broadcast %s refused: %s", broadcast_id, exc.message)
            _keep_refusal(services, broadcast_id, exc.message)
        except BroadcastError as exc:
            # LINE did not answer the quota question, or the row changed: try again next minute.
            log.warning("broadcast %s not sent yet: %s", broadcast_id, exc.message)
    return sent


def _keep_refusal(services, broadcast_id: int, note: str) -> None:
    """Records why a scheduled broadcast did not go out, so that staff see it (and it is not retried)."""
    with services.db.session() as session:
        broadcast = session.get(Broadcast, broadcast_id)
        if broadcast is not None and broadcast.status == SCHEDULED:
            broadcast.status, broadcast.note = REFUSED, note


def followers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.status == FOLLOWING))
