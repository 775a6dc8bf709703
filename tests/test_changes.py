"""What changed: record-level changes when a watched page changes between runs, through the real ingest path
(the fake model, SQLite; once on a throwaway PostgreSQL cluster), `kb changes`, the report's "what changed"
pages and the Prefect flow run's artifact."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from db.engine import make_engine
from db.query import run_readonly
from flows.ingest import Runtime, ingest_flow, run_sources
from pipeline.changes import Record, diff
from pipeline.cli import main
from pipeline.review import accept, correct, queue, reject
from tests.fakes.pg import PostgresCluster, find_bin

BEFORE = """# Pay
Junior engineers earn $80,000 to $95,000 a year.
Senior engineers earn $150,000 a year.
Lead engineers earn $190,000 a year.
We use Python and SQL.
"""
AFTER = """# Pay
Junior engineers earn $82,000 to $99,000 a year.
Senior engineers earn $150,000 a year.
We use Python and PyTorch.
Interns are paid $4,000 a month.
"""


def rows(settings, sql: str) -> list[dict]:
    result = run_readonly(settings.database_url, sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def ingest(settings, *pages) -> int:
    return run_sources([str(page) for page in pages], Runtime.create(settings), "test").run_id


@pytest.fixture
def changed_page(settings, tmp_path):
    """A page ingested, edited and ingested again: (the page, the second run's id)."""
    page = tmp_path / "pay.md"
    page.write_text(BEFORE, encoding="utf-8")
    ingest(settings, page)
    page.write_text(AFTER, encoding="utf-8")
    return page, ingest(settings, page)


def test_a_changed_page_records_what_was_added_removed_and_changed_with_fields_before_and_after(settings, changed_page):
    page, run_id = changed_page
    changes = rows(settings, f"select * from v_changes where run_id = {run_id} order by change_id")
    found = {(c["kind"], c["change"], c["quote"]) for c in changes}
    assert found == {
        ("salary", "changed", "Junior engineers earn $82,000 to $99,000 a year."),
        ("salary", "removed", "Lead engineers earn $190,000 a year."),
        ("salary", "added", "Interns are paid $4,000 a month."),
        ("skill", "removed", "SQL"),
        ("skill", "added", "PyTorch"),
    }  # the senior figure and Python, unchanged, are not there
    (raise_,) = [c for c in changes if c["change"] == "changed"]
    assert raise_["fields"] == "amount_min,amount_max,quote"
    before, after = json.loads(raise_["before"]), json.loads(raise_["after"])
    assert (before["amount_min"], before["amount_max"]) == (80000, 95000)
    assert (after["amount_min"], after["amount_max"]) == (82000, 99000)
    (removed,) = [c for c in changes if c["change"] == "removed" and c["kind"] == "salary"]
    assert json.loads(removed["before"])["amount_min"] == 190000 and removed["after"] is None
    (added,) = [c for c in changes if c["change"] == "added" and c["kind"] == "salary"]
    assert json.loads(added["after"])["period"] == "month" and added["before"] is None
    assert {c["source"] for c in changes} == {str(page)}


def test_each_change_points_at_its_span_in_the_text_it_came_from(settings, changed_page):
    texts = {r["id"]: r["text"] for r in rows(settings, "select id, text from documents")}
    changes = rows(settings, f"select * from v_changes where run_id = {changed_page[1]}")
    latest = rows(settings, "select document_id from v_documents")[0]["document_id"]
    for change in changes:
        assert texts[change["document_id"]][change["char_start"] : change["char_end"]] == change["quote"]
        assert (change["document_id"] == latest) == (change["change"] != "removed")  # removed: the old text's


def test_the_run_ledger_counts_each_runs_changes_and_a_new_source_records_none(settings, changed_page):
    ledger = rows(settings, "select run_id, new, changed, changes from v_runs order by run_id")
    assert [(r["new"], r["changed"], r["changes"]) for r in ledger] == [(1, 0, 0), (0, 1, 5)]


def test_an_unchanged_rerun_records_nothing(settings, tmp_path):
    page = tmp_path / "pay.md"
    page.write_text(BEFORE, encoding="utf-8")
    ingest(settings, page)
    ingest(settings, page)
    assert rows(settings, "select count(*) as n from v_changes") == [{"n": 0}]
    assert [r["changes"] for r in rows(settings, "select changes from v_runs")] == [0, 0]


def record(quote: str, start: int, **values) -> Record:
    return Record(values, quote, start, start + len(quote))


def test_moved_text_is_no_change_and_equal_records_pair_one_to_one():
    python = dict(name="Python", category="language")
    old = [record("Python", 10, **python), record("Python", 40, **python)]
    assert diff(old, [record("Python", 25, **python), record("Python", 90, **python)]) == []
    (gone,) = diff(old, [record("Python", 25, **python)])
    assert gone["change"] == "removed" and json.loads(gone["before"]) == python


def test_a_record_whose_quote_stays_but_whose_fields_change_is_changed():
    old = [record("Senior engineers earn $150,000", 0, level="senior", amount_min=150000.0)]
    new = [record("Senior engineers earn $150,000", 0, level="staff", amount_min=150000.0)]
    (change,) = diff(old, new)
    assert (change["change"], change["fields"]) == ("changed", "level")
    assert (json.loads(change["before"]), json.loads(change["after"])) == ({"level": "senior"}, {"level": "staff"})


def test_a_record_reworded_with_the_same_fields_is_changed_in_its_quote_only():
    old = [record("Python", 5, name="Python", category="language")]
    new = [record("python", 5, name="Python", category="language")]
    (change,) = diff(old, new)
    assert (change["change"], change["fields"]) == ("changed", "quote")
    assert json.loads(change["after"]) == {"quote": "python"}


# --- kb changes ---------------------------------------------------------------------------------------------


@pytest.fixture
def two_changed_pages(settings, tmp_path):
    """Two pages changed in one run; the first page's changes recorded ten days ago."""
    pages = [tmp_path / "old.md", tmp_path / "recent.md"]
    for page in pages:
        page.write_text(BEFORE, encoding="utf-8")
    ingest(settings, *pages)
    for page in pages:
        page.write_text(AFTER, encoding="utf-8")
    ingest(settings, *pages)
    database = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
    with database:
        database.execute(
            "update record_changes set recorded_at = datetime('now', '-10 days') where source = ?", (str(pages[0]),)
        )
    database.close()
    return pages


def kb_changes(settings, *options) -> list[dict]:
    result = CliRunner().invoke(main, ["changes", *options, "--json", "--db", settings.database_url])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_kb_changes_filters_by_age_and_source_and_prints_json(settings, two_changed_pages):
    old, recent = (str(page) for page in two_changed_pages)
    every = kb_changes(settings)
    assert len(every) == 10 and {c["source"] for c in every} == {old, recent}
    assert {c["source"] for c in kb_changes(settings, "--since", "7d")} == {recent}
    assert len(kb_changes(settings, "--since", "30d")) == 10
    only_old = kb_changes(settings, "--source", old)
    assert len(only_old) == 5 and {c["source"] for c in only_old} == {old}
    assert kb_changes(settings, "--source", old, "--since", "24h") == []
    (raise_,) = [c for c in only_old if c["change"] == "changed"]
    assert raise_["before"]["amount_min"] == 80000 and raise_["after"]["amount_min"] == 82000  # objects, not text


def test_kb_changes_prints_a_table_and_refuses_a_bad_since(settings, two_changed_pages):
    table = CliRunner().invoke(main, ["changes", "--since", "7d", "--db", settings.database_url])
    assert table.exit_code == 0 and "amount_min: 82000" in table.output and "removed" in table.output
    bad = CliRunner().invoke(main, ["changes", "--since", "a week", "--db", settings.database_url])
    assert bad.exit_code == 2 and "--since" in bad.output and "7d" in bad.output


# --- the report -----------------------------------------------------------------------------------------------


class Links(HTMLParser):
    """The links and the data-change attributes of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.links, self.changes = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            self.links.append(attrs.get("href"))
        if "data-change" in attrs:
            self.changes.append(attrs["data-change"])


def test_the_report_has_a_what_changed_page_per_run_linked_from_the_index(settings, changed_page, tmp_path):
    page, run_id = changed_page
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", "--out", str(out), "--db", settings.database_url])
    assert result.exit_code == 0, result.output
    index = Links((out / "index.html").read_text(encoding="utf-8"))
    assert f"changes-{run_id}.html" in index.links and "changes-1.html" not in index.links  # run 1 changed nothing
    html = (out / f"changes-{run_id}.html").read_text(encoding="utf-8")
    changes = Links(html)
    assert sorted(changes.changes) == sorted(r["change"] for r in rows(settings, "select change from v_changes"))
    assert "Lead engineers earn $190,000 a year." in html and "<del>80,000</del> → <ins>82,000</ins>" in html
    latest = rows(settings, "select document_id from v_documents")[0]["document_id"]
    assert f"docs/{latest}.html" in changes.links


# --- Prefect --------------------------------------------------------------------------------------------------


def test_the_flow_run_shows_its_count_of_changes_as_an_artifact(settings, tmp_path, prefect_harness):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    page = tmp_path / "pay.md"
    page.write_text(BEFORE, encoding="utf-8")
    ingest_flow([str(page)], database_url=settings.database_url, trigger="test")
    page.write_text(AFTER, encoding="utf-8")
    summary = ingest_flow([str(page)], database_url=settings.database_url, trigger="test")
    flow_runs = rows(settings, "select id, flow_run_id from runs order by id")
    with get_client(sync_client=True) as client:
        artifacts = [
            client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run["flow_run_id"]]))
            )
            for run in flow_runs
        ]
    first, second = ([a for a in found if a.key == "record-changes"] for found in artifacts)
    assert first[0].description == f"0 record changes in run {flow_runs[0]['id']}"
    assert second[0].description == f"5 record changes in run {summary.run_id}: 2 added, 2 removed, 1 changed"
    table = json.loads(second[0].data)
    assert sorted(row["change"] for row in table) == ["added", "added", "changed", "removed", "removed"]


@pytest.mark.skipif(find_bin() is None, reason="PostgreSQL server binaries (initdb, pg_ctl) not installed")
def test_on_postgresql_a_re_extraction_records_changes_and_reviews_re_attach(settings, tmp_path):
    with PostgresCluster() as postgres:
        pg = replace(settings, database_url=postgres.url)
        page = tmp_path / "pay.md"
        page.write_text(BEFORE, encoding="utf-8")
        ingest(pg, page)
        engine = make_engine(pg.database_url)
        ids = {r["quote"]: r["salary_id"] for r in rows(pg, "select salary_id, quote from v_salaries")}
        accept(engine, "salary", ids["Senior engineers earn $150,000 a year."], "ana")
        correct(engine, "salary", ids["Lead engineers earn $190,000 a year."], {"level": "lead"}, "ana")
        page.write_text(AFTER, encoding="utf-8")
        run_id = ingest(pg, page)
        changes = rows(pg, f"select kind, change, quote from v_changes where run_id = {run_id}")
        assert {(c["kind"], c["change"]) for c in changes} == {
            ("salary", "changed"),
            ("salary", "removed"),
            ("salary", "added"),
            ("skill", "removed"),
            ("skill", "added"),
        }
        reviews = {r["quote"]: r["attached"] for r in rows(pg, "select quote, attached from v_reviews")}
        assert reviews == {
            "Senior engineers earn $150,000 a year.": True,
            "Lead engineers earn $190,000 a year.": False,
        }
        [senior] = rows(pg, "select review_status from v_salaries where quote like 'Senior%'")
        assert senior["review_status"] == "accepted"  # on the new extraction's record
        assert [r["changes"] for r in rows(pg, "select changes from v_runs order by run_id")] == [0, 5]
        [intern] = [i for i in queue(engine, "salary") if i.quote.startswith("Interns")]  # the queue's query on PG
        reject(engine, "salary", intern.record_id, "ana")
        accept(engine, "salary", intern.record_id, "ana")  # and back
        assert rows(pg, "select review_status from v_salaries where quote like 'Interns%'") == [
            {"review_status": "accepted"}
        ]
        engine.dispose()
