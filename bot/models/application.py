from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

COUNTER = "counter"          # 窓口紹介 (recorded by staff)
ONLINE_REFERRAL = "online"   # オンラインハローワーク紹介
SELF = "self"                # オンライン自主応募
ROUTES = {COUNTER: "窓口紹介", ONLINE_REFERRAL: "オンラインハローワーク紹介", SELF: "オンライン自主応募"}
ONLINE_ROUTES = (ONLINE_REFERRAL, SELF)

STATUSES = ("応募中", "書類選考中", "面接予定", "採用", "不採用", "辞退", "取消")
FINAL = ("採用", "不採用", "辞退", "取消")


class Application(Base):
    """A job seeker's application to one job, by one of the three routes."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("user_id", "job_id"),)  # one application per job

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique pair's index, which starts with it, serves lookups by person.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    route: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(8), default="応募中")
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # In 選考が終わった求人: a final status, or the job closed long enough ago (bot.applications).
    finished: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    recorded_by: Mapped[str | None] = mapped_column(String(64))  # staff login id for 窓口紹介
