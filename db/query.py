"""Run one user-supplied SQL statement read-only, for `kb query`, streaming its rows.

SQLite: opened with `mode=ro`, `PRAGMA query_only=ON`, and an authorizer that allows only reads, so that even a
clever statement cannot write, attach another file or load an extension. PostgreSQL: a READ ONLY transaction that
is always rolled back. Either way exactly one statement is allowed; refusals raise StorageError with the reason.
Rows are fetched in batches (SQLite) or streamed by the server (PostgreSQL), so any result fits in memory; a `Stop`
ends a running statement after a timeout or when cancelled (Ctrl-C).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from db.engine import make_engine
from pipeline.errors import StorageError

BATCH_ROWS = 500  # rows fetched from SQLite at a time
PROGRESS_STEPS = 10_000  # SQLite VM steps between checks of the Stop


class Result(NamedTuple):
    """What a query returned: column names and rows (unpacks as a pair)."""

    columns: list[str]
    rows: list[tuple]


class Stream(NamedTuple):
    """A running query: its column names and an iterator over its rows, valid while the query is open."""

    columns: list[str]
    rows: Iterator[tuple]


class QueryInterrupted(StorageError):
    """The statement was cancelled (Ctrl-C) before it finished."""


class Stop:
    """When a running SQLite statement gives up: after `timeout` seconds, or once `cancel()` was called.

    `cancel` only sets a flag, so a signal handler may call it; SQLite asks `due()` every PROGRESS_STEPS steps.
    """

    def __init__(self, timeout: float | None = None):
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def due(self) -> bool:
        return self.cancelled or self.expired()


# Pragmas that only report: with an argument it names a table or index (or a limit), never a new value.
_REPORT_PRAGMAS = frozenset(
    [
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
        "database_list",
        "collation_list",
        "function_list",
        "module_list",
        "pragma_list",
        "compile_options",
    ]
)
# Settings that may be read (no argument) but not set.
_SETTING_PRAGMAS = frozenset(
    [
        "journal_mode",
        "user_version",
        "schema_version",
        "application_id",
        "page_count",
        "page_size",
        "freelist_count",
        "encoding",
        "foreign_keys",
        "query_only",
        "data_version",
    ]
)
_SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"})
_REFUSED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})
# The authorizer's action codes (sqlite3 reuses some of these numbers for unrelated constants).
_ACTION_NAMES = {
    getattr(sqlite3, f"SQLITE_{name}"): name.lower().replace("_", " ")
    for name in [
        "CREATE_INDEX",
        "CREATE_TABLE",
        "CREATE_TEMP_INDEX",
        "CREATE_TEMP_TABLE",
        "CREATE_TEMP_TRIGGER",
        "CREATE_TEMP_VIEW",
        "CREATE_TRIGGER",
        "CREATE_VIEW",
        "DELETE",
        "DROP_INDEX",
        "DROP_TABLE",
        "DROP_TEMP_INDEX",
        "DROP_TEMP_TABLE",
        "DROP_TEMP_TRIGGER",
        "DROP_TEMP_VIEW",
        "DROP_TRIGGER",
        "DROP_VIEW",
        "INSERT",
        "PRAGMA",
        "READ",
        "SELECT",
        "TRANSACTION",
        "UPDATE",
        "ATTACH",
        "DETACH",
        "ALTER_TABLE",
        "REINDEX",
        "ANALYZE",
        "CREATE_VTABLE",
        "DROP_VTABLE",
        "FUNCTION",
        "SAVEPOINT",
        "RECURSIVE",
    ]
}


def run_readonly(url_or_engine: str | Engine, sql: str, params=None, *, timeout: float | None = None) -> Result:
    """Column names and all rows of one read-only statement. `params` use the driver's own placeholder style."""
    with open_readonly(url_or_engine, sql, params, stop=Stop(timeout)) as stream:
        return Result(stream.columns, list(stream.rows))


@contextmanager
def open_readonly(url_or_engine: str | Engine, sql: str, params=None, *, stop: Stop | None = None) -> Iterator[Stream]:
    """One read-only statement as a Stream of rows, open until the block ends (leaving early stops it)."""
    statement = single_statement(sql)
    stop = stop or Stop()
    url = make_url(url_or_engine if isinstance(url_or_engine, str) else url_or_engine.url)
    if url.get_backend_name() == "sqlite":
        with _sqlite_stream(url.database, statement, params, stop) as stream:
            yield stream
    elif url.get_backend_name() == "postgresql":
        with _postgres_stream(url_or_engine, statement, params, stop) as stream:
            yield stream
    else:
        raise _query_error(f"read-only queries are not supported on {url.get_backend_name()}")


def _query_error(reason: str) -> StorageError:
    return StorageError(reason, stage="query")


def single_statement(sql: str) -> str:
    """`sql` without a trailing semicolon; StorageError if it holds no statement or more than one."""
    ends = _statement_ends(sql)
    body = sql[: ends[0]] if ends else sql
    if any(_has_code(sql[end + 1 : after]) for end, after in zip(ends, [*ends[1:], len(sql)], strict=False)):
        raise _query_error("only one SQL statement may be run at a time")
    if not _has_code(body):
        raise _query_error("no SQL statement given")
    return body.strip()


def _statement_ends(sql: str) -> list[int]:
    """Positions of the semicolons that end statements (not those inside quotes or comments)."""
    ends, i, n = [], 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"`[":
            close = "]" if char == "[" else char
            i = sql.find(close, i + 1)
            i = n if i < 0 else i + 1
        elif sql.startswith("--", i):
            i = _after(sql, "\n", i)
        elif sql.startswith("/*", i):
            i = _after(sql, "*/", i + 2)
        elif char == ";":
            ends.append(i)
            i += 1
        else:
            i += 1
    return ends


def _after(sql: str, token: str, start: int) -> int:
    found = sql.find(token, start)
    return len(sql) if found < 0 else found + len(token)


def _has_code(fragment: str) -> bool:
    """True when `fragment` holds something other than whitespace and comments."""
    i, n = 0, len(fragment)
    while i < n:
        if fragment[i].isspace():
            i += 1
        elif fragment.startswith("--", i):
            i = _after(fragment, "\n", i)
        elif fragment.startswith("/*", i):
            i = _after(fragment, "*/", i + 2)
        else:
            return True
    return False


@contextmanager
def _sqlite_stream(database: str | None, sql: str, params, stop: Stop) -> Iterator[Stream]:
    """The statement on a read-only connection that refuses writes and asks `stop` whether to go on."""
    path = _sqlite_file(database)
    refusals: list[str] = []
    connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        connection.execute("PRAGMA query_only = ON")
        connection.set_authorizer(_authorizer(refusals))
        connection.set_progress_handler(stop.due, PROGRESS_STEPS)
        with _sqlite_errors(refusals, stop):
            cursor = connection.execute(sql, params or ())
        yield Stream([column[0] for column in cursor.description or ()], _sqlite_rows(cursor, refusals, stop))
    finally:
        connection.close()


def _sqlite_file(database: str | None) -> Path:
    """The SQLite file to read; StorageError for an in-memory database or a file that does not exist."""
    if not database or database == ":memory:":
        raise _query_error("read-only queries need a SQLite file, not an in-memory database")
    path = Path(database).expanduser().resolve()
    if not path.is_file():
        raise _query_error(f"no database at {path}; run kb ingest first")
    return path


def _sqlite_rows(cursor: sqlite3.Cursor, refusals: list[str], stop: Stop) -> Iterator[tuple]:
    """The rows, fetched a batch at a time so that memory stays flat whatever the result's size."""
    with _sqlite_errors(refusals, stop):
        while batch := cursor.fetchmany(BATCH_ROWS):
            yield from batch
            if stopped := _stopped(stop):  # a Ctrl-C while the caller was writing rows
                raise stopped


@contextmanager
def _sqlite_errors(refusals: list[str], stop: Stop) -> Iterator[None]:
    """sqlite3 errors as StorageError (QueryInterrupted when cancelled), naming the first refusal if any."""
    try:
        yield
    except (sqlite3.Error, sqlite3.Warning) as error:
        raise _stopped(stop) or _query_error(f"refused: {refusals[0]}" if refusals else str(error)) from error


def _stopped(stop: Stop) -> StorageError | None:
    """The error for a query the Stop ended, or None when it did not end it."""
    if stop.cancelled:
        return QueryInterrupted("interrupted", stage="query")
    if stop.expired():
        return _query_error(f"timed out after {stop.timeout:g} s")
    return None


def _authorizer(refusals: list[str]):
    """An sqlite3 authorizer allowing SELECT, reads, functions and read-only pragmas; it notes what it refuses.

    SQLite also reports its own schema bookkeeping when a statement first opens a virtual table (an FTS5 index,
    a table-valued pragma) as an UPDATE of sqlite_master; that is allowed, since a statement of the user's cannot
    write there (DDL is refused by its own action code, and the file is opened read-only).
    """

    def authorize(action: int, arg1, arg2, _database, _trigger) -> int:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_UPDATE and arg1 in _SCHEMA_TABLES:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() not in _REFUSED_FUNCTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA and _reads_only(arg1, arg2):
            return sqlite3.SQLITE_OK
        refusals.append(_describe(action, arg1, arg2))
        return sqlite3.SQLITE_DENY

    return authorize


def _describe(action: int, arg1: str | None, arg2: str | None) -> str:
    name = _ACTION_NAMES.get(action, f"action {action}")
    if arg1 in _SCHEMA_TABLES and name in ("insert", "update", "delete"):
        return "changing the schema is not a read"
    return " ".join(str(part) for part in (name, arg1, arg2) if part) + " is not a read"


def _reads_only(pragma: str | None, argument: str | None) -> bool:
    name = (pragma or "").lower()
    return name in _REPORT_PRAGMAS or (argument is None and name in _SETTING_PRAGMAS)


@contextmanager
def _postgres_stream(url_or_engine: str | Engine, sql: str, params, stop: Stop) -> Iterator[Stream]:
    """The statement on a connection of its own (from the engine given, or one made for the URL)."""
    owned = isinstance(url_or_engine, str)
    engine = make_engine(url_or_engine) if owned else url_or_engine
    try:
        connection = engine.raw_connection()
    except SQLAlchemyError as error:
        raise _query_error(f"cannot connect: {error}") from error
    try:
        with _postgres_rolled_back(connection, engine.dialect.loaded_dbapi.Error, sql, params, stop) as stream:
            yield stream
    finally:
        connection.close()
        if owned:
            engine.dispose()


@contextmanager
def _postgres_rolled_back(connection, errors: type[Exception], sql: str, params, stop: Stop) -> Iterator[Stream]:
    """The statement in a READ ONLY transaction that is always rolled back, its rows streamed by psycopg.

    psycopg's `stream` sends the statement with the extended protocol, which cannot hold two commands: a second
    guard behind `single_statement`, which matters because a smuggled COMMIT would end the READ ONLY transaction.
    """
    cursor = connection.cursor()
    rows = None
    try:
        with _postgres_errors(errors, stop):
            cursor.execute("SET TRANSACTION READ ONLY")
            if stop.timeout is not None:
                cursor.execute(f"SET LOCAL statement_timeout = {max(1, round(stop.timeout * 1000))}")
            rows = cursor.stream(sql, params)
            first = next(rows, None)
            if first is None:  # psycopg describes a streamed result only with its first row
                cursor.execute(sql, params, prepare=True)
        columns = [column[0] for column in cursor.description or ()]
        yield Stream(columns, _postgres_rows(first, rows, errors, stop))
    finally:
        if rows is not None:
            rows.close()  # psycopg cancels a statement whose rows were not all read
        connection.rollback()


def _postgres_rows(first, rows: Iterator, errors: type[Exception], stop: Stop) -> Iterator[tuple]:
    """The first row again, then the rest, as plain tuples."""
    with _postgres_errors(errors, stop):
        yield from (tuple(row) for row in chain([] if first is None else [first], rows))


@contextmanager
def _postgres_errors(errors: type[Exception], stop: Stop) -> Iterator[None]:
    """Driver errors as StorageError; a statement_timeout says it timed out."""
    try:
        yield
    except errors as error:
        if stop.expired():
            raise _query_error(f"timed out after {stop.timeout:g} s") from error
        raise _query_error(str(error).strip()) from error
