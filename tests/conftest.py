"""Shared fixtures: a real emulator over HTTP, the app on SQLite and (when configured) PostgreSQL.

Every test that asks for `app` runs once per database backend. PostgreSQL runs when TEST_DATABASE_URL
is set; `make test` sets it under CI=true, where an unreachable server is an error, not a skip.
"""
from __future__ import annotations

import os
import sqlite3
import uuid

import pytest
import sqlalchemy as sa

from app import create_app
from bot.config import Settings
from bot.db import migrate
from bot.models import Base
from simulator import webhook_events as ev
from simulator.emulator import create_emulator
from simulator.emulator.server import serve_in_thread

TEST_TOKEN = "test-access-token-0123456789"
TEST_SECRET = "0123456789abcdef0123456789abcdef"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_database(base_url: str) -> str:
    """A throw-away database per test process, so parallel runs and CI never share state."""
    url = sa.make_url(base_url)
    name = f"hwtest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"}
    created = None
    if PG_URL:
        urls["postgresql"], created = _pg_database(PG_URL)
    for url in urls.values():
        migrate(url)
    yield urls
    if created:
        admin = sa.create_engine(sa.make_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, database_urls):
    url = database_urls[request.param]
    yield url
    _empty_tables(url)


def _empty_tables(url: str) -> None:
    engine = sa.create_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(sa.text(f"DELETE FROM {name}"))
    engine.dispose()


@pytest.fixture(scope="session")
def emulator_server():
    emulator = create_emulator(access_tokens=(TEST_TOKEN,))
    server = serve_in_thread(emulator)
    yield emulator, server
    server.shutdown()


@pytest.fixture
def emulator(emulator_server):
    emulator, _ = emulator_server
    emulator.state.reset()
    yield emulator.state
    emulator.state.clear_faults()


@pytest.fixture
def settings(database_url, emulator_server) -> Settings:
    _, server = emulator_server
    return Settings(demo=False, channel_secret=TEST_SECRET, channel_access_token=TEST_TOKEN,
                    api_base_url=server.base_url, data_api_base_url=server.base_url,
                    database_url=database_url, secret_key="s" * 40,
                    public_base_url="https://hw-omura.test", line_timeout=2.0)


@pytest.fixture
def app(settings, emulator, tmp_path):
    application = create_app(settings)
    application.config["TESTING"] = True
    # Uploaded images go to a folder of this test, not the developer's instance/.
    application.instance_path = str(tmp_path / "instance")
    yield application
    services = application.extensions["bot"]
    services.close()


@pytest.fixture
def locks_held(db):
    """A function telling how many of the app's transactions are open right now; on SQLite, whether
    its one write lock is taken. For checking that no lock waits on a call to LINE."""
    def count() -> int:
        if db.engine.dialect.name == "sqlite":
            probe = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                return 0
            except sqlite3.OperationalError:
                return 1
            finally:
                probe.close()
        with db.engine.connect() as conn:
            return conn.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))
    return count


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    return app.extensions["bot"].db


class Line:
    """Plays LINE's part: builds events, signs them, posts them to /callback."""

    def __init__(self, client, emulator, secret=TEST_SECRET):
        self.client = client
        self.emulator = emulator
        self.secret = secret
        # The web process confirms delivered replies in a background round every half second
        # (bot.line.replies.Settler). Tests that then run the dispatcher under time travel would find
        # them unconfirmed and "stale"; so each post waits for its confirmation, as a second of real
        # time would. Tests of the settler itself turn this off.
        self.settle = True

    def new_user(self, name="大村 花子") -> str:
        user_id = ev.new_user_id()
        self.emulator.add_user(user_id, display_name=name)
        return user_id

    def token(self, user_id=None) -> str:
        return self.emulator.issue_reply_token(user_id)

    def post(self, *events, body: bytes | None = None, signature: str | None = None, headers=None):
        body = ev.payload(*events) if body is None else body
        sig = ev.sign(self.secret, body) if signature is None else signature
        all_headers = {"X-Line-Signature": sig, "Content-Type": "application/json", **(headers or {})}
        response = self.client.post("/callback", data=body, headers=all_headers)
        if self.settle:
            self.client.application.extensions["bot"].settler.flush()
        return response

    def tap_at_once(self, app, taps: list[tuple[str, str]]) -> list[int]:
        """(user, postback data) pairs delivered in parallel, each on its own connection, as LINE does
        when many people tap at the same moment; returns the status codes."""
        import threading

        bodies = [ev.payload(ev.postback(user, self.token(user), data)) for user, data in taps]
        statuses = []

        def deliver(body):
            response = app.test_client().post("/callback", data=body,
                                              headers={"X-Line-Signature": ev.sign(self.secret, body)})
            statuses.append(response.status_code)

        threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.settle:
            app.extensions["bot"].settler.flush()
        return statuses

    def follow(self, user_id, **kw):
        return self.post(ev.follow(user_id, self.token(user_id), **kw))

    def say(self, user_id, text, **kw):
        return self.post(ev.text(user_id, self.token(user_id), text, **kw))

    def tap(self, user_id, data, **kw):
        return self.post(ev.postback(user_id, self.token(user_id), data, **kw))

    def received(self, user_id) -> list[dict]:
        return self.emulator.messages_for(user_id)


@pytest.fixture
def line(client, emulator):
    return Line(client, emulator)
