"""Migrations (Alembic): a new database and every fixture database made by an older career-kb end at the same
schema, rows intact, and the models match the newest revision (a model change without a revision fails here).

The fixtures under fixtures/db are real databases written by older commits (tests/make_fixture_db.py).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from db.engine import init_db, make_engine
from db.migrations import alembic_config, current_revision, head_revision, include_name
from db.views import VIEW_COLUMNS
from tests.conftest import ROOT

FIXTURES = sorted((ROOT / "fixtures" / "db").glob("*.sqlite"))
ALL_REVISIONS = [rev.revision for rev in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))]


def sqlite_engine(path: Path) -> Engine:
    return make_engine(f"sqlite:///{path}")


def model_diffs(engine: Engine) -> list:
    """What autogenerate would put in a new revision: the models' tables against the database's."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": include_name, "compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def schema(engine: Engine) -> dict[str, object]:
    """Tables with their columns, indexes, foreign keys and triggers: what two databases must share."""
    inspector = inspect(engine)
    tables = {
        name: (
            sorted(c["name"] for c in inspector.get_columns(name)),
            sorted(i["name"] for i in inspector.get_indexes(name)),
            sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in inspector.get_foreign_keys(name)),
        )
        for name in inspector.get_table_names()
    }
    with engine.connect() as connection:
        triggers = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
        return {"tables": tables, "triggers": sorted(triggers)}


def table_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table (the search index's shadow tables aside), read with plain sqlite3."""
    connection = sqlite3.connect(path)
    names = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'search_index%'")
    rows = {name: connection.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall() for (name,) in names.fetchall()}
    connection.close()
    return rows


@pytest.fixture
def fresh(tmp_path) -> Engine:
    engine = sqlite_engine(tmp_path / "fresh.sqlite")
    init_db(engine)
    yield engine
    engine.dispose()


def test_a_new_database_gets_every_revision_once(tmp_path):
    engine = sqlite_engine(tmp_path / "kb.sqlite")
    assert init_db(engine) == ALL_REVISIONS
    assert init_db(engine) == []
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    engine.dispose()


def test_the_models_match_the_newest_revision(fresh):
    assert model_diffs(fresh) == []


def test_there_are_fixture_databases():
    assert FIXTURES, "fixtures/db holds the databases older commits wrote"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.name)
def test_a_database_of_an_older_career_kb_upgrades_with_its_rows_intact(fixture, tmp_path, fresh):
    path = tmp_path / fixture.name
    shutil.copy(fixture, path)
    before = table_rows(path)
    engine = sqlite_engine(path)
    assert init_db(engine)  # at least one revision applied
    after = {name: rows for name, rows in table_rows(path).items() if name != "alembic_version"}
    before = {name: rows for name, rows in before.items() if name != "_migrations"}
    assert all(not after[name] for name in after.keys() - before.keys())  # tables of later revisions: empty
    for name, rows in before.items():  # columns added by later revisions come last, NULL in the old rows
        width = len(rows[0]) if rows else 0
        assert [row[:width] for row in after[name]] == rows, name
        assert all(value is None for row in after[name] for value in row[width:]), name
    assert sum(map(len, after.values())) > 100
    assert schema(engine) == schema(fresh)
    assert model_diffs(engine) == []
    with engine.connect() as connection:
        for view in VIEW_COLUMNS:
            assert tuple(connection.exec_driver_sql(f"SELECT * FROM {view} LIMIT 0").keys()) == VIEW_COLUMNS[view]
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM v_salaries").scalar() == len(before["salaries"])
        indexed = connection.exec_driver_sql("SELECT COUNT(*) FROM search_index").scalar()
    engine.dispose()
    records = ("documents", "salaries", "skill_mentions", "certification_mentions", "claims")
    assert indexed == sum(len(before[table]) for table in records)


LATER_TABLES = ("entities", "entity_aliases", "money_amounts", "search_index", "_migrations")
LATER_COLUMNS = ("pid INTEGER", "host VARCHAR", "entity_id INTEGER", "FOREIGN KEY(entity_id)")


def make_m001_database(path: Path) -> None:
    """A database as m001 alone left it: the fixture's tables without what m002-m004 added, rows copied over."""
    fixture = sqlite3.connect(FIXTURES[0])
    old = sqlite3.connect(path)
    old.execute("ATTACH DATABASE ? AS fx", (str(FIXTURES[0]),))
    tables = fixture.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    for name, sql in tables:
        if not name.startswith(LATER_TABLES):
            head, body = sql[: sql.index("(") + 1], sql[sql.index("(") + 1 : sql.rindex(")")]
            parts = [part for part in body.split(", \n") if not part.strip().startswith(LATER_COLUMNS)]
            old.execute(head + ", \n".join(parts) + ")")
            columns = ", ".join(f'"{row[1]}"' for row in old.execute(f"PRAGMA table_info({name})"))
            old.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM fx.{name}")
    old.execute("CREATE TABLE _migrations (name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)")
    old.execute("INSERT INTO _migrations VALUES ('m001_initial', '2026-11-29T04:33:22+00:00')")
    old.commit()
    old.close()
    fixture.close()


def test_a_database_made_before_its_later_migrations_gets_what_they_added(tmp_path, fresh):
    make_m001_database(tmp_path / "old.sqlite")
    engine = sqlite_engine(tmp_path / "old.sqlite")
    assert "entity_id" not in {c["name"] for c in inspect(engine).get_columns("skill_mentions")}
    assert init_db(engine) == ALL_REVISIONS
    assert schema(engine) == schema(fresh)
    with engine.connect() as connection:
        skills = connection.exec_driver_sql("SELECT skill, as_written, entity_id FROM v_skills").all()
        hits = connection.exec_driver_sql("SELECT COUNT(*) FROM search_index WHERE kind = 'skill'").scalar()
        runs = connection.exec_driver_sql("SELECT pid, host FROM runs").all()
    engine.dispose()
    # Mentions stored before entities existed are not resolved by a frozen revision: shown as written, unlinked.
    assert len(skills) == hits > 10
    assert all(skill == written and entity is None for skill, written, entity in skills)
    assert runs == [(None, None)]
