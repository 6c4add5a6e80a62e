"""Saved search conditions: at most three per person, held by the database (slots 1-3, unique)."""
from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.jobs.search import Conditions
from bot.models import RecentSearch, SavedSearch, utcnow
from bot.models.job import MAX_SAVED_SEARCHES

MAX_NAME = 20
RECENT_KEPT = 20  # recent searches kept per person for paging old carousels


class Full(Exception):
    """All three slots are taken."""


def listing(session: Session, user_id: int) -> list[SavedSearch]:
    return list(session.scalars(select(SavedSearch).where(SavedSearch.user_id == user_id)
                                .order_by(SavedSearch.slot)))


def owned(session: Session, user_id: int, saved_id: int) -> SavedSearch | None:
    """A saved search of this person only: someone else's id finds nothing."""
    return session.scalar(select(SavedSearch).where(SavedSearch.id == saved_id, SavedSearch.user_id == user_id))


def default_name(conditions: Conditions) -> str:
    name = conditions.summary()
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "…"


def save(session: Session, user_id: int, conditions: Conditions, name: str | None = None) -> SavedSearch:
    """Saves into a free slot; raises Full when all three are taken, also against parallel saves."""
    for _ in range(MAX_SAVED_SEARCHES):
        used = set(session.scalars(select(SavedSearch.slot).where(SavedSearch.user_id == user_id)))
        free = [slot for slot in range(1, MAX_SAVED_SEARCHES + 1) if slot not in used]
        if not free:
            raise Full()
        saved = SavedSearch(user_id=user_id, slot=free[0], name=(name or default_name(conditions))[:MAX_NAME],
                            conditions=conditions.to_dict())
        try:
            with session.begin_nested():
                session.add(saved)
        except IntegrityError:
            continue  # another save took that slot a moment ago: look again
        return saved
    raise Full()


def replace(session: Session, saved: SavedSearch, conditions: Conditions) -> SavedSearch:
    saved.conditions = conditions.to_dict()
    saved.name = default_name(conditions)
    saved.created_at = utcnow()
    return saved


def remove(session: Session, saved: SavedSearch) -> None:
    session.delete(saved)


# Everything of the person's older than their RECENT_KEPT newest.
_PRUNE = delete(RecentSearch).where(
    RecentSearch.user_id == bindparam("user_id"),
    RecentSearch.id <= select(RecentSearch.id).where(RecentSearch.user_id == bindparam("user_id"))
    .order_by(RecentSearch.id.desc()).limit(1).offset(RECENT_KEPT).scalar_subquery(),
).execution_options(synchronize_session=False)


# A Core INSERT: nothing reads the new row back as an object, only its id (every chat search runs it).
# It also returns the person's RECENT_KEPT-th newest search before it, if any: only then is there
# anything to prune (most people never search that often), and the prune's own statement is run.
_REMEMBER = insert(RecentSearch.__table__).values(
    user_id=bindparam("user"), conditions=bindparam("conditions")).returning(
    RecentSearch.id,
    select(RecentSearch.id).where(RecentSearch.user_id == bindparam("user"))
    .order_by(RecentSearch.id.desc()).limit(1).offset(RECENT_KEPT - 1).scalar_subquery())


def remember(session: Session, user_id: int, conditions: Conditions) -> int:
    """Keeps a search so its carousel can page and be saved, and returns its id; old ones are pruned."""
    recent_id, full = session.connection().execute(_REMEMBER, {"user": user_id,
                                                               "conditions": conditions.to_dict()}).one()
    if full is not None:
        session.execute(_PRUNE, {"user_id": user_id})
    return recent_id


def recent(session: Session, user_id: int, recent_id: int) -> RecentSearch | None:
    return session.scalar(select(RecentSearch).where(RecentSearch.id == recent_id,
                                                     RecentSearch.user_id == user_id))
