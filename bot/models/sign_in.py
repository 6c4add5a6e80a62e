from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class SignInAttempt(Base):
    """A console sign-in from one client address that did not succeed (or is being checked right now).

    Counted per address by console.auth to slow down guessing across many staff accounts from one
    place; rows older than the counting window are useless and are deleted (console.auth prunes an
    address's old rows on each attempt, bot.housekeeping the rest every night).
    """

    __tablename__ = "sign_in_attempts"
    __table_args__ = (Index("ix_sign_in_attempts_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # An IPv4 address, or the /64 network of an IPv6 one (see console.auth.address_key).
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
