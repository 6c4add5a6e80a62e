"""おすすめ求人: once a week, each friend who allows the topic gets the open listings that are new or
changed since their last run and match their saved conditions (or, without any, their 配信設定 area and
interests) — never a job sent to them before, at most 10, as one carousel through the outbox.

Matching is set-wise: every distinct condition runs once over the new/changed open jobs, and the hits
are shared out to people in Python. Each person is one transaction holding their outbox row, their
RecommendedJob rows and their run marker, so a run that stops halfway is simply run again.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections import defaultdict

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot import messages, preferences
from bot.broadcasts import BroadcastError, quota_left
from bot.jobs.present import card
from bot.jobs.search import ConditionError, Conditions, where
from bot.line import outbox
from bot.models import Job, Preferences, RecommendationMark, RecommendedJob, SavedSearch, User, utcnow
from bot.models.job import OPEN
from bot.scheduler import scheduled

log = logging.getLogger(__name__)

TOPIC = "recommendations"
DAY_OF_WEEK = "mon"   # APScheduler cron day_of_week
HOUR = 9              # Japan time
MAX_JOBS = 10         # a carousel holds at most 12 bubbles; one is the closing bubble
FIRST_RUN_DAYS = 7    # a first run looks at listings received in the last week
QUIET_FROM, QUIET_UNTIL = 21, 8  # no pushes at night (Japan time)


@dataclasses.dataclass
class Person:
    user_id: int
    line_user_id: str
    since: dt.datetime | None  # their last run; None = first run
    conditions: list[Conditions]
    basis: str  # what the conditions are, in words


@dataclasses.dataclass
class Report:
    sent: int = 0
    nothing_new: int = 0
    skipped_quota: int = 0
    quiet: bool = False


def run_key(now: dt.datetime, tz) -> str:
    return now.astimezone(tz).date().isoformat()


def quiet(now: dt.datetime, tz) -> bool:
    hour = now.astimezone(tz).hour
    return hour >= QUIET_FROM or hour < QUIET_UNTIL


def _from_preferences(prefs: Preferences | None) -> list[Conditions]:
    if prefs is None:
        return []
    area = (prefs.municipality_code,) if prefs.municipality_code else ()
    if prefs.interests:
        return [Conditions(municipalities=area, occupation_major=m) for m in prefs.interests]
    return [Conditions(municipalities=area)] if area else []  # nothing told: nothing to choose by


def people(session: Session, key: str) -> list[Person]:
    """Friends who allow the topic and are not yet done in this run, with their conditions."""
    prefs_row = aliased(Preferences)  # an alias: allowing() has its own correlated Preferences
    rows = session.execute(
        select(User.id, User.line_user_id, RecommendationMark, prefs_row)
        .outerjoin(RecommendationMark, RecommendationMark.user_id == User.id)
        .outerjoin(prefs_row, prefs_row.user_id == User.id)
        .where(preferences.allowing(TOPIC),
               or_(RecommendationMark.run_key.is_(None), RecommendationMark.run_key != key))
        .order_by(User.id)).all()
    saved: dict[int, list[SavedSearch]] = defaultdict(list)
    for s in session.scalars(select(SavedSearch).order_by(SavedSearch.user_id, SavedSearch.slot)):
        saved[s.user_id].append(s)
    result = []
    for user_id, line_user_id, mark, prefs in rows:
        conditions, names = [], []
        for s in saved.get(user_id, []):
            try:
                conditions.append(Conditions.from_dict(s.conditions))
                names.append(s.name)
            except ConditionError:
                log.warning("saved search %s unreadable; left out of recommendations", s.id)
        if not conditions:
            try:
                conditions = _from_preferences(prefs)
            except ConditionError:
                conditions = []
            names = ["配信設定の地域・職種"] if conditions else []
        result.append(Person(user_id, line_user_id, mark.last_run_at if mark else None, conditions,
                             "、".join(names)))
    return result


def _window(persons: list[Person], now: dt.datetime, tz):
    """The clause for jobs new or changed for at least one person (the union of their windows)."""
    first_day = now.astimezone(tz).date() - dt.timedelta(days=FIRST_RUN_DAYS)
    sinces = [p.since for p in persons if p.since is not None]
    parts = []
    if any(p.since is None for p in persons):
        parts.append(Job.received_on >= first_day)
    if sinces:
        parts.append(Job.updated_at > min(sinces))
    return or_(*parts), first_day


def matches(session: Session, persons: list[Person], now: dt.datetime, tz) -> dict[int, list[Job]]:
    """Person id → their new, never-sent, matching open jobs, best first, at most MAX_JOBS."""
    persons = [p for p in persons if p.conditions]
    if not persons:
        return {}
    window, first_day = _window(persons, now, tz)
    dialect = session.get_bind().dialect.name
    keys = {id(c): json.dumps(c.to_dict(), sort_keys=True) for p in persons for c in p.conditions}
    distinct = {keys[id(c)]: c for p in persons for c in p.conditions}
    hits: dict[str, set[int]] = {}
    jobs: dict[int, Job] = {}
    for key, condition in distinct.items():  # one query per distinct condition, not per person
        found = session.scalars(select(Job).where(and_(*where(condition, dialect)), window)).all()
        hits[key] = {j.id for j in found}
        jobs.update((j.id, j) for j in found)
    sent = defaultdict(set)
    if jobs:
        # Only the history of jobs in this window, not everyone's whole history.
        for user_id, job_id in session.execute(
                select(RecommendedJob.user_id, RecommendedJob.job_id)
                .join(Job, Job.id == RecommendedJob.job_id).where(Job.status == OPEN, window)):
            sent[user_id].add(job_id)
    result = {}
    for p in persons:
        ids = set().union(*(hits[keys[id(c)]] for c in p.conditions)) - sent[p.user_id]
        fresh = [jobs[i] for i in ids if jobs[i].status == OPEN and (
            jobs[i].updated_at > p.since if p.since else jobs[i].received_on >= first_day)]
        fresh.sort(key=lambda j: (j.received_on, j.wage_monthly_max, j.id), reverse=True)
        if fresh:
            result[p.user_id] = fresh[:MAX_JOBS]
    return result


def _mark(session: Session, user_id: int, now: dt.datetime, key: str) -> None:
    mark = session.get(RecommendationMark, user_id)
    if mark is None:
        session.add(RecommendationMark(user_id=user_id, last_run_at=now, run_key=key))
    else:
        mark.last_run_at, mark.run_key = now, key


def run(services, now: dt.datetime | None = None) -> Report:
    now = now or utcnow()
    tz = services.settings.tz
    report = Report()
    if quiet(now, tz):
        log.info("recommendations not sent: %s is within quiet hours (%d:00-%d:00)",
                 now.astimezone(tz).strftime("%H:%M"), QUIET_FROM, QUIET_UNTIL)
        report.quiet = True
        return report
    key = run_key(now, tz)
    with services.db.session() as session:
        persons = people(session, key)
        chosen = {uid: [(j.id, card(j)) for j in jobs] for uid, jobs in matches(session, persons, now, tz).items()}
    left = None
    if chosen:
        try:
            left = quota_left(services.line)
        except BroadcastError:
            log.warning("recommendations not sent: the monthly quota could not be read")
            return report
    for p in persons:
        if p.user_id not in chosen:
            continue
        if left is not None and left <= 0:
            report.skipped_quota += 1
            continue
        picks = chosen[p.user_id]
        try:
            with services.db.session() as session:
                # The marker, the sent jobs and the push commit together: done people are skipped on a rerun.
                _mark(session, p.user_id, now, key)
                session.add_all(RecommendedJob(user_id=p.user_id, job_id=job_id, run_key=key, sent_at=now)
                                for job_id, _ in picks)
                payload = messages.render_dicts("recommendations.json.j2", cards=[c for _, c in picks],
                                                basis=p.basis)
                outbox.push(session, p.line_user_id, payload, source=f"recommend:{key}", topic=TOPIC)
        except IntegrityError:
            # Another run got to this person first (the unique pair held): nothing was sent twice.
            log.warning("recommendations for user %s already written by another run", p.user_id)
            continue
        report.sent += 1
        if left is not None:
            left -= 1
    # Whoever had nothing new (not those left out by the quota) starts their next window now.
    idle = [p.user_id for p in persons if p.user_id not in chosen]
    with services.db.session() as session:
        for user_id in idle:
            _mark(session, user_id, now, key)
    report.nothing_new = len(idle)
    if report.skipped_quota:
        log.warning("recommendations: %d people skipped, the monthly message quota ran out", report.skipped_quota)
    log.info("recommendations %s: sent %d, nothing new %d", key, report.sent, report.nothing_new)
    return report


def latest(session: Session, user_id: int) -> list[Job]:
    """The still-open jobs of the person's most recent recommendation, best first (for 「おすすめ」)."""
    key = session.scalar(select(RecommendedJob.run_key).where(RecommendedJob.user_id == user_id)
                         .order_by(RecommendedJob.sent_at.desc(), RecommendedJob.id.desc()).limit(1))
    if key is None:
        return []
    return list(session.scalars(
        select(Job).join(RecommendedJob, RecommendedJob.job_id == Job.id)
        .where(RecommendedJob.user_id == user_id, RecommendedJob.run_key == key, Job.status == OPEN)
        .order_by(Job.received_on.desc(), Job.wage_monthly_max.desc(), Job.id.desc()).limit(MAX_JOBS)))


@scheduled("weekly-recommendations", "Send each friend this week's おすすめ求人", day_of_week=DAY_OF_WEEK,
           hour=HOUR, minute=0)
def weekly(services) -> Report:
    return run(services)
