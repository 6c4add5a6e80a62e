"""おすすめ求人: once a week, each friend who allows the topic gets the open listings that are new or
changed since their last run and match their saved conditions (or, without any, their 配信設定 area and
interests) — never a job sent to them before, at most 10, as one carousel through the outbox.

Matching is set-wise: every distinct condition runs once (ids only) over the new/changed open jobs, the
jobs are ranked once, and each person's top ten is a merge of their conditions' ranked hits. People with
the same jobs get the same carousel (nothing in it names the person), queued side by side as multicasts.
Queueing goes in batches: one transaction holds a batch's run markers, RecommendedJob rows and outbox
rows, so a run that stops halfway is simply run again and the people already done are skipped.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import heapq
import itertools
import json
import logging
from collections import defaultdict

from sqlalchemy import String, cast, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot import messages, preferences
from bot.staff_recommendations import STAFF_PREFIX
from bot.broadcasts import BroadcastError, quota_left
from bot.jobs.present import card
from bot.jobs.search import ConditionError, Conditions, where
from bot.line import outbox
from bot.line.limits import CAROUSEL_MAX_BYTES, LimitError, json_size
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
BATCH = 500           # people per transaction when queueing
# What the jobs were chosen by, in words: the same for everyone, so equal carousels stay byte-identical.
BASIS = {False: "保存した検索条件", True: "配信設定の地域・職種"}


@dataclasses.dataclass
class Person:
    user_id: int
    line_user_id: str
    since: dt.datetime | None  # their last run; None = first run (and no marker row yet)
    conditions: tuple[Conditions, ...]  # distinct; equal conditions are one shared object
    by_preferences: bool = False  # no saved conditions: chosen by 配信設定


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


def morning(now: dt.datetime, tz) -> dt.datetime:
    """When a push held back by quiet hours may go: now outside them, else the next QUIET_UNTIL o'clock."""
    if not quiet(now, tz):
        return now
    local = now.astimezone(tz)
    day = local.date() + dt.timedelta(days=1 if local.hour >= QUIET_FROM else 0)
    return dt.datetime.combine(day, dt.time(QUIET_UNTIL), tzinfo=tz).astimezone(dt.timezone.utc)


@functools.lru_cache(maxsize=4096)
def from_preferences(municipality_code: str | None, interests: tuple[str, ...]) -> tuple[Conditions, ...]:
    """The conditions 配信設定 implies: the area, with each interest (occupation major) if any."""
    area = (municipality_code,) if municipality_code else ()
    if interests:
        return tuple(dict.fromkeys(Conditions(municipalities=area, occupation_major=m) for m in interests))
    return (Conditions(municipalities=area),) if area else ()  # nothing told: nothing to choose by


def people(session: Session, key: str) -> list[Person]:
    """Friends who allow the topic and are not yet done in this run, with their conditions."""
    prefs_row = aliased(Preferences)  # an alias: allowing() has its own correlated Preferences
    rows = session.execute(
        select(User.id, User.line_user_id, RecommendationMark.last_run_at, prefs_row.municipality_code,
               prefs_row.interests)
        .outerjoin(RecommendationMark, RecommendationMark.user_id == User.id)
        .outerjoin(prefs_row, prefs_row.user_id == User.id)
        .where(preferences.allowing(TOPIC),
               or_(RecommendationMark.run_key.is_(None), RecommendationMark.run_key != key))
        .order_by(User.id)).all()
    # Saved conditions repeat a lot: each distinct text is parsed once and shared.
    parsed: dict[str, Conditions | None] = {}
    saved: dict[int, list[Conditions]] = defaultdict(list)
    for user_id, text in session.execute(select(SavedSearch.user_id, cast(SavedSearch.conditions, String))
                                         .order_by(SavedSearch.user_id, SavedSearch.slot)):
        if text not in parsed:
            try:
                parsed[text] = Conditions.from_dict(json.loads(text))
            except (ConditionError, ValueError, TypeError):
                log.warning("a saved search of user %s is unreadable; left out of recommendations", user_id)
                parsed[text] = None
        if parsed[text] is not None:
            saved[user_id].append(parsed[text])
    shared: dict[Conditions, Conditions] = {}
    result = []
    for user_id, line_user_id, since, area, interests in rows:
        conditions = tuple(shared.setdefault(c, c) for c in dict.fromkeys(saved.get(user_id, ())))
        by_preferences = not conditions
        if by_preferences:
            try:
                conditions = tuple(shared.setdefault(c, c) for c in from_preferences(
                    area, tuple(interests) if isinstance(interests, list) else ()))
            except ConditionError:
                conditions = ()
        result.append(Person(user_id, line_user_id, since, conditions, by_preferences))
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


def matches(session: Session, persons: list[Person], now: dt.datetime, tz) -> dict[int, tuple[int, ...]]:
    """Person id → ids of their new, never-sent, matching open jobs, best first, at most MAX_JOBS."""
    persons = [p for p in persons if p.conditions]
    if not persons:
        return {}
    window, first_day = _window(persons, now, tz)
    # Every job of the window once, best first: a job's rank is its place in this list.
    ranked = session.execute(
        select(Job.id, Job.received_on, Job.updated_at).where(Job.status == OPEN, window)
        .order_by(Job.received_on.desc(), Job.wage_monthly_max.desc(), Job.id.desc())).all()
    if not ranked:
        return {}
    rank = {row.id: r for r, row in enumerate(ranked)}
    dialect = session.get_bind().dialect.name
    hits: dict[Conditions, list[int]] = {}
    for condition in {c for p in persons for c in p.conditions}:  # one query per distinct condition
        found = session.scalars(select(Job.id).where(*where(condition, dialect), window))
        hits[condition] = sorted(rank[i] for i in found if i in rank)
    sent: dict[int, set[int]] = defaultdict(set)
    # Only the history of jobs in this window, not everyone's whole history.
    for user_id, job_id in session.execute(
            select(RecommendedJob.user_id, RecommendedJob.job_id)
            .join(Job, Job.id == RecommendedJob.job_id).where(Job.status == OPEN, window)):
        if job_id in rank:
            sent[user_id].add(rank[job_id])

    def top(conditions, since, skip) -> tuple[int, ...]:
        picks, last = [], -1
        for r in heapq.merge(*(hits[c] for c in conditions)):
            if r == last or r in skip:
                continue
            last = r
            if ranked[r].updated_at > since if since else ranked[r].received_on >= first_day:
                picks.append(ranked[r].id)
                if len(picks) == MAX_JOBS:
                    break
        return tuple(picks)

    result, shared = {}, {}
    for p in persons:
        skip = sent.get(p.user_id)
        if skip:
            picks = top(p.conditions, p.since, skip)
        else:  # most people share their window and have no history in it: computed once per set
            same = (frozenset(p.conditions), p.since)
            if same not in shared:
                shared[same] = top(p.conditions, p.since, ())
            picks = shared[same]
        if picks:
            result[p.user_id] = picks
    return result


def _mark(session: Session, persons: list[Person], now: dt.datetime, key: str) -> None:
    """Run markers in bulk: a new row for a first run, else an update (a clash means another run)."""
    rows = [{"user_id": p.user_id, "last_run_at": now, "run_key": key} for p in persons]
    new = [row for row, p in zip(rows, persons) if p.since is None]
    old = [row for row, p in zip(rows, persons) if p.since is not None]
    if new:
        session.execute(insert(RecommendationMark.__table__), new)
    if old:
        session.execute(update(RecommendationMark), old)


class _Carousels:
    """One carousel per distinct list of jobs and basis, shared by everyone who gets it.

    Checking thousands of ten-bubble carousels with the SDK's models was most of a run's time, so each
    is put together from pieces the template rendered and render_dicts checked once: a job's bubble
    (the template makes it from that job alone) and the frame for a count and basis (altText, closing
    bubble). The whole is then held to LINE's carousel size limit, the one thing joining checked pieces
    can break (at most MAX_JOBS + 1 bubbles by construction)."""

    TEMPLATE = "recommendations.json.j2"

    def __init__(self, session: Session, job_ids: set[int]):
        self.cards = {j.id: card(j) for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))} \
            if job_ids else {}
        self.bubbles: dict[int, dict] = {}
        self.frames: dict[tuple, dict] = {}
        self.made: dict[tuple, list[dict]] = {}

    def _render(self, job_ids, by_preferences: bool) -> dict:
        [message] = messages.render_dicts(self.TEMPLATE, cards=[self.cards[i] for i in job_ids],
                                          basis=BASIS[by_preferences])
        return message

    def __call__(self, job_ids: tuple[int, ...], by_preferences: bool) -> list[dict]:
        key = (job_ids, by_preferences)
        if key not in self.made:
            frame_key = (len(job_ids), by_preferences)
            if frame_key not in self.frames:
                self.frames[frame_key] = self._render(job_ids, by_preferences)
            frame = self.frames[frame_key]
            for i in job_ids:
                if i not in self.bubbles:
                    self.bubbles[i] = self._render((i,), False)["contents"]["contents"][0]
            message = {**frame, "contents": {**frame["contents"], "contents": [
                *(self.bubbles[i] for i in job_ids), frame["contents"]["contents"][-1]]}}
            if json_size(message["contents"]) > CAROUSEL_MAX_BYTES:  # bubbles and count are within theirs
                raise LimitError([{"property": "messages[0].contents",
                                   "message": "The size of a carousel must be 50 KB or less"}])
            self.made[key] = [message]
        return self.made[key]


def _queue(session: Session, batch: list[Person], chosen: dict[int, tuple[int, ...]], carousels: _Carousels,
           now: dt.datetime, key: str) -> None:
    # The markers, the sent jobs and the pushes commit together: done people are skipped on a rerun,
    # and the unique (user, job) pair refuses a job another run already sent.
    _mark(session, batch, now, key)
    session.execute(insert(RecommendedJob.__table__), [  # Core: a million rows a week, no ORM objects
        {"user_id": p.user_id, "job_id": job_id, "run_key": key, "sent_at": now}
        for p in batch for job_id in chosen[p.user_id]])
    same = lambda p: (chosen[p.user_id], p.by_preferences)  # noqa: E731
    outbox.push_many(session, [([p.line_user_id for p in group], carousels(*what))
                               for what, group in itertools.groupby(batch, key=same)],
                     source=f"recommend:{key}", topic=TOPIC, checked=True)


def _in_batches(services, batch: list[Person], write) -> int:
    """write(session, batch) in one transaction; on a clash with another run, person by person."""
    try:
        with services.db.session() as session:
            write(session, batch)
        return len(batch)
    except IntegrityError:
        if len(batch) == 1:
            log.warning("recommendations for user %s already written by another run", batch[0].user_id)
            return 0
    return sum(_in_batches(services, [p], write) for p in batch)


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
        chosen = matches(session, persons, now, tz)
        carousels = _Carousels(session, {i for ids in chosen.values() for i in ids})
    # People with the same carousel side by side, so that they go out as multicasts.
    todo = sorted((p for p in persons if p.user_id in chosen),
                  key=lambda p: (chosen[p.user_id], p.by_preferences, p.user_id))
    if todo:
        try:
            left = quota_left(services.line)
        except BroadcastError:
            log.warning("recommendations not sent: the monthly quota could not be read")
            return report
        if left is not None and len(todo) > left:
            report.skipped_quota = len(todo) - left
            todo = todo[:left]
    write = lambda session, batch: _queue(session, batch, chosen, carousels, now, key)  # noqa: E731
    for start in range(0, len(todo), BATCH):
        report.sent += _in_batches(services, todo[start:start + BATCH], write)
    # Whoever had nothing new (not those left out by the quota) starts their next window now.
    idle = [p for p in persons if p.user_id not in chosen]
    for start in range(0, len(idle), BATCH):
        _in_batches(services, idle[start:start + BATCH], lambda session, batch: _mark(session, batch, now, key))
    report.nothing_new = len(idle)
    if report.skipped_quota:
        log.warning("recommendations: %d people skipped, the monthly message quota ran out", report.skipped_quota)
    log.info("recommendations %s: sent %d, nothing new %d", key, report.sent, report.nothing_new)
    return report


def latest(session: Session, user_id: int) -> list[Job]:
    """The still-open jobs of the person's most recent weekly recommendation, best first (「おすすめ」)."""
    weekly = RecommendedJob.run_key.not_like(STAFF_PREFIX + "%")
    key = session.scalar(select(RecommendedJob.run_key).where(RecommendedJob.user_id == user_id, weekly)
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
