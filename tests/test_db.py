"""The database layer: engine settings, views (the public SQL API), mapping and read-only queries."""

from __future__ import annotations

import ast
import sqlite3
import subprocess
import sys
import threading
from itertools import islice
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from db import kinds as registry
from db.engine import init_db, make_engine
from db.mapping import article_from_row, article_row, grounded_from_row, record_row, record_values
from db.migrations import alembic_config
from db.query import QueryInterrupted, Stop, open_readonly, run_readonly, single_statement
from db.views import VIEW_COLUMNS, ensure_views
from pipeline.errors import StorageError
from schemas.documents import Article, Grounded, Provenance

TEXT = "Senior AI engineers earn $180,000 a year; Python helps; AWS ML Specialty costs $300; demand doubled."
RECORDS = {
    "salary": dict(role="AI engineer", level="senior", currency="usd", amount_min=180000, quote="$180,000 a year"),
    "skill": dict(name="Python", category="language", quote="Python"),
    "certification": dict(
        name="AWS ML Specialty", issuer="AWS", cost_amount=300, cost_currency="USD", quote="AWS ML Specialty costs $300"
    ),
    "claim": dict(
        metric="skill_demand",
        value=2,
        unit="multiple",
        direction="up",
        statement="Demand doubled.",
        quote="demand doubled",
    ),
}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kb.sqlite'}"


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    init_db(engine)
    yield engine
    engine.dispose()


def grounded(kind: str) -> Grounded:
    fields = RECORDS[kind]
    start = TEXT.index(fields["quote"])
    span = Provenance(quote=fields["quote"], char_start=start, char_end=start + len(fields["quote"]))
    return Grounded(kind=kind, record=registry.kind(kind).model(**fields), provenance=span)


def test_make_engine_creates_the_directory_and_sets_the_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'kb.sqlite'}")
    with engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000, "synchronous": 1}
    assert (tmp_path / "deep" / "er" / "kb.sqlite").exists()
    engine.dispose()


@pytest.mark.parametrize("url", ["postgresql://user@localhost/kb", "postgresql+psycopg://user@localhost/kb"])
def test_postgres_urls_pass_through_with_psycopg_3(url):
    engine = make_engine(url)  # no connection is made until the first use
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")


def test_two_processes_can_initialise_one_database_at_once(db_url):
    script = f"from db.engine import make_engine, init_db; print(init_db(make_engine({db_url!r})))"
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    applied = [name for out, _ in outputs for name in ast.literal_eval(out.strip())]
    revisions = [r.revision for r in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))]
    assert applied == revisions  # every revision applied once, by one of them


@pytest.mark.parametrize("view", sorted(VIEW_COLUMNS))
def test_views_have_exactly_the_documented_columns(engine, view):
    with engine.connect() as connection:
        result = connection.exec_driver_sql(f"SELECT * FROM {view} LIMIT 0")
        assert tuple(result.keys()) == VIEW_COLUMNS[view]


def test_ensure_views_is_idempotent(engine):
    ensure_views(engine)
    ensure_views(engine)
    with engine.connect() as connection:
        views = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'view'").scalars().all()
    assert sorted(views) == sorted(VIEW_COLUMNS)


def test_views_need_no_custom_functions(engine, db_url):
    # What Datasette does: open the file with plain sqlite3 and read every view.
    connection = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    for view in VIEW_COLUMNS:
        connection.execute(f"SELECT * FROM {view}").fetchall()
    connection.close()


@pytest.mark.parametrize("kind", [k.name for k in registry.kinds()])
def test_record_tables_hold_every_schema_field_and_the_span(kind):
    columns = set(registry.kind(kind).table.__table__.columns.keys())
    assert set(registry.kind(kind).model.model_fields) | {"char_start", "char_end", "verified", "match"} <= columns


@pytest.mark.parametrize("kind", [k.name for k in registry.kinds()])
def test_record_rows_round_trip_with_plain_string_values(kind):
    original = grounded(kind)
    row = record_row(original, extraction_id=7)
    assert row.extraction_id == 7 and row.verified is True
    assert all(type(value) in (str, int, float, bool, type(None)) for value in row.model_dump().values())
    assert grounded_from_row(kind, row) == original


@pytest.mark.parametrize("kind", [k.name for k in registry.kinds()])
def test_record_values_fill_every_column_but_the_id_as_the_row_does(kind):
    values = record_values(grounded(kind), extraction_id=7)
    assert set(values) == set(registry.kind(kind).table.__table__.columns.keys()) - {"id"}
    assert values == record_row(grounded(kind), extraction_id=7).model_dump(exclude={"id"})


def test_enums_are_stored_as_their_values():
    row = record_row(grounded("salary"), extraction_id=1)
    assert (row.level, row.currency, row.period, row.pay_basis) == ("senior", "USD", "year", "unspecified")


def test_article_rows_round_trip():
    article = Article(source="https://example.com/a", title="A", published="2025-01-02", text=TEXT)
    row = article_row(article)
    assert row.content_hash == article.content_hash
    assert article_from_row(row) == article


# --- read-only queries -------------------------------------------------------------------------------------

REFUSED = {
    "insert": "INSERT INTO sources (source, added_at) VALUES ('x', '2025-01-01')",
    "update": "UPDATE documents SET title = 'x'",
    "delete": "DELETE FROM runs",
    "drop": "DROP TABLE documents",
    "drop view": "DROP VIEW v_salaries",
    "create": "CREATE TABLE evil (x)",
    "attach": "ATTACH DATABASE '/tmp/evil.sqlite' AS evil",
    "pragma write": "PRAGMA journal_mode=DELETE",
    "query_only off": "PRAGMA query_only = OFF",
    "load_extension": "SELECT load_extension('/tmp/evil.so')",
    "two statements": "SELECT 1; SELECT 2",
    "smuggled write": "SELECT 1; DROP TABLE documents",
    "transaction": "BEGIN",
    "vacuum": "VACUUM",
    "temp table": "CREATE TEMP TABLE scratch (x)",
    "writable schema": "PRAGMA writable_schema = ON",
    "schema update": "UPDATE sqlite_master SET sql = 'x' WHERE name = 'documents'",  # SQLite's own refusal
    "fts write": "INSERT INTO search_index (search_index) VALUES ('rebuild')",
}


@pytest.mark.parametrize("sql", REFUSED.values(), ids=REFUSED.keys())
def test_run_readonly_refuses_anything_but_reads(engine, db_url, sql):
    with pytest.raises(StorageError) as refused:
        run_readonly(db_url, sql)
    assert any(reason in str(refused.value) for reason in ("refused", "one SQL statement", "may not be modified"))
    assert run_readonly(db_url, "PRAGMA journal_mode") == (["journal_mode"], [("wal",)])
    assert "documents" in run_readonly(db_url, "SELECT name FROM sqlite_master WHERE name = 'documents'")[1][0]


ALLOWED = {
    "view": ("SELECT * FROM v_salaries", list(VIEW_COLUMNS["v_salaries"])),
    "trailing semicolon": ("SELECT 1 AS one;  -- done", ["one"]),
    "semicolon in a string": ("SELECT ';' AS semi", ["semi"]),
    "cte": ("WITH t(x) AS (SELECT 1) SELECT x FROM t", ["x"]),
    "table info": ("PRAGMA table_info(documents)", ["cid", "name", "type", "notnull", "dflt_value", "pk"]),
    "functions": ("SELECT count(*) AS n, substr('abc', 2) AS s FROM v_documents", ["n", "s"]),
    "fts match": ("SELECT rowid FROM search_index WHERE search_index MATCH 'python'", ["rowid"]),
    "fts snippet": ("SELECT snippet(search_index, 0, '[', ']', '…', 8) AS s FROM search_index('python')", ["s"]),
    "table-valued pragma": ("SELECT name FROM pragma_table_info('documents')", ["name"]),
    "recursive cte": (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r",
        ["n"],
    ),
}


@pytest.mark.parametrize("sql, columns", ALLOWED.values(), ids=ALLOWED.keys())
def test_run_readonly_allows_reads(engine, db_url, sql, columns):
    assert run_readonly(db_url, sql)[0] == columns


def test_virtual_table_reads_return_their_rows(engine, db_url):
    assert [name for (name,) in run_readonly(db_url, "SELECT name FROM pragma_table_info('documents')").rows] == [
        column["name"] for column in inspect(engine).get_columns("documents")
    ]
    assert run_readonly(db_url, "SELECT count(*) FROM search_index WHERE search_index MATCH 'python'").rows == [(0,)]


COUNT_TO = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {}) SELECT n, 'row ' || n FROM r"
RUNAWAY = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"


def test_a_big_result_streams_in_constant_memory(engine, db_url):
    import tracemalloc

    tracemalloc.start()
    try:
        with open_readonly(db_url, COUNT_TO.format(200_000)) as stream:
            count = sum(1 for _ in stream.rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 2_000_000  # the rows held at once would take ~30 MB


def test_leaving_a_stream_early_stops_the_statement(engine, db_url):
    with open_readonly(
        db_url, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r"
    ) as stream:
        assert [n for (n,) in islice(stream.rows, 3)] == [1, 2, 3]


def test_a_runaway_statement_times_out(engine, db_url):
    with pytest.raises(StorageError, match="timed out after 0.2 s"):
        run_readonly(db_url, RUNAWAY, timeout=0.2)


def test_cancelling_interrupts_a_running_statement(engine, db_url):
    stop = Stop()
    threading.Timer(0.2, stop.cancel).start()
    with pytest.raises(QueryInterrupted), open_readonly(db_url, RUNAWAY, stop=stop) as stream:
        list(stream.rows)


@pytest.fixture(scope="module")
def postgres_url():
    from tests.fakes.pg import PostgresCluster, find_bin

    if find_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    with PostgresCluster() as cluster:
        yield cluster.url


def test_postgres_reads_stream_time_out_and_refuse_writes(postgres_url):
    with open_readonly(postgres_url, "SELECT g AS n FROM generate_series(1, 100000000) g") as stream:
        assert stream.columns == ["n"] and list(islice(stream.rows, 3)) == [(1,), (2,), (3,)]
    assert run_readonly(postgres_url, "SELECT 1 AS one WHERE false") == (["one"], [])
    assert run_readonly(postgres_url, "SHOW transaction_read_only") == (["transaction_read_only"], [("on",)])
    with pytest.raises(StorageError, match="timed out after 0.3 s"):
        run_readonly(postgres_url, "SELECT pg_sleep(5)", timeout=0.3)
    with pytest.raises(StorageError, match="read-only transaction"):
        run_readonly(postgres_url, "CREATE TABLE evil (x int)")


def test_run_readonly_takes_an_engine_and_parameters(engine):
    assert run_readonly(engine, "SELECT ? + 1 AS n", (41,)) == (["n"], [(42,)])


def test_run_readonly_says_when_there_is_no_database(tmp_path):
    with pytest.raises(StorageError, match="no database"):
        run_readonly(f"sqlite:///{tmp_path / 'missing.sqlite'}", "SELECT 1")
    assert not (tmp_path / "missing.sqlite").exists()


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("SELECT 1", "SELECT 1"),
        ("SELECT 1 ;\n", "SELECT 1"),
        ("SELECT 'a;b' /* ; */ -- ;\n", "SELECT 'a;b' /* ; */ -- ;"),
    ],
)
def test_single_statement_strips_the_end(sql, expected):
    assert single_statement(sql) == expected


@pytest.mark.parametrize("sql", ["", "  ;", "-- nothing", "SELECT 1; SELECT 2", "SELECT 1;;SELECT 2"])
def test_single_statement_refuses_none_or_several(sql):
    with pytest.raises(StorageError):
        single_statement(sql)


def test_writers_of_one_process_queue_on_one_lock_per_sqlite_database(tmp_path):
    from db.session import _process_writer_lock, write_connection

    one, same, other = (make_engine(f"sqlite:///{tmp_path / name}") for name in ("a.sqlite", "a.sqlite", "b.sqlite"))
    assert _process_writer_lock(one) is _process_writer_lock(same)
    assert _process_writer_lock(one) is not _process_writer_lock(other)
    with write_connection(one) as outer:  # held while writing, and re-entrant for the thread holding it
        outer.execute(text("CREATE TABLE t (x INTEGER)"))
        lock = _process_writer_lock(one)
        assert lock.acquire(blocking=False)  # held by this thread, so taking it again succeeds
        lock.release()
    for engine in (one, same, other):
        engine.dispose()
