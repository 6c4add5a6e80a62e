from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

FOLLOWING = "following"
BLOCKED = "blocked"


class User(Base):
    """A job seeker who added the account as a friend (1:1 chat only)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(33), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=FOLLOWING)
    followed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    unfollowed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def is_following(self) -> bool:
        return self.status == FOLLOWING
