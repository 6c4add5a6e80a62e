"""Memory of the long-running processes over a large amount of work: flat, not growing with it.

- dispatcher: `flask --app app dispatcher --until-idle` (the Procfile worker, told to stop when done)
  over a backlog of BACKLOG distinct pushes (SQLite), sending to the null LINE of bench/stub.py so that
  the run is bound by the dispatcher, not by the emulator.
- scheduler: the clock's recommendation job (bench/scheduler_job.py) over the recommendation
  benchmark's data set (users with three saved conditions, listings of this week), to the emulator.
(The web worker's RSS is measured by bench/webhook.py over the webhook mix.)

Each figure: RSS at the end of the work against RSS at its start (the dispatcher: once the first rows
are sent, start-up imports done; the job: the built app before the run); the notes give the peak and
RSS at each tenth of the work. Verified: every row sent, every recipient reached once.
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


def _figure(ctx, label: str, sampler: Sampler, total: int, unit: str, seconds: float,
            from_first: bool = False) -> Figure:
    s = sampler.summary(total, from_first)
    if not s:
        raise BenchError(f"{label}: no RSS sample (the process ended at once)")
    tenths = ", ".join(f"{k * 10}%: {v}" for k, v in sorted(s["by_tenth_mib"].items()))
    ctx.note(f"{label}: {total:,} {unit} in {seconds:.0f} s; RSS MiB start {s['start_mib']}, peak {s['peak_mib']}, "
             f"end {s['end_mib']}; by share of the work done: {tenths}")
    return Figure(label, s["end_mib"], "MiB", baseline=s["start_mib"], goal=GOAL, details=s)


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
    return _figure(ctx, label, sampler, n, "rows (distinct pushes) to the null LINE", seconds)


def scheduler(ctx, workdir: str, emulator) -> Figure:
    from bench.recommendations import _load_jobs, _load_users

    n_users, n_jobs = ctx.scale(2_000, 300), ctx.scale(10_000, 2_000)
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
    return _figure(ctx, label, sampler, n_users, f"people ({out.strip()} carousels queued)", seconds,
                   from_first=True)


def run(ctx) -> list[Figure]:
    with tempfile.TemporaryDirectory() as workdir:
        figures = [dispatcher(ctx, workdir)]
        with started(ctx.emulator) as emulator:
            figures.append(scheduler(ctx, workdir, emulator))
    return figures
