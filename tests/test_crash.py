"""Crashes: PostgreSQL restarted under traffic, and `kill -9` of the web, worker and clock processes.

PostgreSQL is a private cluster of this test (Debian's initdb/pg_ctl, a free port, a temporary
directory), never the machine's shared server. The processes are the Procfile's own commands, talking
to the emulator in a process of its own; what matters is counted at the emulator.
"""
from __future__ import annotations

import collections
import json
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import urllib3
from linebot.v3.messaging import TextMessage

from app import create_app
from bot.config import Settings
from bot.db import Database, migrate
from bot.line import outbox
from bot.line.dispatcher import Dispatcher, DispatcherConfig
from bot.models import OutboxMessage, PendingReply, ProcessedEvent
from simulator import webhook_events as ev
from tests.conftest import TEST_SECRET, TEST_TOKEN, Line

ROOT = Path(__file__).resolve().parent.parent
FAST = dict(backoff_base=0.05, backoff_max=0.5, idle_wait=0.05, threads=4, lease_seconds=2.0)


def wait_for(condition, seconds=20.0, what="condition"):
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, f"{what} not met within {seconds} s"
        pause.wait(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a private PostgreSQL -------------------------------------------------------------------------

def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    path = found[-1] if found else shutil.which("pg_ctl")
    assert path, "PostgreSQL server binaries (pg_ctl, initdb) are needed: apt-get install postgresql"
    return Path(path).parent


class PrivatePostgres:
    """A throw-away cluster; PostgreSQL refuses to run as root, so root runs it as `postgres`."""

    def __init__(self):
        self.bin = _pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="hw-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{args[0]} failed: {done.stderr.strip()[-500:]}"

    def init(self) -> "PrivatePostgres":
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "-t", "30",
                  "start")

    def crash(self) -> None:
        """As if the server died: no shutdown checkpoint, every connection cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except AssertionError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def private_pg():
    server = PrivatePostgres().init()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def test_postgres_restart_during_traffic(private_pg, emulator_server, emulator):
    _, server = emulator_server
    migrate(private_pg.url)
    settings = Settings(demo=False, channel_secret=TEST_SECRET, channel_access_token=TEST_TOKEN,
                        api_base_url=server.base_url, data_api_base_url=server.base_url,
                        database_url=private_pg.url, secret_key="s" * 40,
                        public_base_url="https://hw-omura.test", line_timeout=2.0)
    app = create_app(settings)
    app.config["TESTING"] = True
    services = app.extensions["bot"]
    line = Line(app.test_client(), emulator)
    people = [line.new_user() for _ in range(40)]
    for uid in people:
        assert line.follow(uid).status_code == 200
    reference = line.new_user()
    line.follow(reference)
    greeted = len(emulator.messages_for(reference))
    line.say(reference, "使い方")
    help_answer = emulator.messages_for(reference)[greeted:]
    with services.db.session() as s:
        for i, uid in enumerate(people):
            outbox.push(s, uid, [TextMessage(text=f"再起動試験のお知らせ {i}")])
    emulator.inject(endpoint="push", delay=0.05)  # a slow LINE: the restart lands mid-delivery
    worker = Dispatcher(services, DispatcherConfig(**FAST))
    running = threading.Thread(target=worker.run)
    running.start()
    try:
        wait_for(lambda: len(emulator.records(endpoint="push")) >= 5, what="first pushes")
        private_pg.crash()
        cut_at = len(emulator.records(endpoint="push"))
        asking = people[:10]
        bodies = [ev.payload(ev.text(uid, line.token(uid), "使い方")) for uid in asking]
        # While it is down, the webhook answers 503 (LINE redelivers) rather than pretending.
        assert [line.post(body=b).status_code for b in bodies] == [503] * len(bodies)
        private_pg.start()
        wait_for(services.db.ping, what="database back")
        # LINE's redeliveries: processed once; a second redelivery is recognised and skipped.
        assert [line.post(body=b).status_code for b in bodies] == [200] * len(bodies)
        assert [line.post(body=b).status_code for b in bodies] == [200] * len(bodies)
        wait_for(lambda: _settled(services.db), seconds=30, what="outbox delivered")
    finally:
        worker.close()
        running.join(timeout=30)
        services.close()
    assert running.is_alive() is False
    for i, uid in enumerate(people):
        texts = [m.get("text") for m in emulator.messages_for(uid)]
        assert texts.count(f"再起動試験のお知らせ {i}") == 1, uid
    for uid in asking:
        got = emulator.messages_for(uid)
        assert sum(got[k:k + len(help_answer)] == help_answer for k in range(len(got))) == 1, uid
    assert cut_at < len(people)  # the restart really came in the middle of the deliveries
    resent = sum(c["status"] == 409 for c in emulator.rejected(endpoint="push"))
    print(f"\nfigures: postgres restart: {len(people)} pushes ({cut_at} before the crash, {resent} resent and "
          f"recognised by key), {len(bodies)} webhooks answered 503 then redelivered twice, 0 lost, 0 doubled")


def _settled(db) -> bool:
    try:
        with db.session() as s:
            states = collections.Counter(s.scalars(sa.select(OutboxMessage.status)))
    except sa.exc.OperationalError:
        return False
    return states and set(states) <= {"sent", "merged", "cancelled"}


def _no_held_replies(db) -> bool:
    try:
        with db.session() as s:
            return s.scalar(sa.select(sa.func.count()).select_from(PendingReply)) == 0
    except sa.exc.OperationalError:
        return False


# --- kill -9 of the Procfile's processes ----------------------------------------------------------

class Emulator:
    """The emulator in a process of its own (bench.emulator_proc), driven over HTTP."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.emulator_proc", "--token", TEST_TOKEN],
                                     cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"
        self.http = urllib3.PoolManager(maxsize=8)

    def call(self, method, path, body=None):
        answer = self.http.request(method, self.url + path, json=body, timeout=10)
        assert answer.status < 300, answer.data
        return answer.json()

    def add_users(self, ids):
        self.call("POST", "/_bench/users", {"ids": ids})

    def token(self, uid):
        return self.call("POST", "/_emulator/reply-tokens", {"userId": uid})["replyToken"]

    def messages(self, uid):
        return self.call("GET", f"/_emulator/messages/{uid}")["messages"]

    def records(self, endpoint):
        return self.call("GET", f"/_emulator/records?endpoint={endpoint}")["records"]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Procfile:
    """Starts the Procfile's web, worker and clock commands against one database and the emulator."""

    def __init__(self, database_url, emulator_url, logs: Path):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "DATABASE_URL"))}
        self.env.update(LINE_CHANNEL_SECRET=TEST_SECRET, LINE_CHANNEL_ACCESS_TOKEN=TEST_TOKEN,
                        LINE_API_BASE_URL=emulator_url, LINE_DATA_API_BASE_URL=emulator_url,
                        DATABASE_URL=database_url, SECRET_KEY="s" * 40, PUBLIC_BASE_URL="https://hw-omura.test")
        self.logs = logs
        self.port = free_port()
        self.started: list[subprocess.Popen] = []

    def start(self, name, *command) -> subprocess.Popen:
        log = open(self.logs / f"{name}-{len(self.started)}.log", "w")
        # A session of its own: kill -9 reaches gunicorn's master and its workers alike.
        proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        proc.log_path = Path(log.name)
        self.started.append(proc)
        return proc

    def web(self):
        proc = self.start("web", sys.executable, "-m", "gunicorn", "app:app", "--bind", f"127.0.0.1:{self.port}",
                          "--workers", "2", "--threads", "4", "--timeout", "30")
        http = urllib3.PoolManager()

        def up():
            try:
                return http.request("GET", f"http://127.0.0.1:{self.port}/readyz", timeout=2, retries=False).status == 200
            except urllib3.exceptions.HTTPError:
                return False
        wait_for(up, seconds=30, what="web up")
        return proc

    def worker(self):
        return self.start("worker", sys.executable, "-m", "flask", "--app", "app", "dispatcher", "--lease", "2",
                          "--threads", "4", "--reply-grace", "2")

    def clock(self):
        return self.start("clock", sys.executable, "-m", "flask", "--app", "app", "scheduler", "run")

    @staticmethod
    def kill(proc):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def close(self):
        for proc in self.started:
            if proc.poll() is None:
                self.kill(proc)


@pytest.fixture
def emulator_proc():
    running = Emulator()
    yield running
    running.close()


@pytest.fixture
def procfile(database_url, emulator_proc, tmp_path):
    running = Procfile(database_url, emulator_proc.url, tmp_path)
    yield running
    running.close()


def _post_all(url, bodies, workers=6):
    """Posts signed webhook bodies in parallel like LINE; returns those not answered 200 (to redeliver)."""
    http = urllib3.PoolManager(maxsize=workers)
    failed, lock = [], threading.Lock()

    def deliver(chunk):
        for body in chunk:
            try:
                status = http.request("POST", url, body=body, timeout=10, retries=False, headers={
                    "X-Line-Signature": ev.sign(TEST_SECRET, body), "Content-Type": "application/json"}).status
            except urllib3.exceptions.HTTPError:
                status = None
            if status != 200:
                with lock:
                    failed.append(body)

    threads = [threading.Thread(target=deliver, args=(bodies[i::workers],)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failed


def test_kill_9_of_web_and_worker_under_load(procfile, emulator_proc, database_url):
    """Friends talk to the bot while the web and the worker are killed and restarted. Counted at the
    emulator: everybody is answered exactly once and every outbox row went out exactly once. A request
    killed after its transaction committed and before its reply was confirmed is answered by the
    dispatcher from the held reply (bot.line.replies), with the event's own reply token."""
    people = [ev.new_user_id() for _ in range(80)]
    emulator_proc.add_users(people)
    emulator_proc.call("POST", "/_emulator/faults", {"endpoint": "reply", "status": 500, "probability": 0.5,
                                                    "seed": 5})  # half the answers go through the outbox
    bodies = {uid: ev.payload(ev.text(uid, emulator_proc.token(uid), "使い方")) for uid in people}
    web = procfile.web()
    worker = procfile.worker()
    url = f"http://127.0.0.1:{procfile.port}/callback"
    outcome = {}
    sender = threading.Thread(target=lambda: outcome.setdefault("failed", _post_all(url, list(bodies.values()))))
    sender.start()
    wait_for(lambda: len(emulator_proc.records("reply")) >= 10, what="first answers")
    procfile.kill(web)
    wait_for(lambda: len(emulator_proc.records("push")) + len(emulator_proc.records("multicast")) >= 1,
             what="first pushes")
    procfile.kill(worker)
    sender.join(timeout=60)
    assert outcome["failed"], "the web was killed after all requests were answered"
    interrupted = {uid for uid, body in bodies.items() if body in outcome["failed"]}
    procfile.web()
    procfile.worker()
    pending, rounds = outcome["failed"], 0
    while pending and rounds < 5:  # LINE redelivers what was not answered 200
        pending, rounds = _post_all(url, pending), rounds + 1
    assert pending == []
    db = Database(database_url)
    try:
        wait_for(lambda: _settled(db) and _no_held_replies(db), seconds=30, what="outbox and held replies delivered")
        with db.session() as s:
            processed = set(s.scalars(sa.select(ProcessedEvent.webhook_event_id)))
    finally:
        db.dispose()
    answer = len(emulator_proc.records("reply")[0]["body"]["messages"])
    held = {uid: len(emulator_proc.messages(uid)) for uid in people}
    assert set(held.values()) <= {0, answer}, "someone was answered twice"
    lost = {uid for uid, n in held.items() if n == 0}
    assert lost == set(), f"{len(lost)} answers lost"
    assert all(json.loads(body)["events"][0]["webhookEventId"] in processed for body in bodies.values())
    logs = "".join(_log(proc) for proc in procfile.started)
    print(f"\nfigures: kill -9 web+worker: {len(people)} friends, {len(interrupted)} requests cut and redelivered, "
          f"{logs.count('was lost with its web process; sent now')} held replies sent by the dispatcher, "
          f"{logs.count('had reached LINE before its web process died')} found delivered, 0 lost, 0 doubled")


def _forget_clock_jobs(url) -> None:
    """The clock's job store is not a model table, so the per-test emptying leaves it: other tests of
    the clock must not find these jobs (and their next run times)."""
    from bot.scheduler import JOB_TABLE

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if sa.inspect(conn).has_table(JOB_TABLE):
            conn.execute(sa.text(f"DELETE FROM {JOB_TABLE}"))
    engine.dispose()


def _log(proc) -> str:
    return proc.log_path.read_text(errors="replace")


def test_kill_9_of_the_active_clock_hands_over_to_the_standby(procfile, database_url):
    first = procfile.clock()
    wait_for(lambda: "clock active" in _log(first), seconds=30, what="first clock active")
    second = procfile.clock()
    wait_for(lambda: "standing by" in _log(second), seconds=30, what="second clock on standby")
    procfile.kill(first)
    # The lock dies with its holder (PostgreSQL session, or the file lock beside SQLite).
    wait_for(lambda: "clock active" in _log(second), seconds=30, what="standby took over")
    third = procfile.clock()
    wait_for(lambda: "standing by" in _log(third), seconds=30, what="restarted clock on standby")
    assert "clock active" not in _log(third)
    procfile.close()
    _forget_clock_jobs(database_url)


def test_a_job_missed_while_no_clock_ran_runs_once_when_the_clock_returns(app, db):
    """The clock is killed before 03:30 (the purge of old webhook event ids) and back at 03:40: the job
    store still holds the 03:30 run, which is late but within the grace, so it runs at once."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import time_machine

    from bot import scheduler

    tokyo = ZoneInfo("Asia/Tokyo")
    services = app.extensions["bot"]
    _forget_clock_jobs(db.url)
    with time_machine.travel(dt.datetime(2026, 6, 2, 3, 20, tzinfo=tokyo), tick=False):
        before = scheduler.build_scheduler(services)
        before.start(paused=True)
        scheduler.sync_jobs(before, services.settings.tz)
        before.shutdown(wait=False)  # the job store is all a killed clock leaves behind
    with db.session() as s:
        s.add(ProcessedEvent(webhook_event_id="old", event_type="message.text",
                             received_at=dt.datetime(2026, 5, 1, tzinfo=tokyo)))
    stop = threading.Event()
    with time_machine.travel(dt.datetime(2026, 6, 2, 3, 40, tzinfo=tokyo), tick=True):
        clock = threading.Thread(target=scheduler.run_clock, args=(services, stop))
        clock.start()
        try:
            def purged():
                with db.session() as s:
                    return s.scalar(sa.select(ProcessedEvent.id).where(ProcessedEvent.webhook_event_id == "old")) is None
            wait_for(purged, seconds=15, what="the missed purge")
        finally:
            stop.set()
            clock.join(timeout=15)
            _forget_clock_jobs(db.url)
