"""SQLite's writers queue across processes on a file lock (bot.sqlite_writers): the next writer goes
the moment a transaction ends, a dead holder blocks no one, and a writer that waited too long goes on
to SQLite as before. SQLite only: PostgreSQL has row locks and no single writer."""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import threading

import pytest
import sqlalchemy as sa

from bot import sqlite_writers
from bot.db import make_engine
from bot.sqlite_writers import FileLock, lock_path

# A writer in another process: begins a transaction, says so, and commits when told (or is killed).
HOLDER = textwrap.dedent("""
    import sys
    import sqlalchemy as sa
    from bot.db import make_engine
    engine = make_engine(sys.argv[1])
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO notes (who) VALUES ('other process')"))
        print("holding", flush=True)
        sys.stdin.readline()
    print("committed", flush=True)
""")


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    engine = make_engine(url)  # also switches the file to WAL, as migrations do first
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY, who TEXT NOT NULL)"))
    engine.dispose()
    return url


@pytest.fixture
def holder(url):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.stdout.readline().strip() == "holding"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def write_in_thread(engine, who: str) -> tuple[threading.Thread, list]:
    errors = []

    def write():
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO notes (who) VALUES (:who)"), {"who": who})
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    return thread, errors


def notes(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT who FROM notes ORDER BY id")).scalars())


def file_is_free(path: str) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_writer_waits_for_another_process_then_goes_in_turn(url, holder):
    engine = make_engine(url)
    try:
        thread, errors = write_in_thread(engine, "this process")
        thread.join(0.5)
        assert thread.is_alive(), "wrote while another process held its transaction open"
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "committed"
        thread.join(30)
        assert not thread.is_alive() and errors == []
        assert notes(engine) == ["other process", "this process"]
        assert file_is_free(lock_path(engine.url.database))
    finally:
        engine.dispose()


def test_a_holder_that_dies_blocks_no_one(url, holder):
    engine = make_engine(url)
    try:
        thread, errors = write_in_thread(engine, "this process")
        thread.join(0.5)
        assert thread.is_alive()
        holder.kill()  # mid-transaction: the kernel lets its file lock go, SQLite rolls it back
        holder.wait()
        thread.join(30)
        assert not thread.is_alive() and errors == []
        assert notes(engine) == ["this process"]
    finally:
        engine.dispose()


def test_a_writer_that_waited_too_long_goes_to_sqlite_and_the_queue_recovers(url, monkeypatch):
    monkeypatch.setattr(sqlite_writers.WriterQueue, "WAIT", 0.3)
    engine = make_engine(url)
    path = lock_path(engine.url.database)
    stuck = FileLock(path)  # someone holds the queue's file but not SQLite's lock (as a hung process would)
    assert stuck.acquire(1.0)
    try:
        with engine.begin() as conn:  # gives up on the file after WAIT; SQLite itself is free
            conn.execute(sa.text("INSERT INTO notes (who) VALUES ('past the queue')"))
        stuck.release()
        for i in range(3):  # the lock the helper gets for the writer who gave up is let go
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO notes (who) VALUES (:who)"), {"who": f"in turn {i}"})
            assert file_is_free(path)
        assert notes(engine) == ["past the queue", "in turn 0", "in turn 1", "in turn 2"]
    finally:
        engine.dispose()


def test_writers_of_one_process_and_engines_on_one_file_take_turns(url):
    engines = [make_engine(url) for _ in range(2)]  # two engines: two open files, as two processes have
    try:
        threads = [write_in_thread(engines[i % 2], f"writer {i}") for i in range(16)]
        for thread, errors in threads:
            thread.join(30)
            assert not thread.is_alive() and errors == []
        assert sorted(notes(engines[0])) == sorted(f"writer {i}" for i in range(16))
        assert file_is_free(lock_path(engines[0].url.database))
    finally:
        for engine in engines:
            engine.dispose()


def test_an_in_memory_database_has_no_queue_file():
    assert lock_path(None) is None and lock_path(":memory:") is None
    engine = make_engine("sqlite://")
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
