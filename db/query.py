"""Run one user-supplied SQL statement read-only, for `kb query`.

SQLite: opened with `mode=ro`, `PRAGMA query_only=ON`, and an authorizer that allows only reads, so that even a
clever statement cannot write, attach another file or load an extension. PostgreSQL: a READ ONLY transaction that
is always rolled back. Either way exactly one statement is allowed; refusals raise StorageError with the reason.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from db.engine import make_engine
from pipeline.errors import StorageError

class Result(NamedTuple):
    """What a query returned: column names and rows (unpacks as a pair)."""

    columns: list[str]
    rows: list[tuple]

# Pragmas that only report: with an argument it names a table or index (or a limit), never a new value.
_REPORT_PRAGMAS = frozenset(
    "table_info table_xinfo table_list index_list index_info index_xinfo foreign_key_list foreign_key_check "
    "integrity_check quick_check database_list collation_list function_list module_list pragma_list "
    "compile_options".split()
)
# Settings that may be read (no argument) but not set.
_SETTING_PRAGMAS = frozenset(
    "journal_mode user_version schema_version application_id page_count page_size freelist_count encoding "
    "foreign_keys query_only data_version".split()
)
_REFUSED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})
# The authorizer's action codes (sqlite3 reuses some of these numbers for unrelated constants).
_ACTION_NAMES = {
    getattr(sqlite3, f"SQLITE_{name}"): name.lower().replace("_", " ")
    for name in (
        "CREATE_INDEX CREATE_TABLE CREATE_TEMP_INDEX CREATE_TEMP_TABLE CREATE_TEMP_TRIGGER CREATE_TEMP_VIEW "
        "CREATE_TRIGGER CREATE_VIEW DELETE DROP_INDEX DROP_TABLE DROP_TEMP_INDEX DROP_TEMP_TABLE "
        "DROP_TEMP_TRIGGER DROP_TEMP_VIEW DROP_TRIGGER DROP_VIEW INSERT PRAGMA READ SELECT TRANSACTION UPDATE "
        "ATTACH DETACH ALTER_TABLE REINDEX ANALYZE CREATE_VTABLE DROP_VTABLE FUNCTION SAVEPOINT RECURSIVE"
    ).split()
}


def run_readonly(url_or_engine: str | Engine, sql: str, params=None) -> Result:
    """Column names and rows of one read-only statement. `params` use the driver's own placeholder style."""
    statement = single_statement(sql)
    url = make_url(url_or_engine if isinstance(url_or_engine, str) else url_or_engine.url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_readonly(url.database, statement, params)
    if url.get_backend_name() == "postgresql":
        return _postgres_readonly(url_or_engine, statement, params)
    raise _query_error(f"read-only queries are not supported on {url.get_backend_name()}")


def _query_error(reason: str) -> StorageError:
    return StorageError(reason, stage="query")


def single_statement(sql: str) -> str:
    """`sql` without a trailing semicolon; StorageError if it holds no statement or more than one."""
    ends = _statement_ends(sql)
    body = sql[: ends[0]] if ends else sql
    if any(_has_code(sql[end + 1 : after]) for end, after in zip(ends, [*ends[1:], len(sql)])):
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


def _sqlite_readonly(database: str | None, sql: str, params) -> Result:
    if not database or database == ":memory:":
        raise _query_error("read-only queries need a SQLite file, not an in-memory database")
    path = Path(database).expanduser().resolve()
    if not path.is_file():
        raise _query_error(f"no database at {path}")
    refusals: list[str] = []
    connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        connection.execute("PRAGMA query_only = ON")
        connection.set_authorizer(_authorizer(refusals))
        cursor = connection.execute(sql, params or ())
        rows = cursor.fetchall()
        return Result([column[0] for column in cursor.description or ()], rows)
    except (sqlite3.Error, sqlite3.Warning) as error:
        raise _query_error(f"refused: {refusals[0]}" if refusals else str(error)) from error
    finally:
        connection.close()


def _authorizer(refusals: list[str]):
    """An sqlite3 authorizer allowing SELECT, reads, functions and read-only pragmas; it notes what it refuses."""

    def authorize(action: int, arg1, arg2, _database, _trigger) -> int:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
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
    if arg1 in ("sqlite_master", "sqlite_schema") and name in ("insert", "update", "delete"):
        return "changing the schema is not a read"
    return " ".join(str(part) for part in (name, arg1, arg2) if part) + " is not a read"


def _reads_only(pragma: str | None, argument: str | None) -> bool:
    name = (pragma or "").lower()
    return name in _REPORT_PRAGMAS or (argument is None and name in _SETTING_PRAGMAS)


def _postgres_readonly(url_or_engine: str | Engine, sql: str, params) -> Result:
    owned = isinstance(url_or_engine, str)
    engine = make_engine(url_or_engine) if owned else url_or_engine
    try:
        return _postgres_rolled_back(engine, sql, params)
    except SQLAlchemyError as error:
        raise _query_error(f"cannot connect: {error}") from error
    finally:
        if owned:
            engine.dispose()


def _postgres_rolled_back(engine: Engine, sql: str, params) -> Result:
    # A prepared statement cannot hold two commands: a second guard behind `single_statement`, which matters
    # because a smuggled COMMIT would end the READ ONLY transaction.
    prepare = {"prepare": True} if engine.dialect.driver == "psycopg" else {}
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SET TRANSACTION READ ONLY")
        cursor.execute(sql, params, **prepare)
        rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        return Result([column[0] for column in cursor.description or ()], rows)
    except engine.dialect.loaded_dbapi.Error as error:
        raise _query_error(str(error).strip()) from error
    finally:
        connection.rollback()
        connection.close()
