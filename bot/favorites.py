"""Favourite jobs: at most 300 per person, refused by the database itself beyond that."""
from __future__ import annotations

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from bot.db import dialect_of, per_dialect
from bot.models import Favorite, Job, User
from bot.models.favorite import MAX_FAVORITES

PAGE_SIZE = 10


class Full(Exception):
    """The person already keeps MAX_FAVORITES jobs."""


_SAVE = per_dialect(lambda insert: insert(Favorite.__table__).values(
    user_id=bindparam("user_id"), job_id=bindparam("job_id"))
    .on_conflict_do_nothing(index_elements=["user_id", "job_id"]).returning(Favorite.id))
_COUNT_UP = (update(User.__table__).where(User.id == bindparam("user_id"), User.favorite_count < MAX_FAVORITES)
             .values(favorite_count=User.favorite_count + 1).returning(User.favorite_count))


def add(session: Session, user_id: int, job_id: int) -> int | None:
    """Saves a job; returns how many the person keeps now, None when it was saved already; raises Full
    at the cap.

    Three statements at most, none of them failing: a parallel save of the same job waits for the
    first one's commit and then inserts nothing; the count on the user row goes up only below the cap,
    and on PostgreSQL its row lock makes parallel saves of different jobs take their turn there (the
    CHECK constraint on the count stays as the last guard)."""
    conn = session.connection()
    saved = conn.execute(_SAVE[dialect_of(session)], {"user_id": user_id, "job_id": job_id}).scalar()
    if saved is None:
        return None
    total = conn.execute(_COUNT_UP, {"user_id": user_id}).scalar()
    if total is None:
        conn.execute(delete(Favorite.__table__).where(Favorite.id == saved))
        raise Full()
    return total


def remove(session: Session, user_id: int, job_id: int) -> bool:
    removed = session.execute(delete(Favorite).where(Favorite.user_id == user_id, Favorite.job_id == job_id)
                              .execution_options(synchronize_session=False)).rowcount
    if removed:
        session.execute(update(User).where(User.id == user_id)
                        .values(favorite_count=User.favorite_count - removed)
                        .execution_options(synchronize_session=False))
    return bool(removed)


def count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Favorite).where(Favorite.user_id == user_id))


def page(session: Session, user_id: int, number: int = 1) -> tuple[int, list[Job]]:
    """(total, jobs) newest first; each job's status is as the catalogue says right now."""
    total = count(session, user_id)
    jobs = list(session.scalars(
        select(Job).join(Favorite, Favorite.job_id == Job.id).where(Favorite.user_id == user_id)
        .order_by(Favorite.created_at.desc(), Favorite.id.desc())
        .offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return total, jobs

