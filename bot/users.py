"""Looking up and creating the friends the bot talks to."""
from __future__ import annotations

import dataclasses

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.db import dialect_of, per_dialect
from bot.models import User, utcnow
from bot.models.user import BLOCKED, FOLLOWING


_FIND = select(User).where(User.line_user_id == bindparam("line_user_id"))  # built once: every event runs it


def find(session: Session, line_user_id: str) -> User | None:
    return session.scalar(_FIND, {"line_user_id": line_user_id})


@dataclasses.dataclass(frozen=True)
class Friend:
    """Who an event comes from: what handlers use of the user row (its id), without loading all of it
    as an ORM object on every event."""
    id: int
    line_user_id: str


_FIND_ID = select(User.id).where(User.line_user_id == bindparam("line_user_id"))
# A new friend in one statement (RETURNING their id), or nothing if a parallel event of theirs, or an
# earlier one, added them.
_ADD = per_dialect(lambda insert: insert(User.__table__).values(
    line_user_id=bindparam("line_user_id"), display_name=bindparam("display_name"), status=FOLLOWING,
    followed_at=bindparam("now"), created_at=bindparam("now"))
    .on_conflict_do_nothing(index_elements=["line_user_id"]).returning(User.id))


def _add(session: Session, line_user_id: str, display_name: str | None = None) -> int | None:
    """Inserts the friend unless they are there already; their new id, or None."""
    return session.connection().execute(_ADD[dialect_of(session)], {
        "line_user_id": line_user_id, "display_name": display_name, "now": utcnow()}).scalar()


def friend(session: Session, line_user_id: str) -> Friend:
    """The sender of an event, added if missing (safe when two events of a new friend arrive at once)."""
    conn = session.connection()
    user_id = conn.execute(_FIND_ID, {"line_user_id": line_user_id}).scalar()
    if user_id is None:
        # None when a parallel event of theirs added them a moment ago
        user_id = _add(session, line_user_id) or conn.execute(_FIND_ID, {"line_user_id": line_user_id}).scalar_one()
    return Friend(user_id, line_user_id)


@dataclasses.dataclass(frozen=True)
class Followed:
    id: int
    display_name: str | None
    came_back: bool  # they had blocked the account before


def follow(session: Session, line_user_id: str, display_name: str | None) -> Followed:
    """Creates or reactivates a friend."""
    name = display_name[:100] if display_name else None
    added = _add(session, line_user_id, name)  # most follows are new friends: one statement
    if added is not None:
        return Followed(added, name, False)
    user = find(session, line_user_id)  # known: wrote before following, or came back after a block
    came_back = user.status == BLOCKED
    user.status = FOLLOWING
    user.followed_at = utcnow()
    user.unfollowed_at = None
    if name:
        user.display_name = name
    return Followed(user.id, user.display_name, came_back)


def unfollow(session: Session, line_user_id: str) -> User | None:
    user = find(session, line_user_id)
    if user is not None:
        user.status = BLOCKED
        user.unfollowed_at = utcnow()
    return user


def following_ids(session: Session, line_user_ids: list[str]) -> set[str]:
    """Which of these users still follow the account (pushes to the others are dropped)."""
    if not line_user_ids:
        return set()
    return set(session.scalars(select(User.line_user_id).where(
        User.line_user_id.in_(line_user_ids), User.status == FOLLOWING)))
