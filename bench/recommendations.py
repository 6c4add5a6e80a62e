"""Weekly おすすめ求人 at size: set-wise matching, then the pushes through the dispatcher, both to the LINE
emulator and to the null LINE of bench/stub.py.

Users (bulk inserted) allow recommendations and hold three saved conditions each, drawn from a small
vocabulary (municipalities, occupation majors, a few words, employment types), so conditions repeat as
they do in reality. The open listings (bot.jobs.generator through the real upsert) were all received
in the week before the run. Figure 1 times bot.recommendations.choose() (who gets which jobs, people
read and matched a chunk at a time); the baseline is a naive per-user loop (for each user, for each
saved condition, count + first 10 of the same where() and window) on a sample of users, extrapolated
to all. The "last push" figures time bot.recommendations.run() (matching, rendering, queueing in
batches) with a dispatcher working alongside in its own process, as the Procfile's clock and worker
do, until the last push was accepted;
verified at the server: every outbox recipient got exactly one message, and nobody else got one. Their
baseline is the naive matching loop alone (without any queueing or sending), so their ratio understates
the gain.
"""
from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import multiprocessing
import queue
import random
import tempfile
import time
from unittest import mock

from sqlalchemy import and_, delete, func, select, update

from bench import BenchError, Figure
from bench.databases import backends, fresh_database
from bench.dispatcher import _services
from bench.emulator import started
from bot import recommendations
from bot.jobs import catalogue, generator, reference
from bot.jobs.saved import default_name
from bot.db import Database, insert_rows
from bot.jobs.search import PAGE_SIZE, Conditions, where
from bot.line import outbox
from bot.line.dispatcher import Dispatcher, DispatcherConfig
from bot.models import Job, Preferences, RecommendationMark, RecommendedJob, SavedSearch, User
from bot.models.outbox import MERGED, SENT, OutboxMessage
from simulator.emulator import new_user_id

MATCH_GOAL = "≤ 60 s"
PUSH_GOAL = "≤ 120 s"
NOW = dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.timezone.utc)  # Monday 09:30 in Japan
TODAY = dt.date(2026, 11, 23)
SAMPLE = 500
CHUNK = 5_000

# The vocabulary people choose from; weights make the common choices common.
AREAS = [((), 2), (("42205",), 6), (reference.OFFICE_AREA, 4), (("42204",), 2), (("42202",), 1),
         (("42205", "42204"), 1)]
MAJORS = [(None, 4)] + [(m, 3 if m in "CEHK" else 1) for m in reference.OCCUPATION_MAJORS]
TYPES = [(None, 6), ("正社員", 3), ("パート", 2)]
WORDS = [("", 10), ("介護", 2), ("事務", 2), ("フォークリフト", 1), ("調理", 1), ("製造 OR 検品", 1)]


def _pick(rng, options):
    values, weights = zip(*options)
    return rng.choices(values, weights)[0]


def _saved_columns(rng) -> dict:
    return _saved_row(_pick(rng, AREAS), _pick(rng, MAJORS), _pick(rng, TYPES), _pick(rng, WORDS))


@functools.cache
def _saved_row(areas, major, kind, words) -> dict:
    """A saved search's columns for these choices: a few hundred combinations serve 300,000 rows."""
    c = Conditions(municipalities=areas, occupation_major=major, employment_type=kind, keywords=words)
    return {"name": default_name(c)[:20], "conditions": c.to_dict()}


def _load_jobs(db, count: int) -> None:
    batch = []
    for i, row in enumerate(generator.iter_generate(count, seed=11, today=TODAY, closed_ratio=0.0)):
        row["received_on"] = TODAY - dt.timedelta(days=i % 7)  # all received this week
        batch.append(row)
        if len(batch) == CHUNK:
            with db.session() as session:
                catalogue.upsert(session, batch)
            batch = []
    if batch:
        with db.session() as session:
            catalogue.upsert(session, batch)


def _load_users(db, n: int, rng) -> tuple[list[str], int]:
    """n users with preferences allowing recommendations and three saved conditions each."""
    ids = [new_user_id() for _ in range(n)]
    distinct = set()
    for start in range(0, n, CHUNK):
        with db.session() as session:
            part = ids[start:start + CHUNK]
            insert_rows(session, User.__table__, [
                {"id": start + i + 1, "line_user_id": uid, "status": "following",
                 "followed_at": NOW - dt.timedelta(days=30), "created_at": NOW, "favorite_count": 0}
                for i, uid in enumerate(part)])
            insert_rows(session, Preferences.__table__, [
                {"user_id": start + i + 1, "events": True, "training": True, "recommendations": True,
                 "notices": True, "stopped": False, "municipality_code": "42205", "interests": [],
                 "updated_at": NOW} for i in range(len(part))])
            saved = []
            for i in range(len(part)):
                for slot in (1, 2, 3):
                    row = _saved_columns(rng)
                    distinct.add(id(row))  # one dict per distinct search (_saved_row's cache)
                    saved.append({"user_id": start + i + 1, "slot": slot, **row, "created_at": NOW})
            insert_rows(session, SavedSearch.__table__, saved)
    db.analyze()
    return ids, len(distinct)


def _naive(db, persons, tz) -> float:
    """Seconds for the per-user loop over the given persons: each condition as its own query."""
    first_day = NOW.astimezone(tz).date() - dt.timedelta(days=recommendations.FIRST_RUN_DAYS)
    started_at = time.perf_counter()
    with db.Session() as session:
        dialect = session.get_bind().dialect.name
        for p in persons:
            for c in p.conditions:
                clause = and_(*where(c, dialect), Job.received_on >= first_day)
                session.scalar(select(func.count()).select_from(Job).where(clause))
                session.scalars(select(Job).where(clause)
                                .order_by(Job.received_on.desc(), Job.id.desc()).limit(PAGE_SIZE)).all()
    return time.perf_counter() - started_at


def _worker(api_url: str, db_url: str, done, answers) -> None:
    """The Procfile's worker, in its own process: sends while run() queues, stops once run() is done
    and nothing is left; answers (rows handled, wall time of its last send)."""
    services = _services(api_url, db_url)
    worker = Dispatcher(services, DispatcherConfig(idle_wait=0.05))
    handled, last = 0, time.time()
    try:
        while True:
            finished = done.is_set()  # read before the claim: whatever run() queued is visible to it
            count = worker.run_once()
            if count:
                handled, last = handled + count, time.time()
            elif finished and not worker._waiting():
                break
            else:
                time.sleep(0.05)
    finally:
        worker.close()
        services.close()
    answers.put((handled, last))


def _reset(db, active: int | None) -> None:
    """A fresh week: no markers, no history, no outbox; only users 1..active allow recommendations."""
    with db.session() as session:
        for model in (RecommendationMark, RecommendedJob, OutboxMessage):
            session.execute(delete(model))
        session.execute(update(Preferences).values(recommendations=True))
        if active is not None:
            session.execute(update(Preferences).where(Preferences.user_id > active).values(recommendations=False))


def _last_push(ctx, label, server, db_url, line_ids, expected, limit) -> dict:
    """run() with a dispatcher process alongside, to the last push; checked at the server."""
    server.add_users(line_ids)
    # The null stub answers only push and multicast: its quota is taken as unlimited.
    no_quota = mock.patch.object(recommendations, "quota_left", lambda line: None) \
        if "stub" in label else contextlib.nullcontext()
    services = _services(server.base_url, db_url)
    spawn = multiprocessing.get_context("spawn")
    done, answers = spawn.Event(), spawn.Queue()
    worker = spawn.Process(target=_worker, args=(server.base_url, db_url, done, answers), daemon=True)
    worker.start()
    try:
        t0 = time.time()
        with no_quota:
            report = recommendations.run(services, NOW)
        t_queued = time.time() - t0
        done.set()
        try:
            handled, last = answers.get(timeout=limit)
        except queue.Empty:
            raise BenchError(f"{label}: the dispatcher was not done within {limit:.0f} s") from None
        with services.db.session() as session:
            counts = {s: c for s, c in outbox.counts(session).items() if c}
            rows = session.execute(select(OutboxMessage.recipients, OutboxMessage.payload_hash)
                                   .where(OutboxMessage.source.like("recommend:%"),
                                          OutboxMessage.status != MERGED)).all()
    finally:
        done.set()
        worker.join(10)
        if worker.is_alive():
            worker.terminate()
        services.close()
    recipients = collections.Counter(uid for to, _ in rows for uid in to)
    if set(counts) - {SENT, MERGED}:
        raise BenchError(f"{label}: rows left unsent: {counts}")
    if report.quiet or report.skipped_quota or not report.sent == len(recipients) == expected:
        raise BenchError(f"{label}: run() sent {report.sent:,} (quota-skipped {report.skipped_quota:,}, "
                         f"quiet {report.quiet}), the outbox names {len(recipients):,}, choose() chose {expected:,}")
    seen = server.summary(line_ids)
    # A 409 on a retry key is a call that timed out after the server took it, sent again: the
    # dispatcher counts it as delivered, and the exactly-once check below still holds.
    resent = seen["rejected_reasons"].get("retry-key-conflict", 0)
    if seen["rejected"] - resent:
        raise BenchError(f"{label}: the server refused {seen['rejected']} calls, e.g. {seen['rejected_examples'][0]}")
    received = {uid for uid, got in seen["texts"].items() if got}
    extra = [uid for uid, got in seen["texts"].items() if len(got) > 1]
    if received != set(recipients) or extra or max(recipients.values(), default=1) > 1:
        raise BenchError(f"{label}: {len(received):,} users received a message at the server, outbox recipients "
                         f"{len(recipients):,}, {len(extra):,} got more than one")
    calls = sum(seen["calls"].get(k, 0) for k in ("push", "multicast"))
    ctx.log(f"{label}: {report.sent:,} people, {len({h for _, h in rows}):,} distinct carousels, {calls:,} calls "
            f"({resent:,} resent after a timeout, answered 409); run() {t_queued:.1f} s, last push {last - t0:.1f} s")
    return {"people": report.sent, "carousels": len({h for _, h in rows}), "calls": calls, "resent_409": resent,
            "queued_s": round(t_queued, 3), "last_push_s": round(max(last, t0 + t_queued) - t0, 3),
            "by_endpoint": seen["calls"]}


def _one(ctx, backend, workdir, servers, n_users, n_jobs) -> list[Figure]:
    """`servers`: (name, server, people it sends to) in order."""
    rng = random.Random(5)
    label = f"recommendations [{backend}]"
    with fresh_database(backend, workdir) as url:
        services = _services("http://127.0.0.1:9", url)  # matching only: LINE is not called
        db, tz = services.db, services.settings.tz
        try:
            t = time.perf_counter()
            _load_jobs(db, n_jobs)
            line_ids, n_distinct = _load_users(db, n_users, rng)
            ctx.log(f"{label}: {n_users:,} users, {3 * n_users:,} saved conditions ({n_distinct:,} distinct), "
                    f"{n_jobs:,} listings loaded in {time.perf_counter() - t:.1f} s")
            key = recommendations.run_key(NOW, tz)
            # Figure 1: the set-wise matching, read-only (rolled back).
            with db.Session() as session:
                t = time.perf_counter()
                choice = recommendations.choose(session, key, NOW, tz)
                t_match = time.perf_counter() - t
                persons = recommendations.people(session, key)  # for the baseline's sample
            if len(persons) != n_users or choice.matched + len(choice.idle) != n_users:
                raise BenchError(f"{label}: people() found {len(persons):,} of {n_users:,}, choose() "
                                 f"{choice.matched + len(choice.idle):,}")
            job_lists = len({jobs for jobs, _ in choice.groups})
            sample = random.Random(9).sample(persons, min(SAMPLE, len(persons)))
            del persons
            _naive(db, sample[:20], tz)  # warm
            t_naive = _naive(db, sample, tz) * n_users / len(sample)
            ctx.log(f"{label}: set-wise matching {t_match:.1f} s, naive loop ≈ {t_naive:.1f} s; "
                    f"{choice.matched:,} users matched, {job_lists:,} distinct job lists")
        finally:
            services.line.close()
            db.dispose()
        scale = "" if n_users == 100_000 else f" ({n_users:,} users)"
        figures = [Figure(f"recommendation matching [{backend}]{scale}", t_match, "s", baseline=t_naive,
                          goal=MATCH_GOAL if not scale else "",
                          details={"users": n_users, "conditions": 3 * n_users, "distinct": n_distinct,
                                   "listings": n_jobs, "chunk": recommendations.CHUNK,
                                   "matched": choice.matched, "job_lists": job_lists})]
        ctx.note(f"{label}: {n_users:,} users × 3 saved conditions ({n_distinct:,} distinct) over {n_jobs:,} listings "
                 f"received this week; {choice.matched:,} matched with {job_lists:,} distinct job lists; matching = "
                 f"choose(), {recommendations.CHUNK:,} people read and matched at a time, read-only; baseline = "
                 f"per-user loop (count + first 10 per condition, same where() and window) on {len(sample)} sampled "
                 f"users, extrapolated ×{n_users / len(sample):,.0f}")
        full_calls = None
        for where, server, size in servers:
            size = min(size, n_users)
            db = Database(url)
            try:
                _reset(db, size if size < n_users else None)
            finally:
                db.dispose()
            expected = sum(1 for ids in choice.groups.values() for user_id in ids if user_id <= size)  # users: 1..n
            got = _last_push(ctx, f"{label} → {where}", server, url, line_ids[:size], expected,
                             max(300.0, size / 20))
            name = f"recommendations to last push [{backend}] → {where}"
            if size < 100_000:
                name += f" ({size:,} users)"
            figures.append(Figure(name, got["last_push_s"], "s", baseline=t_naive * size / n_users,
                                  goal=PUSH_GOAL if size == 100_000 else "", details={"users": size, **got}))
            ctx.note(f"{label} → {where}: {size:,} users; run() (matching, {got['carousels']:,} distinct carousels, "
                     f"{got['people']:,} people queued in batches of {recommendations.BATCH}) took "
                     f"{got['queued_s']:.1f} s with the dispatcher sending alongside; {got['calls']:,} calls "
                     f"{got['by_endpoint']}; last push at {got['last_push_s']:.1f} s")
            if size == n_users:
                full_calls = got["calls"]
            elif full_calls:
                ctx.note(f"{label} → {where}: at {n_users:,} users ({full_calls:,} calls) ≈ "
                         f"{got['last_push_s'] * full_calls / got['calls']:.0f} s, extrapolated by calls "
                         "(the emulator's time per call is what bounds it)")
        return figures


def run(ctx) -> list[Figure]:
    # The size is 100,000 users / 300,000 conditions / 10,000 listings, on both databases. The
    # emulator, which checks every carousel as LINE would in one process, gets all of them on SQLite
    # (the figure for the goal); on PostgreSQL the null stub gets all of them and the emulator a slice
    # (its time per call does not depend on the database), to keep make bench within its budget.
    n_jobs = ctx.scale(10_000, 2_000)
    n_users = ctx.scale(100_000, 2_000)
    figures = []
    with tempfile.TemporaryDirectory() as workdir, started(ctx.emulator) as emulator, started("stub") as stub:
        servers = {"sqlite": [("emulator", emulator, n_users)],
                   "postgresql": [("null stub", stub, n_users), ("emulator", emulator, ctx.scale(2_000, 1_000))]}
        for backend in backends():
            figures += _one(ctx, backend, workdir, servers[backend], n_users, n_jobs)
    return figures
