"""SQLite's writers, one at a time, queued instead of polling for the database's write lock.

Every transaction begins IMMEDIATE: it takes SQLite's write lock up front, because a deferred
transaction that reads and then writes can fail at once with "database is locked" when another writer
got in between. A writer that finds the lock taken is left to SQLite's busy handler, which sleeps and
retries at growing intervals (1, 2, 5 ms ... 25 ms and more): under load the lock then sits free while
the waiters sleep, and a webhook event holds it for about 3 ms (docs/performance.md). So writers queue
before they ask SQLite:

- the threads of one process on a lock of their own, which hands over the moment a transaction ends;
- the processes (gunicorn's workers, the dispatcher, the clock) on an exclusive flock(2) of a file
  beside the database, which the kernel hands to the next waiter the moment it is let go, and lets go
  by itself when its holder's process dies.

A writer that waits longer than SQLite's own busy timeout goes on to SQLite, which decides as it
always did (and answers "database is locked" if the lock is still taken).
"""
from __future__ import annotations

import fcntl
import itertools
import logging
import os
import threading
import time

from sqlalchemy import event

log = logging.getLogger(__name__)


def lock_path(database: str | None) -> str | None:
    """The queue's file for a SQLite database file; None for an in-memory database."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writers.lock"


class FileLock:
    """An exclusive flock(2) shared by every process that opens the same file.

    A blocking flock cannot time out, so a contended wait happens in a helper thread and the caller
    waits for that with a timeout; a lock the helper gets for a caller who gave up is let go at once.
    One caller at a time per instance (WriterQueue's own lock sees to that)."""

    def __init__(self, path: str):
        self.path = path
        self._pid = None

    def _start(self) -> None:
        # Per process: a forked child must not share its parent's open file or count on its thread.
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        self.cond = threading.Condition()
        self.tickets = itertools.count(1)
        self.wanted = self.granted = None
        self.helper_in_flock = False
        threading.Thread(target=self._helper, name="sqlite-writers", daemon=True).start()
        self._pid = os.getpid()

    def acquire(self, timeout: float) -> bool:
        if self._pid != os.getpid():
            self._start()
        with self.cond:
            # While the helper sits in flock() the file's lock may become its (the same open file):
            # then only the helper may take it.
            if not self.helper_in_flock:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    pass
            ticket = self.wanted = next(self.tickets)
            self.cond.notify_all()
            if self.cond.wait_for(lambda: self.granted == ticket, max(timeout, 0.0)):
                return True
            self.wanted = None  # given up: the helper lets the lock go when it gets it
            return False

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def _helper(self) -> None:
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.wanted is not None)
                self.helper_in_flock = True
            fcntl.flock(self.fd, fcntl.LOCK_EX)  # releases the GIL while it waits
            with self.cond:
                self.helper_in_flock = False
                if self.wanted is None:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
                else:
                    self.granted, self.wanted = self.wanted, None
                    self.cond.notify_all()


class WriterQueue:
    """Begins every transaction of a SQLite engine IMMEDIATE, after its turn in the queues above."""

    WAIT = 30.0  # the connections' busy timeout

    def __init__(self, engine):
        self.lock = threading.Lock()
        self.holder = None
        self.file_held = False
        path = lock_path(engine.url.database)
        self.file = FileLock(path) if path else None
        event.listen(engine, "begin", self.begin)
        dialect = engine.dialect  # this engine's own: wrapping it touches no other engine
        dialect.do_commit = self._then_release(dialect.do_commit)
        dialect.do_rollback = self._then_release(dialect.do_rollback)
        # A connection that goes back to the pool or is thrown away holds no transaction any more.
        event.listen(engine, "checkin", lambda dbapi_connection, _record: self._release(dbapi_connection))
        event.listen(engine, "invalidate", lambda dbapi_connection, _record, _exc: self._release(dbapi_connection))

    def begin(self, conn):
        dbapi_connection = conn.connection.dbapi_connection
        deadline = time.monotonic() + self.WAIT
        if self.lock.acquire(timeout=self.WAIT):
            self.holder = dbapi_connection
            self.file_held = self._take_file(deadline - time.monotonic())
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._release(dbapi_connection)
            raise

    def _take_file(self, timeout: float) -> bool:
        if self.file is None:
            return False
        try:
            return self.file.acquire(timeout)
        except OSError as exc:  # e.g. a directory this process may not create files in
            log.warning("SQLite writers queue without %s (%s): SQLite's busy handler decides",
                        self.file.path, exc)
            self.file = None
            return False

    def _release(self, connection):
        # SQLAlchemy ends a transaction on the pool's proxy of the connection, which it begins on the
        # connection itself: both lead to the same DBAPI connection.
        dbapi_connection = getattr(connection, "dbapi_connection", connection)
        if self.holder is not None and self.holder is dbapi_connection:
            self.holder = None
            if self.file_held:
                self.file_held = False
                self.file.release()
            self.lock.release()

    def _then_release(self, end):
        def ended(dbapi_connection):
            try:
                end(dbapi_connection)
            finally:
                self._release(dbapi_connection)
        return ended
