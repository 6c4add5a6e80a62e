"""Listings as people read them: the strings the Flex templates show."""
from __future__ import annotations

import datetime as dt

from bot import links
from bot.jobs import reference
from bot.models import Job


def wage_text(job: Job) -> str:
    if job.wage_min == job.wage_max:
        return f"{job.wage_unit} {job.wage_min:,}円"
    return f"{job.wage_unit} {job.wage_min:,}円〜{job.wage_max:,}円"


def date_text(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "記載なし"


def card(job: Job) -> dict:
    """Everything a job bubble shows, as plain strings."""
    return {
        "number": job.job_number,
        "title": job.occupation,
        "company": job.company_name,
        "place": reference.MUNICIPALITIES.get(job.municipality_code, job.work_address or "")
        or (job.work_address or "記載なし"),
        "address": job.work_address or "",
        "wage": wage_text(job),
        "hours": job.working_hours or "記載なし",
        "days_off": job.days_off or "記載なし",
        "employment": f"{job.employment_type}({job.category})",
        "deadline": date_text(job.referral_deadline),
        "received": date_text(job.received_on),
        "is_open": job.is_open,
        "status": "募集中" if job.is_open else "募集終了",
        "online": job.online_application,
        "description": job.description,
        "listing_url": links.job_listing(job.job_number),
    }
