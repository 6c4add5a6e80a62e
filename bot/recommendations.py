"""おすすめ求人: once a week, each friend who allows the topic gets the open listings that are new or
changed since their last run and match their saved conditions (or, without any, their 配信設定 area and
interests) — never a job sent to them before, at most 10, as one carousel through the outbox.

Matching is set-wise: every distinct condition runs once (ids only) over the new/changed open jobs, the
jobs are ranked once, and each person's top ten is a merge of their conditions' ranked hits. People with
the same jobs get the same carousel (nothing in it names the person), queued side by side as multicasts.
People are read and matched CHUNK at a time, and only their ids are kept, grouped by what they get:
the run's memory holds the jobs and the groups, not everyone's conditions and history, so it does not
grow with the number of friends (docs/performance.md, Memory).
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
from array import array
from collections import defaultdict

from sqlalchemy import String, cast, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot import messages, preferences
from bot.db import insert_rows
from bot.staff_recommendations import STAFF_PREFIX
from bot.broadcasts import BroadcastError, quota_left
from bot.jobs.present import card
from bot.jobs.search import ConditionError, Conditions, where
from bot.line import outbox
from bot.line.limits import CAROUSEL_MAX_BYTES, LimitError, carousel_size, json_size
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
CHUNK = 5_000         # people read and matched at a time
# What the jobs were chosen by, in words: the same for everyone, so equal carousels stay byte-identical.
BASIS = {False: "保存した検索条件", True: "配信設定の地域・職種"}


@dataclasses.dataclass(slots=True)
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


def _pending(key: str):
    """The clause for friends who allow the topic and are not yet done in this run."""
    return (preferences.allowing(TOPIC),
            or_(RecommendationMark.run_key.is_(None), RecommendationMark.run_key != key))


class _Known:
    """Conditions already made in this run, shared: people are read chunk by chunk and the same saved
    texts and 配信設定 come back in every chunk, so each distinct one is parsed once and equal
    conditions are one object (hashed and compared cheaply by the matcher)."""

    def __init__(self):
        self.texts: dict[str, Conditions | None] = {}
        self.equal: dict[Conditions, Conditions] = {}

    def saved(self, text: str, user_id: int) -> Conditions | None:
        if text not in self.texts:
            try:
                condition = Conditions.from_dict(json.loads(text))
                self.texts[text] = self.equal.setdefault(condition, condition)
            except (ConditionError, ValueError, TypeError):
                log.warning("a saved search of user %s is unreadable; left out of recommendations", user_id)
                self.texts[text] = None
        return self.texts[text]

    def preferences(self, area: str | None, interests) -> tuple[Conditions, ...]:
        # from_preferences keeps its own cache; this only makes its conditions the saved ones' objects.
        try:
            made = from_preferences(area, tuple(interests) if isinstance(interests, list) else ())
        except ConditionError:
            return ()
        return tuple(self.equal.setdefault(c, c) for c in made)


def people(session: Session, key: str, after: int = 0, limit: int | None = None,
           known: _Known | None = None) -> list[Person]:
    """Friends who allow the topic and are not yet done in this run, with their conditions; by user id,
    `limit` of them after the id `after`."""
    known = known or _Known()
    prefs_row = aliased(Preferences)  # an alias: allowing() has its own correlated Preferences
    rows = session.execute(
        select(User.id, User.line_user_id, RecommendationMark.last_run_at, prefs_row.municipality_code,
               prefs_row.interests)
        .outerjoin(RecommendationMark, RecommendationMark.user_id == User.id)
        .outerjoin(prefs_row, prefs_row.user_id == User.id)
        .where(*_pending(key), User.id > after)
        .order_by(User.id).limit(limit)).all()
    if not rows:
        return []
    saved: dict[int, list[Conditions]] = defaultdict(list)
    for user_id, text in session.execute(select(SavedSearch.user_id, cast(SavedSearch.conditions, String))
                                         .where(SavedSearch.user_id.between(rows[0].id, rows[-1].id))
                                         .order_by(SavedSearch.user_id, SavedSearch.slot)):
        condition = known.saved(text, user_id)
        if condition is not None:
            saved[user_id].append(condition)
    result = []
    for user_id, line_user_id, since, area, interests in rows:
        conditions = tuple(dict.fromkeys(saved.get(user_id, ())))
        by_preferences = not conditions
        if by_preferences:
            conditions = known.preferences(area, interests)
        result.append(Person(user_id, line_user_id, since, conditions, by_preferences))
    return result


def _window(session: Session, key: str, now: dt.datetime, tz):
    """The clause for jobs new or changed for at least one person of the run (the union of their
    windows), and the first run's first day; None when nobody is left to do."""
    first_day = now.astimezone(tz).date() - dt.timedelta(days=FIRST_RUN_DAYS)
    everyone, marked, since = session.execute(
        select(func.count(), func.count(RecommendationMark.user_id), func.min(RecommendationMark.last_run_at))
        .select_from(User).outerjoin(RecommendationMark, RecommendationMark.user_id == User.id)
        .where(*_pending(key))).one()
    parts = []
    if everyone > marked:  # someone's first run
        parts.append(Job.received_on >= first_day)
    if since is not None:
        parts.append(Job.updated_at > since)
    return (or_(*parts) if parts else None), first_day


class _Matcher:
    """Person id → ids of their new, never-sent, matching open jobs, best first, at most MAX_JOBS.

    What depends on the run alone is computed once and kept from chunk to chunk: the jobs of the window
    ranked best first (a job's rank is its place in that list) and each distinct condition's hits
    (single conditions repeat from person to person far more than sets of them do). Picks shared by
    people with the same conditions and window are kept for one chunk only: sets of saved conditions
    are nearly all different, and keeping every set's picks would grow with the number of friends."""

    def __init__(self, session: Session, window, first_day: dt.date):
        self.window, self.first_day = window, first_day
        self.ranked = session.execute(
            select(Job.id, Job.received_on, Job.updated_at).where(Job.status == OPEN, window)
            .order_by(Job.received_on.desc(), Job.wage_monthly_max.desc(), Job.id.desc())).all()
        self.rank = {row.id: r for r, row in enumerate(self.ranked)}
        self.dialect = session.get_bind().dialect.name
        self.hits: dict[Conditions, list[int]] = {}

    def __call__(self, session: Session, persons: list[Person]) -> dict[int, tuple[int, ...]]:
        persons = [p for p in persons if p.conditions]
        if not persons or not self.ranked:
            return {}
        rank = self.rank
        for condition in {c for p in persons for c in p.conditions} - self.hits.keys():
            found = session.scalars(select(Job.id).where(*where(condition, self.dialect), self.window))
            self.hits[condition] = sorted(rank[i] for i in found if i in rank)
        sent: dict[int, set[int]] = defaultdict(set)
        # Only these people's history of jobs in this window, not everyone's whole history.
        for user_id, job_id in session.execute(
                select(RecommendedJob.user_id, RecommendedJob.job_id)
                .join(Job, Job.id == RecommendedJob.job_id)
                .where(RecommendedJob.user_id.between(persons[0].user_id, persons[-1].user_id),
                       Job.status == OPEN, self.window)):
            if job_id in rank:
                sent[user_id].add(rank[job_id])
        result, shared = {}, {}
        for p in persons:
            skip = sent.get(p.user_id)
            if skip:
                picks = self._top(p.conditions, p.since, skip)
            else:  # most people share their window and have no history in it
                same = (frozenset(p.conditions), p.since)
                if same not in shared:
                    shared[same] = self._top(p.conditions, p.since, ())
                picks = shared[same]
            if picks:
                result[p.user_id] = picks
        return result

    def _top(self, conditions, since, skip) -> tuple[int, ...]:
        ranked, picks, last = self.ranked, [], -1
        for r in heapq.merge(*(self.hits[c] for c in conditions)):
            if r == last or r in skip:
                continue
            last = r
            if ranked[r].updated_at > since if since else ranked[r].received_on >= self.first_day:
                picks.append(ranked[r].id)
                if len(picks) == MAX_JOBS:
                    break
        return tuple(picks)


@dataclasses.dataclass
class Choice:
    """Who gets what: user ids by (jobs, chosen by 配信設定), ascending, and those with nothing new."""
    groups: dict[tuple[tuple[int, ...], bool], array] = dataclasses.field(default_factory=dict)
    idle: array = dataclasses.field(default_factory=lambda: array("q"))

    @property
    def matched(self) -> int:
        return sum(len(ids) for ids in self.groups.values())


def choose(session: Session, key: str, now: dt.datetime, tz, chunk: int | None = None) -> Choice:
    """The run's choice for everyone not yet done, reading and matching `chunk` people at a time."""
    choice = Choice()
    window, first_day = _window(session, key, now, tz)
    match = _Matcher(session, window, first_day) if window is not None else None
    after, known = 0, _Known()
    while persons := people(session, key, after, chunk or CHUNK, known):
        chosen = match(session, persons) if match else {}
        for p in persons:
            picks = chosen.get(p.user_id)
            if picks:
                choice.groups.setdefault((picks, p.by_preferences), array("q")).append(p.user_id)
            else:
                choice.idle.append(p.user_id)
        after = persons[-1].user_id
    return choice


def _mark(session: Session, user_ids: list[int], now: dt.datetime, key: str) -> dict[int, str]:
    """Run markers in bulk: a new row for a first run, else an update (a clash means another run).
    Returns the people's LINE user ids; a friend deleted since the matching is left out."""
    rows = session.execute(select(User.id, User.line_user_id, RecommendationMark.user_id)
                           .outerjoin(RecommendationMark, RecommendationMark.user_id == User.id)
                           .where(User.id.in_(user_ids))).all()
    new = [{"user_id": u, "last_run_at": now, "run_key": key} for u, _, marked in rows if marked is None]
    old = [{"user_id": u, "last_run_at": now, "run_key": key} for u, _, marked in rows if marked is not None]
    if new:
        insert_rows(session, RecommendationMark.__table__, new)
    if old:
        session.execute(update(RecommendationMark), old)
    return {u: line_user_id for u, line_user_id, _ in rows}


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
        # Each piece with the size of its compact JSON, so that a carousel's size is a sum, not an encoding.
        self.bubbles: dict[int, tuple[dict, int]] = {}
        # (count, basis) → the message with its closing bubble only, its frame's size, the closing bubble's
        self.frames: dict[tuple, tuple[dict, int, int]] = {}
        self.last: tuple = (None, None)  # run() asks for equal carousels one after another

    def _render(self, job_ids, by_preferences: bool) -> dict:
        [message] = messages.render_dicts(self.TEMPLATE, cards=[self.cards[i] for i in job_ids],
                                          basis=BASIS[by_preferences])
        return message

    def _frame(self, job_ids, by_preferences: bool) -> tuple[dict, int, int]:
        key = (len(job_ids), by_preferences)
        if key not in self.frames:
            frame = self._render(job_ids, by_preferences)
            closing = frame["contents"]["contents"][-1]
            frame = {**frame, "contents": {**frame["contents"], "contents": [closing]}}
            self.frames[key] = (frame, json_size({**frame["contents"], "contents": []}), json_size(closing))
        return self.frames[key]

    def _bubble(self, job_id: int) -> tuple[dict, int]:
        if job_id not in self.bubbles:
            bubble = self._render((job_id,), False)["contents"]["contents"][0]
            self.bubbles[job_id] = (bubble, json_size(bubble))
        return self.bubbles[job_id]

    def __call__(self, job_ids: tuple[int, ...], by_preferences: bool) -> list[dict]:
        key = (job_ids, by_preferences)
        if key != self.last[0]:
            frame, frame_size, closing_size = self._frame(job_ids, by_preferences)
            bubbles = [self._bubble(i) for i in job_ids]
            # Only the carousel's size can break: the bubbles and their count are within theirs.
            if carousel_size(frame_size, [n for _, n in bubbles] + [closing_size]) > CAROUSEL_MAX_BYTES:
                raise LimitError([{"property": "messages[0].contents",
                                   "message": "The size of a carousel must be 50 KB or less"}])
            message = {**frame, "contents": {**frame["contents"],
                                             "contents": [b for b, _ in bubbles] + frame["contents"]["contents"]}}
            self.last = (key, [message])
        return self.last[1]


def _queue(session: Session, batch: list[tuple], carousels: _Carousels, now: dt.datetime, key: str) -> int:
    """`batch`: ((jobs, by_preferences), user id) pairs, equal carousels side by side."""
    # The markers, the sent jobs and the pushes commit together: done people are skipped on a rerun,
    # and the unique (user, job) pair refuses a job another run already sent.
    line_ids = _mark(session, [user_id for _, user_id in batch], now, key)
    batch = [(what, user_id) for what, user_id in batch if user_id in line_ids]
    if not batch:
        return 0
    insert_rows(session, RecommendedJob.__table__, [  # a million rows a week: no ORM objects
        {"user_id": user_id, "job_id": job_id, "run_key": key, "sent_at": now}
        for (jobs, _), user_id in batch for job_id in jobs])
    outbox.push_many(session, [([line_ids[user_id] for _, user_id in group], carousels(*what))
                               for what, group in itertools.groupby(batch, key=lambda pair: pair[0])],
                     source=f"recommend:{key}", topic=TOPIC, checked=True)
    return len(batch)


def _in_batches(services, batch: list[tuple], write) -> int:
    """write(session, batch) in one transaction; on a clash with another run, person by person.
    `batch`: (what, user id) pairs; returns how many people were written."""
    try:
        with services.db.session() as session:
            return write(session, batch)
    except IntegrityError:
        if len(batch) == 1:
            log.warning("recommendations for user %s already written by another run", batch[0][1])
            return 0
    return sum(_in_batches(services, [pair], write) for pair in batch)


def _slices(pairs, size: int):
    while piece := list(itertools.islice(pairs, size)):
        yield piece


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
        choice = choose(session, key, now, tz)
        carousels = _Carousels(session, {i for jobs, _ in choice.groups for i in jobs})
    # People with the same carousel side by side, so that they go out as multicasts.
    todo = ((what, user_id) for what in sorted(choice.groups) for user_id in choice.groups[what])
    if choice.matched:
        try:
            left = quota_left(services.line)
        except BroadcastError:
            log.warning("recommendations not sent: the monthly quota could not be read")
            return report
        if left is not None and choice.matched > left:
            report.skipped_quota = choice.matched - left
            todo = itertools.islice(todo, left)
    write = lambda session, batch: _queue(session, batch, carousels, now, key)  # noqa: E731
    for batch in _slices(todo, BATCH):
        report.sent += _in_batches(services, batch, write)
    # Whoever had nothing new (not those left out by the quota) starts their next window now.
    mark = lambda session, batch: len(_mark(session, [user_id for _, user_id in batch], now, key))  # noqa: E731
    for batch in _slices(((None, user_id) for user_id in choice.idle), BATCH):
        _in_batches(services, batch, mark)
    report.nothing_new = len(choice.idle)
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
