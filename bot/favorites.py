"""Favourite jobs: at most 300 per person, refused by the database itself beyond that."""
from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Favorite, Job, User
from bot.models.favorite import MAX_FAVORITES  # noqa: F401 - the cap, read by handlers

PAGE_SIZE = 10


class Full(Exception):
    """The person already keeps MAX_FAVORITES jobs."""


def has(session: Session, user_id: int, job_id: int) -> bool:
    return session.scalar(select(Favorite.id).where(Favorite.user_id == user_id, Favorite.job_id == job_id)) \
        is not None


def add(session: Session, user_id: int, job_id: int) -> bool:
    """Saves a job; False when it was saved already; raises Full at the cap.

    The count on the user row goes up in the same transaction: on PostgreSQL the row lock makes
    parallel saves wait their turn, and the CHECK constraint refuses the 301st."""
    if has(session, user_id, job_id):
        return False
    try:
        with session.begin_nested():
            session.execute(update(User).where(User.id == user_id)
                            .values(favorite_count=User.favorite_count + 1)
                            .execution_options(synchronize_session=False))
            session.add(Favorite(user_id=user_id, job_id=job_id))
            session.flush()
    except IntegrityError:
        if has(session, user_id, job_id):
            return False  # a parallel tap saved it a moment ago
        raise Full() from None
    return True


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

