"""Schema migrations: an ordered list of named functions, each applied once and recorded in `_migrations`.

Add a change by appending a new function with `@migration`; never edit or reorder one that has shipped.
`m001_initial` builds the tables from the current models, so the day a model changes, that change needs its own
migration *and* m001 must be frozen to the DDL it had before (otherwise new databases get the column twice).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, text
from sqlmodel import SQLModel

from db.models import TABLES
from db.session import write_connection
from schemas.documents import utcnow

Migration = Callable[[Connection], None]
MIGRATIONS: list[Migration] = []

_CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
)


def migration(fn: Migration) -> Migration:
    """Append `fn` to the ordered list; its name is what `_migrations` records."""
    MIGRATIONS.append(fn)
    return fn


def migrate(engine: Engine) -> list[str]:
    """Apply the migrations not yet recorded, in order, one transaction each; return the names applied."""
    with write_connection(engine) as connection:
        connection.execute(text(_CREATE_LEDGER))
    return [fn.__name__ for fn in MIGRATIONS if _apply_once(engine, fn)]


def applied_migrations(connection: Connection) -> list[str]:
    return list(connection.execute(text("SELECT name FROM _migrations ORDER BY applied_at, name")).scalars())


def _apply_once(engine: Engine, fn: Migration) -> bool:
    # The writer lock is held from the check to the record, so two processes starting at once apply it once.
    with write_connection(engine) as connection:
        if fn.__name__ in applied_migrations(connection):
            return False
        fn(connection)
        connection.execute(
            text("INSERT INTO _migrations (name, applied_at) VALUES (:name, :at)"),
            {"name": fn.__name__, "at": utcnow().isoformat()},
        )
        return True


@migration
def m001_initial(connection: Connection) -> None:
    """Documents, extractors, runs, attempts, extractions, the four record tables and the watch list."""
    SQLModel.metadata.create_all(connection, tables=[model.__table__ for model in TABLES])
