"""Throw-away databases: a fresh SQLite file, and PostgreSQL when BENCH_DATABASE_URL or
TEST_DATABASE_URL names a server, else when the local server of CI (DEFAULT_PG) answers (a new
database is created there, migrated, and dropped after)."""
from __future__ import annotations

import contextlib
import functools
import os
import re
import uuid

import sqlalchemy as sa

from bot.db import migrate


DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@functools.cache
def postgres_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or ""
    if url:
        return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)
    engine = sa.create_engine(DEFAULT_PG, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return DEFAULT_PG
    except sa.exc.OperationalError:
        return ""
    finally:
        engine.dispose()


def backends() -> list[str]:
    return ["sqlite"] + (["postgresql"] if postgres_url() else [])


def _admin(sql: str) -> None:
    engine = sa.create_engine(sa.make_url(postgres_url()), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


@contextlib.contextmanager
def fresh_database(backend: str, workdir: str):
    """Yields the URL of an empty, migrated database."""
    name = f"hwbench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite:///{os.path.join(workdir, name + '.db')}"
        migrate(url)
        yield url
        return
    _admin(f'CREATE DATABASE "{name}"')
    try:
        url = sa.make_url(postgres_url()).set(database=name).render_as_string(hide_password=False)
        migrate(url)
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
