"""The same backfill on PostgreSQL as on SQLite: same rows in the public views, and an unchanged re-run is free.

A throwaway PostgreSQL cluster (tests/fakes/pg.py) runs on 127.0.0.1 for this module; the test is skipped only
when PostgreSQL's server binaries are not installed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from db.query import run_readonly
from db.views import RECORD_VIEWS
from flows.ingest import Runtime, run_sources
from tests.conftest import PAGES
from tests.fakes.pg import PostgresCluster, find_bin

pytestmark = pytest.mark.skipif(find_bin() is None, reason="PostgreSQL server binaries (initdb, pg_ctl) not installed")

ID_COLUMNS = {
    "salary_id",
    "mention_id",
    "claim_id",
    "document_id",
    "entity_id",
    "amount_id",
    "certification_mention_id",
}
COMPARED_VIEWS = (*RECORD_VIEWS.values(), "v_money", "v_entity_aliases")


@pytest.fixture(scope="module")
def postgres():
    with PostgresCluster() as cluster:
        yield cluster


def view_contents(database_url: str) -> dict[str, list[tuple]]:
    """Every record view's rows (and the money account's, and the entities') without their ids, sorted, so two
    databases can be compared."""
    contents = {}
    for view in COMPARED_VIEWS:
        result = run_readonly(database_url, f"select * from {view}")
        keep = [i for i, column in enumerate(result.columns) if column not in ID_COLUMNS]
        contents[view] = sorted((tuple(_plain(row[i]) for i in keep) for row in result.rows), key=repr)
    return contents


def _plain(value):
    # SQLite stores booleans as 0/1 and reals that are whole as floats; compare values, not driver types.
    return float(value) if isinstance(value, (bool, int, float)) and not isinstance(value, str) else value


def backfill(settings):
    runtime = Runtime.create(settings)
    try:
        return run_sources([str(p) for p in sorted(PAGES.iterdir())], runtime, "backfill")
    finally:
        runtime.engine.dispose()


def test_a_backfill_on_postgresql_stores_the_same_rows_as_on_sqlite(settings, llm_env, postgres):
    on_sqlite = backfill(settings)
    pg_settings = replace(settings, database_url=postgres.url)
    on_postgres = backfill(pg_settings)
    assert [o.status for o in on_postgres.outcomes] == [o.status for o in on_sqlite.outcomes]
    assert {o.status for o in on_postgres.outcomes} == {"ok"}
    expected, found = view_contents(settings.database_url), view_contents(postgres.url)
    assert sum(map(len, found.values())) > 20
    assert found == expected

    calls = llm_env.count
    again = backfill(pg_settings)
    assert llm_env.count == calls, "an unchanged re-run on PostgreSQL called the model"
    assert {o.status for o in again.outcomes} == {"unchanged"}
    assert view_contents(postgres.url) == expected
    ledger = run_readonly(postgres.url, "select status, sources_seen, new, unchanged from v_runs order by run_id")
    count = len(on_sqlite.outcomes)
    assert ledger.rows == [("completed", count, count, 0), ("completed", count, 0, count)]


def scratch_database(postgres, name: str) -> str:
    """A new, empty database in the test cluster, so this test does not share the backfill's."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(postgres.url)
    with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True) as pg:
        pg.execute(f"CREATE DATABASE {name}")
    return url.set(database=name).render_as_string(hide_password=False)


def test_postgresql_gets_the_newest_revision_and_adopts_a_database_made_before_alembic(postgres):
    from db.engine import init_db, make_engine
    from db.watchlist import add_source, list_sources
    from tests.test_migrations import ALL_REVISIONS, model_diffs

    engine = make_engine(scratch_database(postgres, "kb_migrations"))
    assert init_db(engine) == ALL_REVISIONS
    assert model_diffs(engine) == []
    add_source(engine, "https://example.org/ai-salaries", every="1d")
    with engine.begin() as connection:  # what career-kb before Alembic left: its own ledger, no alembic_version
        connection.exec_driver_sql("DROP TABLE alembic_version")
        connection.exec_driver_sql("DROP TABLE reviews CASCADE")  # 0002's table (and the views reading it): none then
        connection.exec_driver_sql("CREATE TABLE _migrations (name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40))")
        connection.exec_driver_sql(
            "INSERT INTO _migrations VALUES ('m001_initial', '2026-11-29'), "
            "('m002_run_owner', '2026-11-29'), ('m003_search', '2026-11-29'), "
            "('m004_entities_and_money', '2026-11-29')"
        )
    assert init_db(engine) == ALL_REVISIONS
    assert [s.source for s in list_sources(engine)] == ["https://example.org/ai-salaries"]
    assert model_diffs(engine) == []
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT to_regclass('_migrations')").scalar() is None
    engine.dispose()
