"""Listings for tests: plain dicts through the real catalogue upsert."""
from __future__ import annotations

import datetime as dt
import itertools

from bot.jobs import catalogue

_serial = itertools.count(1)


def job(**overrides) -> dict:
    n = next(_serial)
    row = {
        "job_number": f"42040-{n:08d}",
        "office": "ハローワーク大村",
        "company_name": "株式会社大村テスト工業",
        "company_address": "長崎県大村市玖島1丁目1-1",
        "occupation": "製造オペレーター",
        "occupation_major": "H",
        "occupation_middle": "53",
        "description": "食品工場での製造ラインの操作と検品をお願いします。",
        "employment_type": "正社員",
        "category": "一般フルタイム",
        "prefecture": "長崎県",
        "municipality_code": "42205",
        "work_address": "長崎県大村市森園町",
        "wage_min": 180000,
        "wage_max": 220000,
        "wage_unit": "月給",
        "working_hours": "8時30分〜17時30分",
        "shift_type": "固定",
        "days_off": "土日祝",
        "weekends_off": True,
        "age_limit": None,
        "received_on": dt.date(2026, 11, 1) + dt.timedelta(days=n % 20),
        "referral_deadline": dt.date(2027, 1, 31),
        "online_application": False,
        "status": "有効",
    }
    row.update(overrides)
    return row


def add_jobs(db, *rows: dict) -> list[dict]:
    with db.session() as session:
        catalogue.upsert(session, rows)
    return list(rows)


def friends(emulator, db, n: int, **prefs) -> list[str]:
    """`n` friends known to LINE (the emulator) and to the bot, with 配信設定 `prefs` when given."""
    from sqlalchemy import insert, select

    from bot.models import Preferences, User, utcnow
    from simulator import webhook_events as ev

    ids = [ev.new_user_id() for _ in range(n)]
    for uid in ids:
        emulator.add_user(uid)
    now = utcnow()
    with db.session() as s:
        s.execute(insert(User), [{"line_user_id": uid, "status": "following", "created_at": now} for uid in ids])
        if prefs:
            user_ids = s.scalars(select(User.id).where(User.line_user_id.in_(ids))).all()
            s.execute(insert(Preferences), [{"user_id": i, "events": True, "training": True, "recommendations": True,
                                             "notices": True, "stopped": False, "interests": [], "updated_at": now,
                                             **prefs} for i in user_ids])
    return ids
