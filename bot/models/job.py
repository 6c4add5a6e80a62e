from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, SmallInteger, String, Text, \
    UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

OPEN = "有効"
CLOSED = "無効"


class Job(Base):
    """A job listing modelled on the Hello Work job posting (求人票)."""

    __tablename__ = "jobs"
    __table_args__ = (
        # A search's page is ordered by (received_on, id) or (wage_monthly_max, id): with the id in the
        # index the first page is read in order and stops after ten hits.
        Index("ix_jobs_open_received", "status", "received_on", "id"),
        Index("ix_jobs_open_wage", "status", "wage_monthly_max", "id"),
        # Covers the search form's filters, so that counting hits reads the index alone.
        Index("ix_jobs_filters", "status", "category", "employment_type", "municipality_code",
              "occupation_major", "wage_monthly_max", "weekends_off", "online_application"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_number: Mapped[str] = mapped_column(String(14), unique=True)  # 求人番号 42040-12345678
    office: Mapped[str] = mapped_column(String(40))  # 受理安定所
    company_name: Mapped[str] = mapped_column(String(200))
    company_address: Mapped[str | None] = mapped_column(String(300))
    occupation: Mapped[str] = mapped_column(String(200))  # 職種
    occupation_major: Mapped[str] = mapped_column(String(1), index=True)  # 厚生労働省編職業分類 大分類 A-K
    occupation_middle: Mapped[str | None] = mapped_column(String(2))  # 中分類 01-73
    description: Mapped[str] = mapped_column(Text, default="")  # 仕事内容
    employment_type: Mapped[str] = mapped_column(String(20))  # 正社員 / 正社員以外 / パート / ...
    category: Mapped[str] = mapped_column(String(20), index=True)  # 一般フルタイム / 一般パート / ...
    prefecture: Mapped[str] = mapped_column(String(8))
    municipality_code: Mapped[str] = mapped_column(String(5), index=True)
    work_address: Mapped[str | None] = mapped_column(String(300))
    wage_min: Mapped[int] = mapped_column(Integer)
    wage_max: Mapped[int] = mapped_column(Integer)
    wage_unit: Mapped[str] = mapped_column(String(4))  # 月給 / 日給 / 時給
    # The wage as a monthly amount, so that 時給 and 月給 compare (see bot.jobs.catalogue).
    wage_monthly_min: Mapped[int] = mapped_column(Integer)
    wage_monthly_max: Mapped[int] = mapped_column(Integer)
    working_hours: Mapped[str | None] = mapped_column(String(200))
    shift_type: Mapped[str | None] = mapped_column(String(20))  # 固定 / 交替制 / シフト制
    days_off: Mapped[str | None] = mapped_column(String(100))
    weekends_off: Mapped[bool] = mapped_column(Boolean, default=False)  # 土日祝休み
    age_limit: Mapped[str | None] = mapped_column(String(60))
    received_on: Mapped[dt.date] = mapped_column(Date)  # 受付年月日
    referral_deadline: Mapped[dt.date | None] = mapped_column(Date)  # 紹介期限日
    online_application: Mapped[bool] = mapped_column(Boolean, default=False)  # オンライン自主応募可
    status: Mapped[str] = mapped_column(String(4), default=OPEN)  # 有効 / 無効
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Normalised occupation + description + company for n-gram search (bot.jobs.text.searchable).
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Its two-character pieces, for words too short for the trigram index (bot.jobs.text.bigrams).
    search_bigrams: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


MAX_SAVED_SEARCHES = 3


class SavedSearch(Base):
    """One of a person's at most three saved search conditions; the slot makes the cap a database rule."""

    __tablename__ = "saved_searches"
    __table_args__ = (
        UniqueConstraint("user_id", "slot"),
        CheckConstraint(f"slot BETWEEN 1 AND {MAX_SAVED_SEARCHES}", name="slot_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique pair's index, which starts with it, serves lookups by person.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(20))
    conditions: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RecentSearch(Base):
    """A search a person just ran, so that 次の10件 and 保存 can refer to it by a short id."""

    __tablename__ = "recent_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    conditions: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
