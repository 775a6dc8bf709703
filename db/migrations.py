"""Schema migrations through Alembic: the revisions under db/alembic/versions, configured here in code.

`migrate` brings a database to the newest revision inside one write transaction (the writer lock of
`db.session`), so two processes starting at once upgrade it once. A database made before Alembic is upgraded too:
revision 0001 recognises the old `_migrations` ledger and finishes what it lacked. A schema change is a new
revision file with literal DDL (`python -m db.migrations revision "what changed" --db PATH` drafts one from the
models); a shipped revision is never edited.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine

from db.session import write_connection

SCRIPT_LOCATION = Path(__file__).resolve().parent / "alembic"
RAW_DDL_TABLES = "search_index"  # the search index and its FTS5 shadow tables: raw DDL with triggers, not models


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """What autogenerate compares with the models: every table but the search index's."""
    return not (type_ == "table" and (name or "").startswith(RAW_DDL_TABLES))


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration without an alembic.ini; `connection` is the one db/alembic/env.py migrates."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision id: what every database is upgraded to."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision a database is at; None for a new database or one made before Alembic."""
    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> list[str]:
    """Upgrade the database to the head revision; return the ids of the revisions applied, oldest first."""
    with write_connection(engine) as connection:
        before = current_revision(connection)
        command.upgrade(alembic_config(connection), "head")
        after = current_revision(connection)
    if before == after:
        return []
    script = ScriptDirectory.from_config(alembic_config())
    applied = script.iterate_revisions(after, before or "base")
    return [revision.revision for revision in reversed(list(applied)) if revision.revision != before]


def draft_revision(engine: Engine, message: str) -> None:
    """Write a new revision file from the difference between the models and a database at head, to be edited."""
    with write_connection(engine) as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m db.migrations", description="Draft a new Alembic revision.")
    parser.add_argument("action", choices=["revision"])
    parser.add_argument("message")
    parser.add_argument("--db", required=True, help="a scratch database (a SQLite path or a URL): upgraded first")
    args = parser.parse_args(argv)
    engine = create_engine(args.db if "://" in args.db else f"sqlite:///{args.db}")
    migrate(engine)
    draft_revision(engine, args.message)


if __name__ == "__main__":
    main()
