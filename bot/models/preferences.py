from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

# What a push is about; each is a switch in 配信設定. A push without a topic (the answer to
# something the person just did) is always delivered.
TOPICS = ("events", "training", "recommendations", "notices")


class Preferences(Base):
    """配信設定: which pushes a friend wants, and what they told us for segments. No row = defaults."""

    __tablename__ = "preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    events: Mapped[bool] = mapped_column(Boolean, default=True)           # セミナー・事業所面談会
    training: Mapped[bool] = mapped_column(Boolean, default=True)         # 職業訓練
    recommendations: Mapped[bool] = mapped_column(Boolean, default=True)  # おすすめ求人
    notices: Mapped[bool] = mapped_column(Boolean, default=True)          # 応募・相談予約のお知らせ
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)         # すべて停止
    municipality_code: Mapped[str | None] = mapped_column(String(5))      # お住まいの地域
    interests: Mapped[list] = mapped_column(JSON, default=list)           # 関心のある職種 (大分類)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
