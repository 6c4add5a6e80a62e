from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

ADMIN = "admin"  # staff accounts and settings
STAFF = "staff"  # everything else in the console
ROLES = (ADMIN, STAFF)


class Staff(Base):
    """A Hello Work employee who signs in to the staff console (never a LINE user)."""

    __tablename__ = "staff"
    __table_args__ = (CheckConstraint("role IN ('admin', 'staff')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-case, so that sign-in does not depend on how the id is typed.
    login_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=STAFF)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def is_locked(self, now: dt.datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    # What Flask-Login asks of a user object, without importing Flask into the models.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        # The id carries a fingerprint of the password hash: resetting the password ends every
        # session signed in with the old one (the session cookie cannot be revoked otherwise).
        return f"{self.id}.{self.password_fingerprint}"

    @property
    def password_fingerprint(self) -> str:
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]


class AuditLog(Base):
    """Who changed what in the console, when and from where; rows are only ever added."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for actions from the command line or by someone not signed in (failed sign-ins).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
