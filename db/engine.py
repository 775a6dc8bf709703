"""Make the one SQLAlchemy engine a process uses, and bring its database up to date.

SQLite gets the settings a small many-process knowledge base needs (WAL, foreign keys, a busy timeout) and
its own BEGIN, so that writers can ask for BEGIN IMMEDIATE (see `db.session`). PostgreSQL URLs pass through.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from db.session import BEGIN_OPTION

BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; for a SQLite file the parent directory is created and the pragmas set."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # SQLAlchemy would pick psycopg2; career-kb ships psycopg 3
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    _ensure_parent(url)
    engine = create_engine(url, echo=echo, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def init_db(engine: Engine) -> list[str]:
    """Upgrade to the newest Alembic revision, then (re)create the views; return the revisions applied.

    Safe on every start, and from two processes (the upgrade holds the writer lock)."""
    from db.migrations import migrate
    from db.views import ensure_views

    applied = migrate(engine)
    ensure_views(engine)
    return applied


def _ensure_parent(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Turn off the sqlite3 module's own implicit BEGIN so that `_sqlite_begin` decides how to begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")  # first, so the WAL switch can wait too
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _use_wal(cursor) -> None:
    """Switch to WAL. While another process makes a new database's same switch, SQLite may answer "locked" at
    once, without its busy handler: try again until the busy timeout has passed."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(connection) -> None:
    # IMMEDIATE takes the write lock up front: a deferred reader that later writes can fail at once with
    # SQLITE_BUSY (the busy timeout does not help it), an immediate one just waits its turn.
    mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")
