"""Weekly おすすめ求人 at size: set-wise matching, then the pushes through the dispatcher to the emulator.

Users (bulk inserted) allow recommendations and hold three saved conditions each, drawn from a small
vocabulary (municipalities, occupation majors, a few words, employment types), so conditions repeat as
they do in reality. The open listings (bot.jobs.generator through the real upsert) were all received
in the week before the run. Figure 1 times bot.recommendations.people() + matches() (who gets which
jobs); the baseline is a naive per-user loop (for each user, for each saved condition, count + first
10 of the same where() and window) on a sample of users, extrapolated to all. Figure 2 is the time
from the start of bot.recommendations.run() (matching + queueing into the outbox) to the dispatcher
going idle after the last push to the emulator, verified there: every outbox recipient got exactly
one message, and nobody else got one.
"""
from __future__ import annotations

import datetime as dt
import random
import tempfile
import time

from sqlalchemy import and_, func, insert, select

from bench import BenchError, Figure
from bench.databases import backends, fresh_database
from bench.dispatcher import _services
from bench.emulator import started
from bench.probes import watchdog
from bot import recommendations
from bot.jobs import catalogue, generator, reference
from bot.jobs.saved import default_name
from bot.jobs.search import PAGE_SIZE, Conditions, where
from bot.line import outbox
from bot.line.dispatcher import Dispatcher, DispatcherConfig
from bot.models import Job, Preferences, SavedSearch, User
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


def _condition(rng) -> Conditions:
    return Conditions(municipalities=_pick(rng, AREAS), occupation_major=_pick(rng, MAJORS),
                      employment_type=_pick(rng, TYPES), keywords=_pick(rng, WORDS))


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
            session.execute(insert(User), [{"id": start + i + 1, "line_user_id": uid, "status": "following",
                                            "followed_at": NOW - dt.timedelta(days=30), "created_at": NOW,
                                            "favorite_count": 0} for i, uid in enumerate(part)])
            session.execute(insert(Preferences), [
                {"user_id": start + i + 1, "events": True, "training": True, "recommendations": True,
                 "notices": True, "stopped": False, "municipality_code": "42205", "interests": [],
                 "updated_at": NOW} for i in range(len(part))])
            saved = []
            for i in range(len(part)):
                for slot in (1, 2, 3):
                    c = _condition(rng)
                    data = c.to_dict()
                    distinct.add(repr(sorted(data.items())))
                    saved.append({"user_id": start + i + 1, "slot": slot, "name": default_name(c)[:20],
                                  "conditions": data, "created_at": NOW})
            session.execute(insert(SavedSearch), saved)
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


def _one(ctx, backend, workdir, emulator, n_users, n_jobs) -> list[Figure]:
    rng = random.Random(5)
    with fresh_database(backend, workdir) as url:
        services = _services(emulator.base_url, url)
        db, tz = services.db, services.settings.tz
        try:
            t = time.perf_counter()
            _load_jobs(db, n_jobs)
            line_ids, n_distinct = _load_users(db, n_users, rng)
            ctx.log(f"recommendations [{backend}]: {n_users:,} users, {3 * n_users:,} saved conditions "
                    f"({n_distinct:,} distinct), {n_jobs:,} listings loaded in {time.perf_counter() - t:.1f} s")
            emulator.add_users(line_ids)
            key = recommendations.run_key(NOW, tz)

            # Figure 1: the set-wise matching, read-only (rolled back).
            with db.Session() as session:
                t = time.perf_counter()
                persons = recommendations.people(session, key)
                t_people = time.perf_counter() - t
                chosen = recommendations.matches(session, persons, NOW, tz)
                t_match = time.perf_counter() - t
            if len(persons) != n_users:
                raise BenchError(f"recommendations [{backend}]: people() found {len(persons):,} of {n_users:,}")
            # Baseline: the naive per-user loop on a sample, extrapolated.
            sample = random.Random(9).sample(persons, min(SAMPLE, len(persons)))
            _naive(db, sample[:20], tz)  # warm
            t_naive = _naive(db, sample, tz) * len(persons) / len(sample)
            ctx.log(f"recommendations [{backend}]: set-wise matching {t_match:.1f} s (people() {t_people:.1f} s), "
                    f"naive loop ≈ {t_naive:.1f} s; {len(chosen):,} users matched")

            # Figure 2: the real run (matching + queueing), then the dispatcher until idle.
            worker = Dispatcher(services, DispatcherConfig())
            try:
                t0 = time.perf_counter()
                report = recommendations.run(services, NOW)
                t_queued = time.perf_counter() - t0
                ctx.log(f"recommendations [{backend}]: run() queued {report.sent:,} in {t_queued:.1f} s")
                with watchdog(worker, emulator, max(240.0, n_users / 20)) as trouble:
                    worker.run(until_idle=True)
                t_last = time.perf_counter() - t0
            finally:
                worker.close()
            with db.session() as session:
                counts = {s: c for s, c in outbox.counts(session).items() if c}
                recipients = set()
                for (to,) in session.execute(select(OutboxMessage.recipients)
                                             .where(OutboxMessage.source == f"recommend:{key}")):
                    recipients.update(to or [])
        finally:
            services.line.close()
            db.dispose()
    label = f"recommendations [{backend}]"
    if trouble or set(counts) - {SENT, MERGED}:
        raise BenchError(f"{label}: {trouble[0] if trouble else 'rows left unsent'}: {counts}")
    if report.quiet or report.skipped_quota or report.sent != len(chosen):
        raise BenchError(f"{label}: run() sent {report.sent:,} (quota-skipped {report.skipped_quota:,}, "
                         f"quiet {report.quiet}) but matches() chose {len(chosen):,}")
    seen = emulator.summary(line_ids)
    if seen["rejected"]:
        raise BenchError(f"{label}: the emulator refused {seen['rejected']} calls, e.g. {seen['rejected_examples'][0]}")
    received = {uid for uid, got in seen["texts"].items() if got}
    extra = [uid for uid, got in seen["texts"].items() if len(got) > 1]
    if received != recipients or extra or len(recipients) != report.sent:
        raise BenchError(f"{label}: {len(received):,} users received a message at the emulator, outbox recipients "
                         f"{len(recipients):,}, run() sent {report.sent:,}, {len(extra):,} got more than one")
    ctx.note(f"{label}: {n_users:,} users × 3 saved conditions ({n_distinct:,} distinct) over {n_jobs:,} listings "
             f"received this week; {len(received):,} users got a carousel (verified at the emulator); "
             f"matching = people() {t_people:.1f} s + matches() {t_match - t_people:.1f} s, read-only; "
             f"baseline = per-user loop (count + first 10 per condition, same where() and window) on "
             f"{len(sample)} sampled users, extrapolated ×{len(persons) / len(sample):,.0f}")
    ctx.note(f"{label}: last push = run() (matching + queueing {report.sent:,} outbox rows: {t_queued:.1f} s) "
             f"+ dispatcher until idle ({t_last - t_queued:.1f} s, {seen['calls']}) → emulator")
    return [Figure(f"recommendation matching [{backend}]", t_match, "s", baseline=t_naive, goal=MATCH_GOAL,
                   details={"users": n_users, "conditions": 3 * n_users, "distinct": n_distinct,
                            "listings": n_jobs, "people_s": round(t_people, 3), "matched": len(chosen)}),
            Figure(f"recommendations to last push [{backend}]", t_last, "s", goal=PUSH_GOAL,
                   details={"queued_s": round(t_queued, 3), "sent": report.sent, "calls": seen["calls"]})]


def run(ctx) -> list[Figure]:
    # The issue asks for 100,000 users; at the measured ~24 ms per person to queue and ~27 pushes/s through
    # the dispatcher to the emulator, that would take hours here, so the full run is scaled down.
    n_users, n_jobs = ctx.scale(5_000, 5_000), ctx.scale(10_000, 2_000)
    if n_users < 100_000 and not ctx.quick:
        ctx.note(f"recommendations: full run SCALED DOWN to {n_users:,} users / {3 * n_users:,} conditions "
                 f"(issue: 100,000 / 300,000) with the issue's {n_jobs:,} listings: queueing (~24 ms/person) "
                 f"and delivery (~27 push/s) would take hours at full size on {ctx.cpus} CPUs")
    figures = []
    with tempfile.TemporaryDirectory() as workdir, started(ctx.emulator) as emulator:
        for backend in backends():
            figures += _one(ctx, backend, workdir, emulator, n_users, n_jobs)
    return figures
