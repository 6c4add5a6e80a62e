"""配信設定: what each friend wants pushed. Every push path asks here (or the dispatcher does)."""
from __future__ import annotations

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.orm import Session

from bot.models import Preferences, User
from bot.models.preferences import TOPICS
from bot.models.user import FOLLOWING

TOPIC_LABELS = {
    "events": "セミナー・事業所面談会",
    "training": "職業訓練",
    "recommendations": "おすすめ求人",
    "notices": "応募・相談予約のお知らせ",
}


def get(session: Session, user_id: int) -> Preferences:
    """The person's settings; a fresh (unsaved) row with the defaults when they never changed any."""
    prefs = session.get(Preferences, user_id)
    if prefs is None:
        prefs = Preferences(user_id=user_id, events=True, training=True, recommendations=True, notices=True,
                            stopped=False, interests=[])
    return prefs


def edit(session: Session, user_id: int) -> Preferences:
    prefs = session.get(Preferences, user_id)
    if prefs is None:
        prefs = get(session, user_id)
        session.add(prefs)
    return prefs


def allows(prefs: Preferences, topic: str | None) -> bool:
    if topic is None:
        return True
    return not prefs.stopped and bool(getattr(prefs, topic))


def allowing(topic: str | None):
    """A condition on User: following, and (if a topic is given) not opted out of it."""
    following = User.status == FOLLOWING
    if topic is None:
        return following
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic}")
    opted_out = exists().where(Preferences.user_id == User.id,
                               or_(Preferences.stopped, getattr(Preferences, topic) == false()))
    return and_(following, ~opted_out)


def refusing(session: Session, line_user_ids: set[str], topic: str | None) -> set[str]:
    """Which of these users must not get a push on `topic` (blocked, or opted out)."""
    ids, refused = list(line_user_ids), set()
    # In slices: a claim of multicast rows can hold 100,000 ids; PostgreSQL takes at most 65,535 parameters.
    for start in range(0, len(ids), 10_000):
        part = ids[start:start + 10_000]
        reachable = set(session.scalars(select(User.line_user_id).where(
            User.line_user_id.in_(part), allowing(topic))))
        known = set(session.scalars(select(User.line_user_id).where(User.line_user_id.in_(part))))
        # Ids we never saw as friends are left to LINE to judge; known ones must be reachable.
        refused |= known - reachable
    return refused
