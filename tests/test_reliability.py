"""Reliability and security: bad input, faults, hostile pages, crashes, concurrent runs and secrets.

The matrix runs each bad source in one batch with a good page through `run_sources` and checks three things:
the bad one fails at the expected stage with a readable reason, the good one is stored, and `v_attempts`
holds the failure. Everything talks only to 127.0.0.1 (addresses the policy refuses are refused before any
connection is made).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from db.query import run_readonly
from flows.ingest import Runtime, run_sources
from pipeline import fetch as fetch_stage
from pipeline import model_call
from pipeline.retry import retry
from tests.conftest import PAGES, ROOT, SECRET_KEY
from tests.fakes.http_pages import Override, PageServer
from tests.fakes.openai_server import (
    FakeOpenAI,
    error_reply,
    hang_reply,
    invalid_json_reply,
    rate_limit_reply,
    tool_call_reply,
)
from tests.fakes.reader import answer, claim, excerpt, reader, tool_name

GOOD = str(PAGES / "small-salary-table.html")  # three salaries: 92k-118k, 118k-150k, 150k-195k USD
MARKER = "Zyxwvut"  # the bad document of the LLM cases; the fake misbehaves only for excerpts naming it
LLM_PAGE = f"# Pay at {MARKER}\n\n{MARKER} engineers earn $90,000 to $120,000 a year.\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
CP1252 = (
    "<html><body><article><h1>Gehälter 2026</h1><p>Senior engineers in München earn €90,000 – €120,000 a year,"
    " says the naïve survey of 2026 for AI engineers.</p></article></body></html>"
)


MALFORMED = (
    "<html><body><article><h1>AI pay<p>Junior AI engineers earn $80,000 to $95,000 a year.<div><table>"
    "<tr><td>Senior<td>$150,000 - $190,000</article></p></span></i>"
)


def rows(url: str, sql: str) -> list[dict]:
    result = run_readonly(url, sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


# --- the servers the URL cases need -------------------------------------------------------------------------


class _Drip(BaseHTTPRequestHandler):
    """Sends an HTML page one byte every 0.1 s: each read beats a read timeout, only the deadline stops it."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        body = b"<html><body><p>" + b"x" * 400 + b"</p></body></html>"
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if self.server.stopping.wait(0.1):
                    return
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def drip_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads, server.stopping = True, threading.Event()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/drip.html"
    server.stopping.set()
    server.shutdown()
    server.server_close()


OVERRIDES = {
    "/gone": Override(status=404, body="not here"),
    "/broken": Override(status=500, body="oops"),
    "/loop-a": Override(status=302, headers={"Location": "/loop-b"}),
    "/loop-b": Override(status=302, headers={"Location": "/loop-a"}),
    "/huge": Override(body="<p>" + "pay " * 60_000 + "</p>"),
    "/paper.pdf": Override(headers={"Content-Type": "application/pdf"}, body=b"%PDF-1.7\n"),
    "/api": Override(headers={"Content-Type": "application/json"}, body='{"salary": 1}'),
    "/to-metadata": Override(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
    "/to-private": Override(status=302, headers={"Location": "http://10.1.2.3/admin"}),
}


@pytest.fixture(scope="module")
def web():
    with PageServer(PAGES, overrides=OVERRIDES) as server:
        yield server


# --- the matrix ---------------------------------------------------------------------------------------------


@dataclass
class Env:
    tmp: Path
    web: PageServer
    drip: str

    def file(self, name: str, body: bytes | str) -> str:
        path = self.tmp / name
        path.write_bytes(body.encode() if isinstance(body, str) else body)
        return str(path)

    def sparse(self, name: str, size: int) -> str:
        path = self.tmp / name
        with open(path, "wb") as handle:
            handle.truncate(size)  # 50 MB on disk in no time and no memory
        return str(path)


@dataclass
class Case:
    make: Callable[[Env], str]
    status: str  # failed | ok
    stage: str | None = None
    reason: str = ""
    settings: dict = field(default_factory=dict)
    llm: Callable[[dict], object] | None = None  # how the fake answers excerpts naming MARKER
    strict_policy: bool = False  # 127.0.0.1 passes, every other non-public address is refused


def _bad_quote(request):
    args = answer(request)
    args["claims"] = [claim(f"{MARKER} pays everyone a million dollars.")]
    return tool_call_reply(tool_name(request), args)


def _echo_key_401(request):
    return error_reply(401, f"Incorrect API key provided: {SECRET_KEY}.", type="invalid_request_error")


NO_PRIVATE = {"allow_private_urls": False}

CASES: dict[str, Case] = {
    "empty file": Case(lambda e: e.file("empty.html", b""), "failed", "clean", "empty"),
    "png named .html": Case(lambda e: e.file("photo.html", PNG), "failed", "clean", "binary content"),
    "50 MB file": Case(lambda e: e.sparse("huge.html", 50_000_000), "failed", "read", "too large"),
    "cp1252 file": Case(lambda e: e.file("cp1252.html", CP1252.encode("cp1252")), "ok"),
    "no main content": Case(
        lambda e: e.file(
            "nav.html",
            "<html><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav><footer>© 2026</footer></body></html>",
        ),
        "failed",
        "clean",
        "no main content",
    ),
    "javascript only": Case(
        lambda e: e.file(
            "app.html",
            "<html><head><script src='app.js'></script></head><body><div id='root'></div>"
            "<script>document.getElementById('root').innerText = 'Senior: $200,000'"
            "</script><noscript>Please enable JavaScript.</noscript></body></html>",
        ),
        "failed",
        "clean",
        "no main content",
    ),
    "malformed html, no words": Case(
        lambda e: e.file("junk.html", "<html><<<body></p></div>>><table<tr><td"), "failed", "clean", "no main content"
    ),
    "malformed html with text": Case(lambda e: e.file("broken.html", MALFORMED), "ok"),
    "http 404": Case(lambda e: e.web.url("gone"), "failed", "fetch", "HTTP 404"),
    "http 500": Case(lambda e: e.web.url("broken"), "failed", "fetch", "HTTP 500"),
    "redirect loop": Case(lambda e: e.web.url("loop-a"), "failed", "fetch", "redirect loop"),
    "body over the cap": Case(lambda e: e.web.url("huge"), "failed", "fetch", "too large"),
    "slow drip": Case(lambda e: e.drip, "failed", "fetch", "timed out"),
    "pdf": Case(lambda e: e.web.url("paper.pdf"), "failed", "fetch", "not HTML/text: application/pdf"),
    "json": Case(lambda e: e.web.url("api"), "failed", "fetch", "not HTML/text: application/json"),
    "loopback url": Case(lambda e: e.web.url("gone"), "failed", "read", "loopback", NO_PRIVATE),
    "dns name to loopback": Case(
        lambda e: e.web.url("gone").replace("127.0.0.1", "localhost"),
        "failed",
        "read",
        "localhost resolves to loopback",
        NO_PRIVATE,
    ),
    "private url": Case(lambda e: "http://10.1.2.3/admin", "failed", "read", "private address", NO_PRIVATE),
    "link-local url": Case(
        lambda e: "http://169.254.169.254/latest/meta-data/", "failed", "read", "link-local address", NO_PRIVATE
    ),
    "redirect to link-local": Case(
        lambda e: e.web.url("to-metadata"), "failed", "read", "link-local address", NO_PRIVATE, strict_policy=True
    ),
    "redirect to private": Case(
        lambda e: e.web.url("to-private"), "failed", "read", "private address", NO_PRIVATE, strict_policy=True
    ),
    "file url": Case(lambda e: "file:///etc/passwd", "failed", "read", "scheme 'file' refused"),
    "ftp url": Case(lambda e: "ftp://127.0.0.1/pay.html", "failed", "read", "scheme 'ftp' refused"),
    "llm invalid json": Case(
        lambda e: e.file("json.md", LLM_PAGE),
        "failed",
        "extract",
        "invalid model output",
        llm=lambda r: invalid_json_reply(tool_name(r)),
    ),
    "llm 429 every time": Case(
        lambda e: e.file("busy.md", LLM_PAGE),
        "failed",
        "extract",
        "Error code: 429",
        llm=lambda r: rate_limit_reply(retry_after=0.01),
    ),
    "llm timeout": Case(
        lambda e: e.file("slow.md", LLM_PAGE),
        "failed",
        "extract",
        "timed out",
        {"llm_timeout": 0.3},
        llm=lambda r: hang_reply(3, reader(r)),
    ),
    "llm quote not in text": Case(lambda e: e.file("quote.md", LLM_PAGE), "ok", llm=_bad_quote),
    "llm 401 echoing the key": Case(
        lambda e: e.file("auth.md", LLM_PAGE),
        "failed",
        "extract",
        "401 - {'error': {'message': 'Incorrect API key provided: [redacted].",
        llm=_echo_key_401,
    ),
}


@pytest.fixture
def fast(monkeypatch):
    """No waiting between retries: fetch and LLM retries still happen, back to back."""
    from flows import documents

    monkeypatch.setattr(documents, "FETCH_DELAYS", (0.0, 0.0))
    monkeypatch.setattr(model_call, "retry", lambda fn, **kw: retry(fn, **{**kw, "delays": (0.0, 0.0, 0.0)}))


_REAL_POLICY = fetch_stage.address_category


def _strict_but_loopback(address):
    return None if str(address) == "127.0.0.1" else _REAL_POLICY(address)


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_source_fails_alone_with_its_stage_and_reason(
    name, settings, fake_llm, web, drip_url, tmp_path, monkeypatch, fast
):
    case = CASES[name]
    bad = case.make(Env(tmp_path, web, drip_url))
    if case.strict_policy:
        monkeypatch.setattr(fetch_stage, "address_category", _strict_but_loopback)
    if case.llm is not None:
        fake_llm.responder = lambda request: case.llm(request) if MARKER in excerpt(request) else reader(request)
    options = dict(fetch_timeout=1.0, fetch_max_bytes=100_000, file_max_bytes=1_000_000, **case.settings)
    settings = dataclasses.replace(settings, **options)

    summary = run_sources([bad, GOOD], Runtime.create(settings), "test")

    outcome, good = summary.outcomes
    assert good.status == "ok", good.error
    assert (outcome.status, outcome.stage) == (case.status, case.stage), outcome.error
    assert case.reason in (outcome.error or ""), outcome.error
    url = settings.database_url
    (attempt,) = rows(url, f"select status, stage, error from v_attempts where source = '{bad}'")
    assert (attempt["status"], attempt["stage"], attempt["error"]) == (outcome.status, outcome.stage, outcome.error)
    salaries = rows(url, f"select amount_min, amount_max from v_salaries where source = '{GOOD}' order by 1")
    assert [(s["amount_min"], s["amount_max"]) for s in salaries] == [
        (92000, 118000),
        (118000, 150000),
        (150000, 195000),
    ]
    stored = {d["source"] for d in rows(url, "select source from v_documents")}
    assert stored == ({GOOD, bad} if case.status == "ok" else {GOOD})
    assert SECRET_KEY not in repr(rows(url, "select * from v_attempts"))


def test_a_cp1252_file_is_decoded_not_mangled(settings, tmp_path):
    env = Env(tmp_path, None, "")
    source = CASES["cp1252 file"].make(env)
    run_sources([source], Runtime.create(settings), "test")
    (doc,) = rows(settings.database_url, "select text from v_documents")
    assert "München earn €90,000 – €120,000" in doc["text"] and "naïve" in doc["text"]
    assert "\ufffd" not in doc["text"]


def test_a_quote_the_model_invents_is_never_stored(settings, fake_llm, tmp_path):
    fake_llm.responder = lambda request: _bad_quote(request) if MARKER in excerpt(request) else reader(request)
    source = Env(tmp_path, None, "").file("quote.md", LLM_PAGE)
    (outcome,) = run_sources([source], Runtime.create(settings), "test").outcomes
    assert outcome.status == "ok"
    url = settings.database_url
    assert not rows(url, "select quote from v_claims where quote like '%million%'")
    (extraction,) = rows(url, "select dropped_ungrounded, retries from extractions")
    assert extraction["dropped_ungrounded"] == 1 and extraction["retries"] == settings.llm_max_retries
    assert rows(url, "select amount_min from v_salaries") == [{"amount_min": 90000}]


def test_a_50_mb_file_is_refused_without_reading_it_into_memory(settings, tmp_path):
    source = Env(tmp_path, None, "").sparse("huge.html", 50_000_000)
    tracemalloc.start()
    try:
        (outcome,) = run_sources([source], Runtime.create(settings), "test").outcomes
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (outcome.stage, outcome.status) == ("read", "failed") and "too large" in outcome.error
    assert peak < 10_000_000


def test_a_429_with_retry_after_is_waited_for_and_then_succeeds(settings, fake_llm, tmp_path, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(model_call, "retry", lambda fn, **kw: retry(fn, sleep=waits.append, **kw))
    first = threading.Event()

    def busy_once(request):
        if MARKER in excerpt(request) and not first.is_set():
            first.set()
            return rate_limit_reply(retry_after=0.25)
        return reader(request)

    fake_llm.responder = busy_once
    source = Env(tmp_path, None, "").file("busy.md", LLM_PAGE)
    (outcome,) = run_sources([source], Runtime.create(settings), "test").outcomes
    assert outcome.status == "ok" and waits == [0.25]
    # attempts: the file's one read and every request the model received, the refused one included
    assert fake_llm.count >= 2
    assert rows(settings.database_url, "select attempts from v_attempts") == [{"attempts": 1 + fake_llm.count}]


def test_the_same_source_twice_in_one_batch_is_stored_once(settings, fake_llm):
    summary = run_sources([GOOD, GOOD], Runtime.create(settings), "test")
    assert {o.status for o in summary.outcomes} == {"ok"}
    url = settings.database_url
    assert rows(url, "select count(*) as n from documents") == [{"n": 1}]
    assert rows(url, "select count(*) as n from extractions") == [{"n": 1}]
    assert rows(url, "select count(*) as n from salaries") == [{"n": 3}]
    assert fake_llm.count == 1  # one extraction, not two racing for the same row


# --- crashes and concurrent runs: real `kb ingest` processes on one SQLite file -----------------------------


def _pages(folder: Path, count: int) -> list[str]:
    folder.mkdir(exist_ok=True)
    for n in range(count):
        (folder / f"page-{n:02d}.md").write_text(
            f"# Pay report {n}\n\nJunior engineers at firm {n} earn ${80 + n},000 to ${95 + n},000 a year.\n"
        )
    return sorted(str(p) for p in folder.iterdir())


def _ingest(sources: list[str], db: Path, fake: FakeOpenAI, concurrency: int = 1) -> subprocess.Popen:
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "KB_LLM_BASE_URL": fake.base_url,
        "KB_LLM_API_KEY": SECRET_KEY,
        "KB_LLM_MODEL": "fake-model",
        "KB_LLM_CONCURRENCY": str(concurrency),
        "PREFECT_API_URL": PREFECT_API_URL.value(),
    }  # the session's test server: no second server to start
    command = [sys.executable, "-m", "pipeline.cli", "ingest", *sources, "--db", str(db), "--quiet"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _assert_each_source_stored_once_and_whole(db: Path, sources: list[str]) -> None:
    con = sqlite3.connect(db)
    con.execute("PRAGMA foreign_keys = ON")
    per_source = dict(con.execute("select source, count(*) from documents group by source").fetchall())
    assert per_source == dict.fromkeys(sources, 1)
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    for table in ("salaries", "skill_mentions", "certification_mentions", "claims"):
        orphans = con.execute(
            f"select count(*) from {table} r left join extractions e on e.id = r.extraction_id "
            "left join documents d on d.id = e.document_id where d.id is null"
        ).fetchone()[0]
        assert orphans == 0, table
    # whole documents: each has exactly one ok extraction holding its one salary, and nothing else half-written
    shape = con.execute(
        "select d.source, count(distinct e.id), count(s.id) from documents d "
        "left join extractions e on e.document_id = d.id and e.status = 'ok' "
        "left join salaries s on s.extraction_id = e.id group by d.id"
    ).fetchall()
    assert {(extractions, salaries) for _, extractions, salaries in shape} == {(1, 1)}


def test_a_killed_backfill_resumes_and_stores_everything_once(tmp_path, prefect_harness):
    sources, db = _pages(tmp_path / "pages", 12), tmp_path / "kb.sqlite"
    with FakeOpenAI(reader, latency=0.3) as fake:
        first = _ingest(sources, db, fake)
        deadline = time.monotonic() + 60
        while _count(db, "select count(*) from documents") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()
        first.send_signal(signal.SIGKILL)
        first.wait()  # reaped: its pid no longer exists
        stored_when_killed = _count(db, "select count(*) from documents")
        assert 2 <= stored_when_killed < len(sources)
        second = _ingest(sources, db, fake)
        out, err = second.communicate(timeout=90)
    assert second.returncode == 0, out + err
    _assert_each_source_stored_once_and_whole(db, sources)
    con = sqlite3.connect(db)
    assert con.execute("select run_id, status from v_runs order by run_id").fetchall() == [
        (1, "interrupted"),
        (2, "completed"),
    ]
    new, unchanged = con.execute("select new, unchanged from v_runs where run_id = 2").fetchone()
    assert (new, unchanged) == (len(sources) - stored_when_killed, stored_when_killed)  # no work done twice


def test_two_backfills_on_one_database_at_once(tmp_path, prefect_harness):
    sources, db = _pages(tmp_path / "pages", 10), tmp_path / "kb.sqlite"
    with FakeOpenAI(reader, latency=0.05) as fake:
        procs = [_ingest(sources, db, fake, concurrency=4), _ingest(sources[::-1], db, fake, concurrency=4)]
        outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
        assert "database is locked" not in out + err
    _assert_each_source_stored_once_and_whole(db, sources)
    con = sqlite3.connect(db)
    assert con.execute("select status from v_runs").fetchall() == [("completed",), ("completed",)]
    assert con.execute("select count(*) from attempts where status = 'failed'").fetchone()[0] == 0


def test_a_start_leaves_live_and_other_hosts_runs_alone(settings):
    from db.engine import make_engine
    from pipeline.save import mark_interrupted_runs, start_run

    engine = make_engine(settings.database_url)
    Runtime.create(settings)  # migrations
    live, elsewhere, killed = (start_run(engine, "test") for _ in range(3))
    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE runs SET host = 'another-host', pid = {gone} WHERE id = {elsewhere}")
        connection.exec_driver_sql(f"UPDATE runs SET pid = {gone} WHERE id = {killed}")
    assert mark_interrupted_runs(engine) == 1
    statuses = {r["run_id"]: r["status"] for r in rows(settings.database_url, "select run_id, status from v_runs")}
    assert statuses == {live: "running", elsewhere: "running", killed: "interrupted"}


# --- hostile pages ------------------------------------------------------------------------------------------

HOSTILE = str(PAGES / "hostile-page.html")
VISIBLE_PAY = [(105000, 128000), (128000, 165000), (165000, 215000)]


def _assert_nothing_hidden_was_stored(url: str) -> None:
    bounds = {b for r in rows(url, "select amount_min, amount_max from v_salaries") for b in r.values()}
    assert 9999999 not in bounds
    for view in ("v_salaries", "v_skills", "v_certifications", "v_claims"):
        quotes = " ".join(r["quote"] for r in rows(url, f"select quote from {view}")).lower()
        assert "ignore previous instructions" not in quotes and "9,999,999" not in quotes
    (doc,) = rows(url, "select text from v_documents")
    assert "ignore previous instructions" not in doc["text"].lower()


def test_hidden_prompt_injection_never_reaches_the_model_or_the_database(settings, fake_llm):
    (outcome,) = run_sources([HOSTILE], Runtime.create(settings), "test").outcomes
    assert outcome.status == "ok", outcome.error
    assert "ignore previous instructions" not in repr(fake_llm.requests).lower()
    _assert_nothing_hidden_was_stored(settings.database_url)
    pay = rows(settings.database_url, "select amount_min, amount_max from v_salaries order by 1")
    assert [(r["amount_min"], r["amount_max"]) for r in pay] == VISIBLE_PAY


@pytest.mark.slow
def test_the_embedded_model_ignores_the_hidden_injection_too(tmp_path):
    pytest.importorskip("llama_cpp", reason="the `local` extra is not installed")
    from pipeline.settings import Settings

    embedded = Settings.from_env().with_database(str(tmp_path / "kb.sqlite"))
    assert embedded.uses_embedded_model
    (outcome,) = run_sources([HOSTILE], Runtime.create(embedded), "test").outcomes
    assert outcome.status == "ok", outcome.error
    _assert_nothing_hidden_was_stored(embedded.database_url)
    pay = rows(embedded.database_url, "select amount_min, amount_max from v_salaries where currency = 'USD'")
    assert set(VISIBLE_PAY) <= {(r["amount_min"], r["amount_max"]) for r in pay}
    assert 499 not in {r["amount_min"] for r in pay}  # the course price is not pay


def test_html_in_a_quote_is_stored_as_literal_text(settings, tmp_path):
    page = tmp_path / "markup.md"
    page.write_text(
        "# Pay\n\nSenior engineers earn <b>$150,000</b> to $190,000 a year; 40% work remotely "
        "<script>alert(1)</script>.\n"
    )
    (outcome,) = run_sources([str(page)], Runtime.create(settings), "test").outcomes
    assert outcome.status == "ok", outcome.error
    quotes = [
        r["quote"]
        for r in rows(settings.database_url, "select quote from v_salaries union all select quote from v_claims")
    ]
    assert any("<b>$150,000</b>" in q for q in quotes) and any("<script>alert(1)</script>" in q for q in quotes)


# --- secrets ------------------------------------------------------------------------------------------------


def test_the_key_is_in_no_log_output_or_recorded_error_of_a_cli_run(
    settings, fake_llm, prefect_harness, caplog, capfd, tmp_path
):
    from click.testing import CliRunner

    from pipeline.cli import main

    masked = f"{SECRET_KEY[:8]}****{SECRET_KEY[-4:]}"  # what OpenAI's own 401 shows
    fake_llm.responder = lambda request: (
        error_reply(401, f"Incorrect API key provided: {masked}") if MARKER in excerpt(request) else reader(request)
    )
    bad = Env(tmp_path, None, "").file("auth.md", LLM_PAGE)
    db = settings.database_url.removeprefix("sqlite:///")
    with caplog.at_level(logging.DEBUG):
        result = CliRunner().invoke(main, ["ingest", bad, GOOD, "--db", db])
    assert result.exit_code == 1 and "401" in result.output, result.output
    captured = capfd.readouterr()
    everything = result.output + captured.out + captured.err + caplog.text + repr([r.__dict__ for r in caplog.records])
    assert SECRET_KEY not in everything
    assert fake_llm.request_headers[0]["authorization"] == f"Bearer {SECRET_KEY}"  # the key was really in use
    con = sqlite3.connect(db)
    tables = [r[0] for r in con.execute("select name from sqlite_master where type in ('table', 'view')")]
    for table in tables:
        assert SECRET_KEY not in repr(con.execute(f'select * from "{table}"').fetchall()), table


def test_the_key_is_not_a_flow_run_parameter(settings, prefect_harness):
    import asyncio

    from prefect import get_client

    from flows.ingest import ingest_flow

    summary = ingest_flow([GOOD], database_url=settings.database_url, trigger="test")
    (flow_run_id,) = [r["flow_run_id"] for r in rows(settings.database_url, "select flow_run_id from runs")]
    assert summary.outcomes[0].status == "ok" and flow_run_id

    async def read():
        async with get_client() as client:
            return await client.read_flow_run(flow_run_id)

    run = asyncio.run(read())
    assert set(run.parameters) == {"sources", "database_url", "trigger", "task_runner", "dask_address"}
    assert SECRET_KEY not in repr(run.model_dump())


# --- read-only queries: what tests/test_db.py and tests/test_cli.py do not already try ----------------------

MORE_WRITES = {
    "update": "UPDATE documents SET text = ''",
    "replace": "REPLACE INTO sources (id, source) VALUES (1, 'x')",
    "cte write": "WITH t AS (SELECT 1) INSERT INTO sources (source) SELECT 'x' FROM t",
    "temp table": "CREATE TEMP TABLE t (x)",
    "foreign keys off": "PRAGMA foreign_keys = OFF",
    "writable schema": "PRAGMA writable_schema = 1",
    "detach": "DETACH DATABASE main",
    "savepoint": "SAVEPOINT s",
}


@pytest.mark.parametrize("sql", MORE_WRITES.values(), ids=MORE_WRITES.keys())
def test_kb_query_refuses_every_other_kind_of_write(settings, sql):
    from db.engine import make_engine
    from pipeline.errors import StorageError

    Runtime.create(settings)
    with pytest.raises(StorageError):
        run_readonly(settings.database_url, sql)
    assert rows(settings.database_url, "select count(*) as n from sources") == [{"n": 0}]
    assert make_engine(settings.database_url).connect().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
