"""Memory of the long-running processes over a large amount of work: flat, not growing with it.

- dispatcher: `flask --app app dispatcher --until-idle` (the Procfile worker, told to stop when done)
  over a backlog of BACKLOG distinct pushes (SQLite), sending to the null LINE of bench/stub.py so that
  the run is bound by the dispatcher, not by the emulator.
- scheduler: the clock's recommendation job (bench/scheduler_job.py) over the recommendation
  benchmark's data set (users with three saved conditions, listings of this week), to the emulator.
(The web worker's RSS is measured by bench/webhook.py over the webhook mix.)

The dispatcher's figure: RSS at the end of the work against RSS once the first rows are sent (start-up
imports done). The scheduler's: the job's peak RSS for 20,000 people against its peak for 2,000, each
run in a fresh process from the built app (a run reads and matches recommendations.CHUNK people at a
time, so only the larger run has several chunks). The notes give the peak and RSS at each tenth of the
work. Verified: every row sent, every recipient reached once.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time

from sqlalchemy import func, select

from bench import PROJECT_ROOT, BenchError, Figure
from bench.databases import fresh_database
from bench.emulator import TOKEN, started
from bench.rss import Sampler
from bot.db import Database
from bot.line import outbox
from bot.models import OutboxMessage, RecommendationMark
from bot.models.outbox import SENT
from simulator.emulator import new_user_id

GOAL = "flat: ≤ 1.10 × once started"
CHUNK = 10_000


def _env(line_url: str, db_url: str) -> dict:
    return {**os.environ, "LINE_CHANNEL_SECRET": "0" * 32, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": line_url, "LINE_DATA_API_BASE_URL": line_url, "DATABASE_URL": db_url,
            "SECRET_KEY": "m" * 40, "PUBLIC_BASE_URL": "https://hw-omura.test"}


def _count(db: Database, query) -> int:
    with db.Session() as session:
        return session.scalar(query) or 0


def _summary(label: str, sampler: Sampler, total: int, from_first: bool = False) -> tuple[dict, str]:
    """The sampler's summary and its RSS at each tenth of the work, in words."""
    s = sampler.summary(total, from_first)
    if not s:
        raise BenchError(f"{label}: no RSS sample (the process ended at once)")
    return s, ", ".join(f"{k * 10}%: {v}" for k, v in sorted(s["by_tenth_mib"].items()))


def dispatcher(ctx, workdir: str) -> Figure:
    n = ctx.scale(100_000, 10_000)
    label = f"dispatcher RSS over {n:,} outbox rows [sqlite]"
    users = [new_user_id() for _ in range(n)]
    with fresh_database("sqlite", workdir) as url, started("stub") as stub:
        db = Database(url)
        try:
            t = time.perf_counter()
            for start in range(0, n, CHUNK):
                with db.session() as session:
                    outbox.push_many(session, [([uid], [{"type": "text", "text": f"お知らせ {start + i}"}])
                                               for i, uid in enumerate(users[start:start + CHUNK])],
                                     source="bench")
            ctx.log(f"{label}: backlog queued in {time.perf_counter() - t:.1f} s")
            done = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == SENT)
            flask = os.path.join(os.path.dirname(sys.executable), "flask")
            proc = subprocess.Popen([flask, "--app", "app", "dispatcher", "--until-idle"], cwd=PROJECT_ROOT, env=_env(stub.base_url, url),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            sampler = Sampler(proc.pid, lambda: _count(db, done))
            t = time.perf_counter()
            _, errors = proc.communicate(timeout=max(600, n / 50))
            seconds = time.perf_counter() - t
            sampler.stop()
            sent = _count(db, done)
        finally:
            db.dispose()
        seen = stub.summary(users[:1000])
    if proc.returncode != 0 or sent != n:
        raise BenchError(f"{label}: exit {proc.returncode}, {sent:,} of {n:,} rows sent: "
                         f"{(errors or '').strip().splitlines()[-1:]}")
    if seen["calls"].get("push", 0) != n or any(len(t) != 1 for t in seen["texts"].values()):
        raise BenchError(f"{label}: the stub got {seen['calls']} for {n:,} rows")
    ctx.log(f"{label}: {n:,} rows sent in {seconds:.1f} s ({n / seconds:,.0f}/s)")
    s, tenths = _summary(label, sampler, n)
    ctx.note(f"{label}: {n:,} rows (distinct pushes) to the null LINE in {seconds:.0f} s; RSS MiB start "
             f"{s['start_mib']}, peak {s['peak_mib']}, end {s['end_mib']}; by share of the work done: {tenths}")
    return Figure(label, s["end_mib"], "MiB", baseline=s["start_mib"], goal=GOAL, details=s)


def _job(ctx, workdir: str, emulator, n_users: int, n_jobs: int) -> tuple[dict, str]:
    """One run of the clock's recommendation job in its own process for `n_users` people: the RSS
    sampler's summary and a note."""
    from bench.recommendations import _load_jobs, _load_users

    label = f"scheduler RSS over a recommendation run for {n_users:,} people [sqlite]"
    with fresh_database("sqlite", workdir) as url:
        db = Database(url)
        try:
            _load_jobs(db, n_jobs)
            line_ids, _ = _load_users(db, n_users, random.Random(5))
            emulator.add_users(line_ids)
            proc = subprocess.Popen([sys.executable, "-m", "bench.scheduler_job"], cwd=PROJECT_ROOT,
                                    env=_env(emulator.base_url, url), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if proc.stdout.readline().strip() != "ready":
                proc.kill()
                raise BenchError(f"{label}: the job process did not start: {proc.stderr.read()[-300:]}")
            marked = select(func.count()).select_from(RecommendationMark)
            sampler = Sampler(proc.pid, lambda: _count(db, marked), every=0.25)
            time.sleep(0.3)  # one sample before the work begins
            t = time.perf_counter()
            out, errors = proc.communicate("go\n", timeout=900)
            seconds = time.perf_counter() - t
            sampler.stop()
            people = _count(db, marked)
        finally:
            db.dispose()
    if proc.returncode != 0 or people != n_users or not out.startswith("sent "):
        raise BenchError(f"{label}: exit {proc.returncode}, {people:,} of {n_users:,} people done: "
                         f"{errors.strip().splitlines()[-1:]}")
    ctx.log(f"{label}: {out.strip()} in {seconds:.1f} s")
    # From before the run: the marks are written only once everyone is matched, so the matching's
    # memory shows in the first tenth.
    s, tenths = _summary(label, sampler, n_users, from_first=True)
    return s, (f"{label}: {n_users:,} people ({out.strip()} carousels queued) in {seconds:.0f} s; RSS MiB "
               f"before the run {s['start_mib']}, peak {s['peak_mib']}, end {s['end_mib']}; by share of the "
               f"people marked done: {tenths}")


def scheduler(ctx, workdir: str, emulator) -> Figure:
    """The job's peak RSS for n people against its peak for a tenth of them: flat when the run's memory
    does not grow with the number of friends (a first run's caches, templates and compiled statements,
    are in both)."""
    n_users, n_jobs = ctx.scale(20_000, 2_000), ctx.scale(10_000, 2_000)
    few, few_note = _job(ctx, workdir, emulator, n_users // 10, n_jobs)
    many, many_note = _job(ctx, workdir, emulator, n_users, n_jobs)
    ctx.note(few_note)
    ctx.note(many_note)
    return Figure(f"scheduler peak RSS, recommendation run for {n_users:,} people [sqlite]", many["peak_mib"],
                  "MiB", baseline=few["peak_mib"], goal="flat: ≤ 1.10 × the peak for a tenth of them",
                  details={"people": n_users, "few": few, "many": many})


def run(ctx) -> list[Figure]:
    with tempfile.TemporaryDirectory() as workdir:
        figures = [dispatcher(ctx, workdir)]
        with started(ctx.emulator) as emulator:
            figures.append(scheduler(ctx, workdir, emulator))
    return figures
