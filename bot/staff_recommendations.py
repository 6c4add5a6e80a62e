"""おすすめ求人 (part 2): staff recommend chosen jobs to chosen people from the console, with an
application deadline (応募期限日, Japan date, inclusive). Each person gets one push of a carousel; the
buttons carry the item id, so a tap is checked against that person, that job and that deadline.

Each job is also recorded as recommended to the person (RecommendedJob), so the weekly run never sends
it again; the monthly quota is checked first, and at night the pushes wait for the morning."""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import applications, messages
from bot.broadcasts import BroadcastError, quota_left
from bot.jobs.present import card
from bot.line import outbox
from bot.models import Job, RecommendedJob, StaffRecommendation, StaffRecommendationItem, User
from bot.models.application import ONLINE_REFERRAL
from bot.router import job_number

TOPIC = "recommendations"
STAFF_PREFIX = "staff:"  # RecommendedJob.run_key; bot.recommendations keeps these out of 「おすすめ」
MAX_DAYS = 60
DEFAULT_DAYS = 7
MAX_JOBS = 10
MAX_PEOPLE = 500
MAX_MESSAGE = 500


def split(text: str) -> list[str]:
    """Entries one per line or separated by commas (also 、 and full-width commas), blanks dropped."""
    return [p.strip() for p in re.split(r"[\n,、，]+", text or "") if p.strip()]


@dataclasses.dataclass
class Checked:
    jobs: list[Job]
    users: list[User]
    job_errors: list[str]
    user_errors: list[str]


def check(session: Session, job_text: str, user_text: str) -> Checked:
    jobs, job_errors, unknown, closed, bad = [], [], [], [], []
    for raw in split(job_text):
        try:
            number = job_number(raw)
        except ValueError:
            bad.append(raw)
            continue
        job = session.scalar(select(Job).where(Job.job_number == number))
        if job is None:
            unknown.append(number)
        elif not job.is_open:
            closed.append(number)
        elif job not in jobs:
            jobs.append(job)
    if bad:
        job_errors.append("求人番号の形ではありません: " + "、".join(bad[:20]) + "(例: 42040-12345678)")
    if unknown:
        job_errors.append("見つからない求人番号: " + "、".join(unknown[:20]))
    if closed:
        job_errors.append("募集が終了した求人: " + "、".join(closed[:20]))
    if not (bad or unknown or closed) and not jobs:
        job_errors.append("求人番号を入力してください。")
    if len(jobs) > MAX_JOBS:
        job_errors.append(f"一度におすすめできる求人は{MAX_JOBS}件までです。")
    users, user_errors, missing, blocked = [], [], [], []
    for raw in split(user_text):
        raw = raw.lstrip("#＃")
        user = session.get(User, int(raw)) if raw.isdigit() and len(raw) <= 10 else None
        if user is None:
            missing.append(raw)
        elif user.status != "following":
            blocked.append(raw)
        elif user not in users:
            users.append(user)
    if missing:
        user_errors.append("見つからない利用者番号: " + "、".join(missing[:20]))
    if blocked:
        user_errors.append("ブロック中の求職者(送れません): " + "、".join(blocked[:20]))
    if not (missing or blocked) and not users:
        user_errors.append("利用者番号を入力してください。")
    if len(users) > MAX_PEOPLE:
        user_errors.append(f"一度に送れる求職者は{MAX_PEOPLE}人までです。")
    return Checked(jobs, users, job_errors, user_errors)


def deadline_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日({'月火水木金土日'[day.weekday()]})"


@dataclasses.dataclass(frozen=True)
class Quota:
    """LINE's monthly quota, asked before a transaction opens: LINE may take seconds to answer, and on
    SQLite every writer (each webhook event) would wait meanwhile."""

    left: int | None = None   # None: no monthly limit
    error: str | None = None  # why LINE's answer is missing, in Japanese

    @classmethod
    def ask(cls, line) -> "Quota":
        try:
            return cls(left=quota_left(line))
        except BroadcastError as exc:
            return cls(error=exc.message)

    def problem(self, people: int) -> str | None:
        """Why the quota forbids sending to this many people now (in Japanese), or None."""
        if self.error:
            return self.error
        if self.left is not None and people > self.left:
            return (f"今月の残り配信可能数 {self.left:,}通に対して、このおすすめには {people:,}通が必要なため、"
                    "送信しませんでした。人数を減らすか、来月にお送りください。")
        return None


def send(session: Session, staff_login_id: str, jobs: list[Job], users: list[User], deadline: dt.date,
         message: str, now: dt.datetime, not_before: dt.datetime | None = None) -> StaffRecommendation:
    """Records the recommendation and queues one push per person (the outbox honours 配信設定), held
    back until `not_before` if given (quiet hours; bot.recommendations.morning)."""
    rec = StaffRecommendation(staff_login_id=staff_login_id, message=message or "", deadline=deadline,
                              created_at=now)
    session.add(rec)
    session.flush()
    _remember(session, rec, jobs, users, now)
    for user in users:
        items = [StaffRecommendationItem(recommendation_id=rec.id, user_id=user.id, job_id=job.id) for job in jobs]
        session.add_all(items)
        session.flush()
        payload = messages.render_dicts("staff_recommendation.json.j2",
                                        cards=[{**card(j), "item": i.id} for j, i in zip(jobs, items)],
                                        deadline=deadline_text(deadline), message=message or "")
        outbox.push(session, user.line_user_id, payload, source=f"staffrec:{rec.id}", topic=TOPIC,
                    not_before=not_before)
    return rec


def _remember(session: Session, rec: StaffRecommendation, jobs: list[Job], users: list[User],
              now: dt.datetime) -> None:
    """RecommendedJob rows, so the weekly run leaves these jobs out; a pair recommended before (by
    anyone, even a run writing at this moment) keeps its row."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(RecommendedJob).on_conflict_do_nothing(index_elements=["user_id", "job_id"]),
                    [{"user_id": u.id, "job_id": j.id, "run_key": f"{STAFF_PREFIX}{rec.id}", "sent_at": now}
                     for u in users for j in jobs])


class Tap(enum.Enum):
    APPLIED = "applied"
    ALREADY = "already"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"


def owned(session: Session, user_id: int, item_id: int):
    """(item, recommendation, job) of this person only; another person's item finds nothing."""
    row = session.execute(
        select(StaffRecommendationItem, StaffRecommendation, Job)
        .join(StaffRecommendation, StaffRecommendation.id == StaffRecommendationItem.recommendation_id)
        .join(Job, Job.id == StaffRecommendationItem.job_id)
        .where(StaffRecommendationItem.id == item_id, StaffRecommendationItem.user_id == user_id)).first()
    return tuple(row) if row else None


def expired(rec: StaffRecommendation, job: Job, now: dt.datetime, tz) -> bool:
    return now.astimezone(tz).date() > rec.deadline or not job.is_open


def apply(session: Session, user_id: int, item_id: int, now: dt.datetime, tz):
    found = owned(session, user_id, item_id)
    if found is None:
        return Tap.NOT_FOUND, None
    _, rec, job = found
    if expired(rec, job, now, tz):
        return Tap.EXPIRED, job
    if applications.record(session, user_id, job, ONLINE_REFERRAL, now) is None:
        return Tap.ALREADY, job
    return Tap.APPLIED, job
