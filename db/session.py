"""Write transactions that hold the database's single writer lock, on SQLite and on PostgreSQL alike.

Every write in career-kb (a migration, the views, one document's save, a run's bookkeeping) is one short
transaction that first takes the lock, so that check-then-insert code is safe when two processes run at once:
SQLite gets BEGIN IMMEDIATE, PostgreSQL a transaction-scoped advisory lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import Connection, Engine, text
from sqlmodel import Session

BEGIN_OPTION = "kb_sqlite_begin"  # execution option read by db.engine's SQLite "begin" listener
WRITE_LOCK_KEY = 0x6B62_0001  # any constant bigint shared by every career-kb writer


# One lock per SQLite database for the writers of this process: its threads queue on it and wake at once, instead
# of meeting SQLite's busy handler, which sleeps in growing steps (up to 100 ms) while another thread writes.
# Writers in other processes queue on SQLite's own lock (BEGIN IMMEDIATE and the busy timeout, db.engine).
_SQLITE_WRITERS: dict[str, threading.RLock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


def _process_writer_lock(engine: Engine) -> threading.RLock | None:
    if engine.dialect.name != "sqlite":
        return None  # PostgreSQL's advisory lock queues waiters itself
    with _SQLITE_WRITERS_GUARD:
        return _SQLITE_WRITERS.setdefault(str(engine.url), threading.RLock())


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that holds the writer lock; commits on success, else rolls back."""
    with _process_writer_lock(engine) or nullcontext(), engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
            yield connection


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """An ORM session over `write_connection`: everything it flushes commits or rolls back together."""
    with write_connection(engine) as connection, Session(bind=connection) as session:
        yield session
        session.flush()
