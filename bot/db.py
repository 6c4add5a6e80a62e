"""Engine and sessions: one session per request or job, committed by whoever opened it."""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

from sqlalchemy import Table, create_engine, event, insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.sqlite_writers import WriterQueue

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Objects the models do not describe, which migrations and schema checks leave alone: APScheduler's job
# store, and the per-database n-gram search index (SQLite FTS5 tables, a PostgreSQL pg_trgm index).
FOREIGN_TABLES = {"apscheduler_jobs"}
FOREIGN_TABLE_PREFIXES = ("jobs_fts", "jobs_bigram_fts")
FOREIGN_INDEXES = {"ix_jobs_search_trgm", "ix_jobs_search_bigrams"}


INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_for(session):
    """The INSERT construct of the session's database, which has ON CONFLICT DO NOTHING on both."""
    return INSERTS[dialect_of(session)]


def dialect_of(session) -> str:
    return session.get_bind().dialect.name


def per_dialect(build) -> dict:
    """{database kind: build(its INSERT construct)}: statements of every event, built once up front
    (building a statement costs about as much as running a small one)."""
    return {name: build(insert) for name, insert in INSERTS.items()}


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """INSERT many rows of plain values (numbers, text, times, JSON) in the session's transaction.
    Every row names the same columns; Python-side column defaults are not applied.

    PostgreSQL takes them by COPY: psycopg's executemany sends one statement per row, about 37 µs a
    row against 7 by COPY (1 Dec, 100,000 rows), and a recommendation run writes a million. SQLite's
    executemany is already one loop in C. Either way the column types' bind processing applies (a
    naive time for a UTC column is refused) and a clash with a unique index raises IntegrityError."""
    if not rows:
        return
    if dialect_of(session) != "postgresql":
        session.execute(insert(table), rows)
        return
    import psycopg  # only with PostgreSQL

    columns = list(rows[0])
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer
    sql = f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c) for c in columns)}) FROM STDIN"
    # The dialect's own type: PostgreSQL's JSON wraps a value for psycopg, which the generic one does not.
    bind = [(c, table.c[c].type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value))
            for c in columns]
    try:
        with session.connection().connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([process(row[c]) for c, process in bind])
    except psycopg.IntegrityError as error:
        raise IntegrityError(sql, None, error) from error


_MEMO = "memo"


def transaction_memo(session: Session) -> dict:
    """A dict that lives as long as the session's current transaction, for what one event looks up
    several times and would otherwise ask the database for again. Emptied when the transaction ends."""
    return session.info.setdefault(_MEMO, {})


@event.listens_for(Session, "after_transaction_end")
def _forget_memo(session, transaction):
    # The session's own transaction or a savepoint (whose rollback may undo what was remembered); not
    # the inner transactions every flush opens and closes.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_MEMO, None)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table":
        return name not in FOREIGN_TABLES and not name.startswith(FOREIGN_TABLE_PREFIXES)
    if type_ == "index":
        return name not in FOREIGN_INDEXES
    return True


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        WriterQueue(engine)
        return engine
    engine = create_engine(url, pool_size=5, max_overflow=10)
    _PingWhenIdle(engine)
    return engine


def _sqlite_pragmas(dbapi_connection, _record):
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (SAVEPOINT needs it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while the dispatcher writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a killed process loses nothing
    # committed, only a power cut can lose the last commits. FULL made every webhook event wait ~3 ms
    # for the disk while it held SQLite's only write lock (docs/performance.md).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class _PingWhenIdle:
    """Pessimistic disconnect handling for connections that sat in the pool a while.

    SQLAlchemy's pool_pre_ping asks the server before every checkout: on the webhook that is an extra
    round trip, and a statement for the server, on every event. A connection used a moment ago is alive
    unless the server went away in that moment, and then the statement fails the same way it would
    have a moment later, however it was checked. So only a connection idle for IDLE seconds or more is
    pinged, with the dialect's own ping; a dead one is replaced before anyone uses it (the pool retries
    the checkout on DisconnectionError)."""

    IDLE = 2.0

    def __init__(self, engine):
        self.dialect = engine.dialect
        event.listen(engine, "checkin", self.checkin)
        event.listen(engine, "checkout", self.checkout)

    @staticmethod
    def checkin(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    def checkout(self, dbapi_connection, record, _proxy):
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < self.IDLE:
            return  # a new connection, or one just used
        try:
            self.dialect.do_ping(dbapi_connection)
        except self.dialect.loaded_dbapi.Error as exc:
            if self.dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError() from exc
            raise


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextlib.contextmanager
    def session(self):
        """A session whose transaction commits on success and rolls back on error."""
        with self.Session() as session:
            with session.begin():
                yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def analyze(self) -> None:
        """Refreshes the planner's statistics after a bulk import changed the tables a lot (and, on
        PostgreSQL, the visibility map that lets counts read indexes alone)."""
        if self.is_postgres:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE)"))
        else:
            with self.engine.begin() as conn:
                conn.execute(text("ANALYZE"))

    def migrate(self) -> None:
        migrate(self.url)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "head")
