"""Saved-search run latency over a large catalogue, next to a naive LIKE scan in the same run.

The catalogue is `bot.jobs.generator` output (100,000 listings; 10,000 with --quick) loaded through the
real upsert. Each saved condition runs as the bot runs it (bot.jobs.search.run: count + first page of
10). Baseline: the same conditions with free words matched by plain `LIKE '%word%'` over the raw
occupation, description and company columns, which no index can serve.
"""
from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time

from sqlalchemy import and_, func, or_, select

from bench import BenchError, Figure
from bench.databases import backends, fresh_database
from bot.db import Database
from bot.jobs import catalogue, generator
from bot.jobs import search as job_search
from bot.models import Job

GOAL = "p95 < 50 ms"
TODAY = dt.date(2026, 11, 25)

# Conditions people in the Omura area save (kept varied: selective and broad, short and long words).
SAVED = [
    dict(municipalities=("42205",), keywords="介護"),
    dict(municipalities=("42205", "42321", "42322", "42323"), occupation_major="E"),
    dict(occupation_major="H", employment_type="正社員", weekends_off=True),
    dict(keywords="製造 OR 検品 -夜勤"),
    dict(keywords="フォークリフト"),
    dict(keywords="事務", hours="part"),
    dict(min_wage=1100, wage_unit="時給", category="一般パート"),
    dict(min_wage=250000, sort="wage"),
    dict(keywords="看護師", municipalities=("42204",)),
    dict(keywords="ドライバー 大型"),
    dict(online_only=True, keywords="販売"),
    dict(keywords="波佐見焼"),
    dict(occupation_major="I", municipalities=("42202",), sort="wage"),
    dict(keywords="調理"),
    dict(),
]


def _naive(session, conditions: job_search.Conditions):
    """The same search with free words as a raw LIKE scan (the baseline)."""
    dialect = session.get_bind().dialect.name
    clauses = job_search.where(job_search.Conditions(**{**conditions.__dict__, "keywords": ""}), dialect)
    words = job_search.parse_words(conditions.keywords)

    def like(word):
        pattern = f"%{word}%"
        return or_(Job.occupation.like(pattern), Job.description.like(pattern), Job.company_name.like(pattern))

    for group in words.must:
        clauses.append(or_(*(like(w) for w in group)))
    for word in words.exclude:
        clauses.append(~like(word))
    where = and_(*clauses)
    total = session.scalar(select(func.count()).select_from(Job).where(where))
    order = [Job.received_on.desc(), Job.id.desc()] if conditions.sort == "new" \
        else [Job.wage_monthly_max.desc(), Job.id.desc()]
    session.scalars(select(Job).where(where).order_by(*order).limit(job_search.PAGE_SIZE)).all()
    return total


def _load(db: Database, count: int) -> float:
    started = time.perf_counter()
    batch = []
    for row in generator.iter_generate(count, seed=7, today=TODAY):
        batch.append(row)
        if len(batch) == 5_000:
            with db.session() as session:
                catalogue.upsert(session, batch)
            batch = []
    if batch:
        with db.session() as session:
            catalogue.upsert(session, batch)
    db.analyze()  # as `flask jobs import` does after a large import
    return time.perf_counter() - started


def _timings(db: Database, run, repeats: int) -> tuple[list[float], list[int]]:
    durations, totals = [], []
    for _ in range(repeats):
        for saved in SAVED:
            conditions = job_search.Conditions(**saved)
            with db.Session() as session:
                started = time.perf_counter()
                totals.append(run(session, conditions))
                durations.append((time.perf_counter() - started) * 1000)
    return durations, totals


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(ctx) -> list[Figure]:
    count = ctx.scale(100_000, 10_000)
    repeats = ctx.scale(10, 3)
    figures = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in backends():
            with fresh_database(backend, workdir) as url:
                db = Database(url)
                try:
                    loaded = _load(db, count)
                    ctx.log(f"search [{backend}]: {count:,} listings loaded in {loaded:.1f} s "
                            f"({count / loaded:,.0f} rows/s)")
                    _timings(db, lambda s, c: job_search.run(s, c).total, 1)  # warm caches
                    fast, fast_totals = _timings(db, lambda s, c: job_search.run(s, c).total, repeats)
                    slow, slow_totals = _timings(db, _naive, repeats)
                finally:
                    db.dispose()
            # Words without kana/width variants must find the same listings both ways.
            for saved, a, b in zip(SAVED, fast_totals, slow_totals):
                kanji_only = all(not ("\u3040" <= ch <= "\u30ff") for ch in saved.get("keywords", ""))
                if kanji_only and a != b:
                    raise BenchError(f"search [{backend}]: {saved} found {a} with the index and {b} by LIKE")
            hits = sorted(fast_totals[:len(SAVED)])
            ctx.note(f"search [{backend}]: {len(SAVED)} saved conditions x {repeats} runs over {count:,} listings; "
                     f"hits per search {hits[0]:,}–{hits[-1]:,} (median {statistics.median(hits):,.0f}); "
                     "each run = count(*) + first page of 10")
            for q in (50, 95):
                figures.append(Figure(f"saved search p{q} [{backend}]", _p(fast, q), "ms",
                                      baseline=_p(slow, q), goal=GOAL if q == 95 else ""))
            figures.append(Figure(f"catalogue import [{backend}]", count / loaded, "rows/s"))
    return figures
