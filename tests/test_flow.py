"""The ingest flow end to end: pages served on 127.0.0.1, a fake OpenAI-compatible model, rows in SQLite.

Unit tests call the flow's pieces directly (`process_source`, `.fn()`); one test runs the real flow under
Prefect's test harness.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

import flows.documents
import flows.ingest
from db.query import run_readonly
from db.views import RECORD_VIEWS
from flows.ingest import MAX_DOCUMENT_WORKERS, Outcome, Runtime, document_workers, ingest_flow, run_sources
from tests.benchmarks.scale import write_corpus
from tests.conftest import PAGES, SECRET_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.overlap import Overlap
from tests.fakes.reader import reader


def rows(settings, sql: str) -> list[dict]:
    result = run_readonly(settings.database_url, sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def run(settings, sources, trigger="test"):
    return run_sources(sources, Runtime.create(settings), trigger)


def assert_every_record_is_grounded(settings) -> int:
    texts = {r["document_id"]: r["text"] for r in rows(settings, "select document_id, text from v_documents")}
    checked = 0
    for view in RECORD_VIEWS.values():
        for r in rows(settings, f"select document_id, quote, char_start, char_end from {view}"):
            assert texts[r["document_id"]][r["char_start"] : r["char_end"]] == r["quote"], view
            checked += 1
    return checked


def test_pages_from_a_web_server_become_grounded_rows(settings, site, prefect_harness):
    urls = [site.url("ai-engineer-salaries-2026.html"), site.url("small-salary-table.html")]
    summary = ingest_flow(urls, database_url=settings.database_url, trigger="backfill")
    assert [o.status for o in summary.outcomes] == ["ok", "ok"]
    docs = rows(settings, "select source, title, url from v_documents order by source")
    assert [d["source"] for d in docs] == sorted(urls)
    small = rows(
        settings,
        "select level, amount_min, amount_max, currency from v_salaries "
        f"where source = '{urls[1]}' order by amount_min",
    )
    assert [(r["level"], r["amount_min"], r["amount_max"], r["currency"]) for r in small] == [
        ("junior", 92000, 118000, "USD"),
        ("mid", 118000, 150000, "USD"),
        ("senior", 150000, 195000, "USD"),
    ]
    assert assert_every_record_is_grounded(settings) > 10
    (ledger,) = rows(settings, "select * from v_runs")
    assert ledger["trigger"] == "backfill" and ledger["status"] == "completed"
    assert (ledger["sources_seen"], ledger["new"], ledger["failed"]) == (2, 2, 0)


@pytest.mark.parametrize(
    "concurrency, embedded, workers", [(1, False, 4), (8, False, 18), (100, False, MAX_DOCUMENT_WORKERS), (8, True, 4)]
)
def test_more_documents_run_than_llm_slots_but_boundedly(settings, concurrency, embedded, workers):
    model = "local:qwen-1.5b" if embedded else "fake-model"
    assert document_workers(replace(settings, llm_concurrency=concurrency, llm_model=model)) == workers


def test_the_prefect_flow_runs_at_most_document_workers_sources_at_once(settings, monkeypatch, prefect_harness):
    running = Overlap()

    def one_source(source, runtime, run_id, new=False):
        with running:
            return Outcome(source=source, status="failed", stage="test")

    monkeypatch.setattr(flows.documents, "process_source", one_source)
    monkeypatch.setattr(flows.documents, "document_workers", lambda _settings: 2)
    sources = [f"source-{i}" for i in range(8)]
    summary = ingest_flow(sources, database_url=settings.database_url, trigger="test")
    assert [o.source for o in summary.outcomes] == sources
    assert 1 <= running.most <= 2


def test_no_more_model_calls_at_once_than_llm_concurrency(settings, tmp_path):
    calling = Overlap()

    def slow_reader(request):
        with calling:
            return reader(request)

    sources = [str(p) for p in write_corpus(tmp_path / "docs", 12)]
    with FakeOpenAI(slow_reader) as fake:
        summary = run(replace(settings, llm_base_url=fake.base_url, llm_concurrency=2), sources)
    assert {o.status for o in summary.outcomes} == {"ok"} and fake.count == 12
    assert 1 <= calling.most <= 2


def test_local_files_folders_and_text_formats(settings):
    summary = run(settings, [str(p) for p in sorted(PAGES.iterdir())])
    assert {o.status for o in summary.outcomes} == {"ok"}
    kinds = {r["source"].rsplit(".", 1)[-1] for r in rows(settings, "select source from v_documents")}
    assert kinds == {"html", "md", "txt"}
    gbp = rows(settings, "select amount_min from v_salaries where currency = 'GBP' and source like '%.txt'")
    assert [r["amount_min"] for r in gbp] == [58000]
    assert assert_every_record_is_grounded(settings) > 20


def test_a_failing_source_is_recorded_and_the_others_are_stored(settings, site):
    sources = [str(PAGES / "missing.html"), site.url("nope.html"), str(PAGES / "small-salary-table.html")]
    summary = run(settings, sources)
    assert [o.status for o in summary.outcomes] == ["failed", "failed", "ok"]
    attempts = rows(settings, "select source, status, stage, error from v_attempts order by source")
    failed = {a["source"]: a for a in attempts if a["status"] == "failed"}
    assert failed[sources[1]]["stage"] == "fetch" and "404" in failed[sources[1]]["error"]
    assert failed[sources[0]]["stage"] == "read"
    assert rows(settings, "select count(*) as n from v_salaries")[0]["n"] == 3


def test_every_source_gets_one_attempt_row_per_run_whatever_became_of_it(settings):
    good, bad = str(PAGES / "small-salary-table.html"), str(PAGES / "missing.html")
    for _ in range(2):  # ok, then unchanged: both written by the save stage with the document
        run(settings, [good, bad])
    attempts = rows(settings, "select run_id, source, status, document_id, prompt_tokens from attempts")
    ledger = {(r["run_id"], r["source"]): r for r in attempts}
    assert len(ledger) == len(attempts) == 4
    assert {key: r["status"] for key, r in ledger.items()} == {
        (1, good): "ok",
        (1, bad): "failed",
        (2, good): "unchanged",
        (2, bad): "failed",
    }
    assert ledger[1, good]["document_id"] == ledger[2, good]["document_id"] is not None
    assert ledger[1, good]["prompt_tokens"] > 0 and ledger[2, good]["prompt_tokens"] == 0


def test_an_unchanged_rerun_makes_no_llm_call_and_changed_content_is_extracted_again(settings, llm_env, tmp_path):
    page = tmp_path / "notes.md"
    page.write_text("# Pay\nJunior engineers earn $80,000 to $95,000 a year.\n", encoding="utf-8")
    first = run(settings, [str(page)])
    calls = llm_env.count
    assert calls >= 1 and first.outcomes[0].change == "new"
    second = run(settings, [str(page)])
    assert llm_env.count == calls and second.outcomes[0].status == "unchanged"
    page.write_text("# Pay\nJunior engineers earn $82,000 to $99,000 a year.\n", encoding="utf-8")
    third = run(settings, [str(page)])
    assert llm_env.count > calls and third.outcomes[0].change == "changed"
    latest = rows(settings, "select amount_min, amount_max from v_salaries")
    assert latest == [{"amount_min": 82000, "amount_max": 99000}]
    ledger = rows(settings, "select new, changed, unchanged from v_runs order by run_id")
    assert [tuple(r.values()) for r in ledger] == [(1, 0, 0), (0, 0, 1), (0, 1, 0)]
    history = sqlite3.connect(tmp_path / "kb.sqlite").execute("select count(*) from extractions").fetchone()[0]
    assert history == 2  # the first extraction is kept as history


def test_sources_new_to_the_run_skip_the_extraction_lookup_and_a_meanwhile_stored_copy_is_replaced(
    settings, llm_env, tmp_path, monkeypatch
):
    pages = []
    for name, low in (("a.md", 80_000), ("b.md", 90_000)):
        pages.append(tmp_path / name)
        pages[-1].write_text(f"# Pay\nJunior engineers earn ${low:,} to ${low + 15_000:,} a year.\n", encoding="utf-8")
    looked_up = []
    lookup = flows.documents.save_stage.latest_extraction
    monkeypatch.setattr(
        flows.documents.save_stage,
        "latest_extraction",
        lambda engine, source, *rest: looked_up.append(source) or lookup(engine, source, *rest),
    )
    run(settings, [str(pages[0])])
    assert looked_up == []  # nothing stored for it when the run began: no extraction to look for
    second = run(settings, [str(p) for p in pages])
    assert looked_up == [str(pages[0])]  # only the source stored before this run
    assert [o.status for o in second.outcomes] == ["unchanged", "ok"]
    # A run that found nothing stored, while another run stored the same text meanwhile: records replaced, not doubled.
    runtime = Runtime.create(settings)
    run_id = flows.documents.save_stage.start_run(runtime.engine, "test")
    again = flows.ingest.process_source(str(pages[1]), runtime, run_id, new=True)
    assert again.status == "ok" and again.change == "unchanged"
    salaries = rows(settings, "select source, amount_min from v_salaries order by source")
    assert [(r["source"], r["amount_min"]) for r in salaries] == [(str(pages[0]), 80000), (str(pages[1]), 90000)]
    assert len(looked_up) == 1


def test_the_api_key_is_not_stored_anywhere_in_the_database(settings, site, tmp_path):
    run(settings, [site.url("small-salary-table.html"), site.url("nope.html")])
    con = sqlite3.connect(tmp_path / "kb.sqlite")
    tables = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'")]
    for table in tables:
        for row in con.execute(f'select * from "{table}"'):
            assert SECRET_KEY not in repr(row)


@pytest.mark.parametrize("source, stage", [("ftp://127.0.0.1/x.html", "read"), ("file:///etc/passwd", "read")])
def test_other_url_schemes_are_refused(settings, source, stage):
    (outcome,) = run(settings, [source]).outcomes
    assert outcome.status == "failed" and outcome.stage == stage


def test_transient_fetch_failures_are_retried_and_counted(settings, monkeypatch):
    from flows import documents
    from tests.fakes.http_pages import Override, PageServer

    monkeypatch.setattr(documents, "FETCH_DELAYS", (0.0, 0.0))
    overrides = {"/down": Override(status=503, body="busy"), "/gone": Override(status=404, body="no")}
    with PageServer(PAGES, overrides=overrides) as server:
        down, gone = run(settings, [server.url("down"), server.url("gone")]).outcomes
        hits = [h.path for h in server.hits]
    assert (down.status, down.stage, down.attempts) == ("failed", "fetch", 3)
    assert (gone.status, gone.attempts) == ("failed", 1)  # a 404 will not pass on a retry
    assert hits.count("/down") == 3 and hits.count("/gone") == 1
    ledger = rows(settings, "select source, attempts from v_attempts order by source")
    assert {r["source"][-4:]: r["attempts"] for r in ledger} == {"down": 3, "gone": 1}
