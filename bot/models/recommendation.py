from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class RecommendedJob(Base):
    """A job once sent to a person as おすすめ求人; the unique pair means it is never sent to them again."""

    __tablename__ = "recommended_jobs"
    __table_args__ = (UniqueConstraint("user_id", "job_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique pair's index, which starts with it, serves lookups by person.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    run_key: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RecommendationMark(Base):
    """Per person: when their last recommendation run started, and which run that was (restart safety)."""

    __tablename__ = "recommendation_marks"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    run_key: Mapped[str] = mapped_column(String(20))


class StaffRecommendation(Base):
    """Jobs a member of staff recommended to chosen people, with an application deadline (Japan date)."""

    __tablename__ = "staff_recommendations"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_login_id: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(500), default="")
    deadline: Mapped[dt.date] = mapped_column(Date())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StaffRecommendationItem(Base):
    """One job for one person in a staff recommendation; its id is what the LINE buttons carry."""

    __tablename__ = "staff_recommendation_items"
    __table_args__ = (UniqueConstraint("recommendation_id", "user_id", "job_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("staff_recommendations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
