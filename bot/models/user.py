from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

FOLLOWING = "following"
BLOCKED = "blocked"


class User(Base):
    """A job seeker who added the account as a friend (1:1 chat only)."""

    __tablename__ = "users"
    # Counting favourites on the user row serialises parallel saves (row lock) and lets the
    # database itself refuse the 301st.
    __table_args__ = (CheckConstraint("favorite_count BETWEEN 0 AND 300", name="favorite_cap"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(33), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=FOLLOWING)
    followed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    unfollowed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    favorite_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def is_following(self) -> bool:
        return self.status == FOLLOWING
