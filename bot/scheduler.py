"""The clock process: APScheduler with a database job store, in Japan time.

Capabilities declare their recurring jobs next to their code with `@scheduled(...)`; `flask scheduler
run` (the Procfile `clock`) keeps them in the job store and runs them. Only one clock acts at a time,
even when two are started: the leader holds a database lock (a PostgreSQL advisory lock, or a file
lock beside a SQLite database) and the others wait on standby to take over. A PostgreSQL lock can
vanish under its holder (a database restart, a killed connection): the active clock checks every few
seconds that it still holds it, and stands by again when it does not.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import click
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import exc, text

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"
LOCK_KEY = 0x48574F4D  # "HWOM": the advisory lock id of the clock
DECLARED_PREFIX = "cron:"  # jobs declared in code; others (e.g. a scheduled broadcast) are added at run time
MODULES_WITH_JOBS = ["bot.housekeeping", "bot.broadcasts", "bot.applications", "bot.recommendations", "bot.privacy",
                     "bot.booking.notify"]


@dataclasses.dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable
    cron: dict
    description: str


JOBS: dict[str, JobSpec] = {}
_services = None  # the clock process's services, for job functions


def scheduled(job_id: str, description: str, **cron):
    """Declares a recurring job: `@scheduled("purge-events", "...", hour=3, minute=30)`."""
    def register(func):
        JOBS[DECLARED_PREFIX + job_id] = JobSpec(DECLARED_PREFIX + job_id, func, cron, description)
        return func
    return register


def run_job(job_id: str) -> None:
    """What the job store stores for every declared job: a name, never a pickled function."""
    spec = JOBS.get(job_id)
    if spec is None:
        log.warning("job %s is no longer declared; skipped", job_id)
        return
    log.info("job %s starting", job_id)
    spec.func(_services)
    log.info("job %s done", job_id)


def load_jobs() -> dict[str, JobSpec]:
    import importlib

    for module in MODULES_WITH_JOBS:
        importlib.import_module(module)
    return JOBS


def build_scheduler(services) -> BackgroundScheduler:
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=services.db.engine, tablename=JOB_TABLE)},
        timezone=services.settings.tz,
        # A clock that was down runs a missed job once when it returns (coalesce), if not too late.
        job_defaults={"coalesce": True, "misfire_grace_time": 15 * 60, "max_instances": 1},
    )


def sync_jobs(scheduler: BackgroundScheduler, tz) -> None:
    """Makes the job store hold exactly the declared jobs (plus run-time jobs of other kinds)."""
    declared = load_jobs()
    now = dt.datetime.now(tz)
    for spec in declared.values():
        trigger = CronTrigger(timezone=tz, **spec.cron)
        stored = scheduler.get_job(spec.id)
        if stored is not None and str(stored.trigger) == str(trigger) and stored.name == spec.description \
                and stored.next_run_time and stored.next_run_time >= now - dt.timedelta(
                    seconds=stored.misfire_grace_time or 0):
            # Kept as stored, with its next run time: a run missed while no clock was up (a crash, a
            # deploy) is then due at once and runs once (coalesce, within the misfire grace).
            continue
        scheduler.add_job(run_job, trigger, args=[spec.id], id=spec.id,
                          name=spec.description, replace_existing=True)
    for job in scheduler.get_jobs():
        if job.id.startswith(DECLARED_PREFIX) and job.id not in declared:
            job.remove()


class LeaderLock:
    """Held by the one clock process that acts."""

    def __init__(self, db):
        self.db = db
        self._conn = None
        self._file = None

    def try_acquire(self) -> bool:
        if self.db.is_postgres:
            conn = self.db.engine.connect()
            try:
                if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
                    conn.commit()
                    self._conn, conn = conn, None  # the lock lives as long as this connection
                    return True
                return False
            finally:
                if conn is not None:
                    conn.close()
        path = Path(self.db.engine.url.database or "instance/bot.db").with_suffix(".scheduler.lock")
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def held(self) -> bool:
        """Whether the lock is still ours. A file lock lasts as long as this process; a PostgreSQL lock
        goes with its session, which a restart or pg_terminate_backend ends without telling us."""
        if self._conn is None:
            return self._file is not None
        try:
            row = self._conn.execute(text(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = :k"
                " AND objsubid = 1 AND pid = pg_backend_pid() AND granted"), {"k": LOCK_KEY}).first()
            self._conn.commit()
        except exc.SQLAlchemyError:  # any database error: the lock is as good as gone
            row = None
        if row is None:
            self._drop()
        return row is not None

    def release(self) -> None:
        if self._conn is not None:
            try:
                # The connection goes back to the pool, so the session-level lock must be given up.
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._conn.commit()
                self._conn.close()
                self._conn = None
            except exc.SQLAlchemyError:  # a broken connection: its session, and the lock, are gone
                self._drop()
        if self._file is not None:
            self._file.close()
            self._file = None

    def _drop(self) -> None:
        # Invalidated, not returned to the pool: a session still alive would keep whatever it holds.
        try:
            self._conn.invalidate()
            self._conn.close()
        except exc.SQLAlchemyError:
            pass
        self._conn = None


def run_clock(services, stop: threading.Event, standby_wait: float = 10.0, check_every: float = 2.0,
              active: threading.Event | None = None) -> None:
    """Runs the jobs while this clock holds the leader lock, and stands by while another does, until
    `stop` is set. `active`, if given, is set while this clock runs jobs."""
    global _services
    _services = services
    active = active or threading.Event()
    lock = LeaderLock(services.db)
    while not stop.is_set():
        try:
            acquired = lock.try_acquire()
            if not acquired:
                log.info("another clock is active; standing by")
        except exc.SQLAlchemyError as e:  # the database is down (restarting): try again like a standby
            log.warning("clock cannot reach the database (%s); standing by", type(e).__name__)
            acquired = False
        if not acquired:
            stop.wait(standby_wait)
            continue
        scheduler = build_scheduler(services)
        try:
            # A leader whose PostgreSQL lock vanished runs jobs until its next check: two checks' time
            # lets it notice and stand down before this clock starts any.
            if services.db.is_postgres and stop.wait(2 * check_every):
                break
            scheduler.start(paused=True)
            sync_jobs(scheduler, services.settings.tz)
            scheduler.resume()
            active.set()
            log.info("clock active with %d jobs", len(scheduler.get_jobs()))
            while not stop.wait(check_every):
                if not lock.held():
                    log.warning("clock lost its lock (database restarted or connection cut); "
                                "stopping its jobs and standing by")
                    break
        except exc.SQLAlchemyError as e:  # e.g. the database went away while the jobs were being synced
            log.warning("clock stopped by a database error (%s); standing by", type(e).__name__)
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=True)
            active.clear()
            lock.release()


def register_cli(app) -> None:
    from flask import current_app

    @app.cli.group("scheduler")
    def scheduler_group():
        """The clock process and its jobs."""

    @scheduler_group.command("run")
    def scheduler_run():
        """Run scheduled jobs (the Procfile clock); only one clock acts at a time."""
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        run_clock(current_app.extensions["bot"], stop)

    @scheduler_group.command("list")
    def scheduler_list():
        """Show the jobs and their next run times (Japan time)."""
        services = current_app.extensions["bot"]
        scheduler = build_scheduler(services)
        scheduler.start(paused=True)
        try:
            sync_jobs(scheduler, services.settings.tz)
            for job in sorted(scheduler.get_jobs(), key=lambda j: j.id):
                when = job.next_run_time.strftime("%Y-%m-%d %H:%M %Z") if job.next_run_time else "paused"
                click.echo(f"{job.id:32} {when:22} {job.name}")
        finally:
            scheduler.shutdown(wait=False)
