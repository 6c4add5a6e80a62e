"""Crashes: PostgreSQL restarted under traffic, and `kill -9` of the web, worker and clock processes.

PostgreSQL is a private cluster of this test (Debian's initdb/pg_ctl, a free port, a temporary
directory), never the machine's shared server. The processes are the Procfile's own commands, talking
to the emulator in a process of its own; what matters is counted at the emulator.
"""
from __future__ import annotations

import collections
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
from bot.db import migrate
from bot.line import outbox
from bot.line.dispatcher import Dispatcher, DispatcherConfig
from bot.models import OutboxMessage
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
        services.line.close()
        services.db.dispose()
    assert running.is_alive() is False
    for i, uid in enumerate(people):
        texts = [m.get("text") for m in emulator.messages_for(uid)]
        assert texts.count(f"再起動試験のお知らせ {i}") == 1, uid
    for uid in asking:
        got = emulator.messages_for(uid)
        assert sum(got[k:k + len(help_answer)] == help_answer for k in range(len(got))) == 1, uid
    assert cut_at < len(people)  # the restart really came in the middle of the deliveries


def _settled(db) -> bool:
    try:
        with db.session() as s:
            states = collections.Counter(s.scalars(sa.select(OutboxMessage.status)))
    except sa.exc.OperationalError:
        return False
    return states and set(states) <= {"sent", "merged", "cancelled"}
