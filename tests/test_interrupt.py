"""Everyday failure of a `kb ingest` run (issue 19): a run killed or interrupted leaves no process behind and
its ledger says what it saw; a dead model endpoint fails the run in seconds with one reason; other libraries'
log lines stay out of the progress output.

The runs here are real `kb ingest` processes against a fake OpenAI server on loopback and local pages.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import psutil
import pytest

from flows.ingest import Runtime, run_sources
from pipeline.console import library_logs
from pipeline.llm import CONNECTION_FAILURES, Endpoint, SlotClient
from tests.conftest import ROOT, SECRET_KEY
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.reader import reader


def _pages(folder: Path, count: int) -> list[str]:
    folder.mkdir(exist_ok=True)
    for n in range(count):
        (folder / f"page-{n:02d}.md").write_text(
            f"# Pay report {n}\n\nJunior engineers at firm {n} earn ${80 + n},000 to ${95 + n},000 a year.\n"
        )
    return sorted(str(p) for p in folder.iterdir())


def _ingest(
    sources: list[str], db: Path, base_url: str, home: Path, *options: str, **settings: str
) -> subprocess.Popen:
    """`kb ingest` as a user runs it: no Prefect API configured, an endpoint model, one call at a time (unless
    `settings` say otherwise), in a process group of its own as a terminal would start it."""
    env = {**os.environ, "KB_LLM_BASE_URL": base_url, "KB_LLM_API_KEY": SECRET_KEY, "KB_LLM_MODEL": "fake-model"}
    env.update({"KB_LLM_CONCURRENCY": "1", "KB_HOME": str(home), **settings})
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "pipeline.cli", "ingest", *sources, "--db", str(db), *options]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _wait_for_documents(db: Path, process: subprocess.Popen, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with sqlite3.connect(db, timeout=5) as con:
                if con.execute("select count(*) from documents").fetchone()[0] >= count:
                    return
        except sqlite3.OperationalError:  # not created yet
            pass
        time.sleep(0.05)
    raise AssertionError(f"no {count} documents stored in time: {process.communicate()}")


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _alive(processes: list[psutil.Process], timeout: float = 10) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return alive


def _workers(pid: int) -> list[psutil.Process]:
    """The run's worker processes: its grandchildren (under "forkserver" the fork server is their parent)."""
    return [p for p in _descendants(pid) if p.ppid() != pid]


def _group_left(pgid: int, timeout: float = 30) -> list[psutil.Process]:
    """The processes still in process group `pgid` once they have had `timeout` seconds to end."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for process in psutil.process_iter():
            try:
                if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                    left.append(process)
            except (ProcessLookupError, psutil.NoSuchProcess):
                continue
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _run_row(db: Path) -> tuple:
    with sqlite3.connect(db) as con:
        run = con.execute("select status, sources_seen, failed from runs").fetchone()
        ledger = con.execute("select count(*) from attempts").fetchone()[0]
    return (*run, ledger)


def test_ctrl_c_starts_no_more_documents_and_closes_the_run_as_interrupted(tmp_path):
    sources, db = _pages(tmp_path / "pages", 20), tmp_path / "kb.sqlite"
    with FakeOpenAI(reader, latency=0.3) as fake:
        run = _ingest(sources, db, fake.base_url, tmp_path / "home")
        _wait_for_documents(db, run, 2)
        children = _descendants(run.pid)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    assert run.returncode == 130, out + err
    assert "Traceback" not in err and "Aborted" not in err
    assert [line for line in err.splitlines() if line.startswith("interrupted: run 1 stopped after")], err
    status, seen, failed, ledger = _run_row(db)
    assert (status, failed) == ("interrupted", 0)
    assert seen == ledger < len(sources)  # what it saw, each with its row; the rest were not started
    assert _alive(children) == []


def test_ctrl_c_to_the_process_group_stops_the_worker_processes_too(tmp_path):
    """A terminal's Ctrl-C reaches every process of the group: the workers ignore it and stop starting sources
    when the run relays it; the run ends interrupted with what it saw, and no process of the group is left."""
    sources, db = _pages(tmp_path / "pages", 40), tmp_path / "kb.sqlite"
    with FakeOpenAI(reader, latency=0.3) as fake:
        run = _ingest(sources, db, fake.base_url, tmp_path / "home", KB_PROCESSES="2", KB_LLM_CONCURRENCY="2")
        _wait_for_documents(db, run, 2)
        workers = _workers(run.pid)
        os.killpg(run.pid, signal.SIGINT)
        out, err = run.communicate(timeout=120)
    assert len(workers) == 2, workers
    assert run.returncode == 130, out + err
    assert "Traceback" not in err and "Aborted" not in err
    assert [line for line in err.splitlines() if line.startswith("interrupted: run 1 stopped after")], err
    status, seen, failed, ledger = _run_row(db)
    assert (status, failed) == ("interrupted", 0)  # no source failed "internal" from a worker's KeyboardInterrupt
    assert seen == ledger < len(sources)
    assert _group_left(run.pid) == []


def test_a_killed_run_leaves_no_worker_process_beyond_its_documents_in_flight(tmp_path):
    sources, db = _pages(tmp_path / "pages", 40), tmp_path / "kb.sqlite"
    with FakeOpenAI(reader, latency=0.3) as fake:
        run = _ingest(sources, db, fake.base_url, tmp_path / "home", KB_PROCESSES="2", KB_LLM_CONCURRENCY="2")
        _wait_for_documents(db, run, 2)
        workers = _workers(run.pid)
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert len(workers) == 2, workers
        assert _alive(workers, timeout=30) == []  # each ends once its documents in flight are done
        assert _group_left(run.pid) == []  # nor the fork server or resource tracker


def test_a_second_ctrl_c_ends_the_run_and_its_worker_processes_at_once(tmp_path):
    """Once documents are stored, the model holds every new call for a minute: the documents in flight cannot
    finish, so the workers are gone within seconds only if the second Ctrl-C ended them."""
    hold, held, release = threading.Event(), threading.Semaphore(0), threading.Event()

    def reader_then_held(request):
        if hold.is_set():
            held.release()
            release.wait(60)
        return reader(request)

    sources, db = _pages(tmp_path / "pages", 40), tmp_path / "kb.sqlite"
    with FakeOpenAI(reader_then_held) as fake:
        run = _ingest(sources, db, fake.base_url, tmp_path / "home", KB_PROCESSES="2", KB_LLM_CONCURRENCY="2")
        _wait_for_documents(db, run, 2)
        workers = _workers(run.pid)
        hold.set()
        try:
            assert held.acquire(timeout=60), "a call should be held at the model"
            os.killpg(run.pid, signal.SIGINT)
            assert any(line.startswith("interrupted: finishing") for line in run.stderr), "the first was heard"
            os.killpg(run.pid, signal.SIGINT)
            run.wait(60)
            assert run.returncode == -signal.SIGINT  # the default action of the second one
            assert len(workers) == 2 and _alive(workers) == []
            assert _group_left(run.pid, timeout=10) == []
        finally:
            release.set()


def test_ctrl_c_reaches_the_shares_on_dask_workers(settings, tmp_path):
    """The run's stop reaches shares running on a local Dask cluster (a distributed.Event): the run ends
    interrupted with fewer sources than given, each with its ledger row."""
    pytest.importorskip("distributed", reason="the optional `dask` extra is not installed")
    sources = _pages(tmp_path / "pages", 40)
    result = []
    with FakeOpenAI(reader, latency=0.3) as fake:
        runtime = Runtime.create(replace(settings, llm_base_url=fake.base_url, llm_concurrency=2))
        runner = threading.Thread(
            target=lambda: result.append(run_sources(sources, runtime, "test", task_runner="dask"))
        )
        runner.start()
        _wait_for_rows(tmp_path / "kb.sqlite", runner, 2)
        runtime.stop.set()  # what Ctrl-C does in the run's process
        runner.join(120)
    assert not runner.is_alive(), "the run did not stop"
    (summary,) = result
    status, seen, failed, ledger = _run_row(tmp_path / "kb.sqlite")
    assert summary.interrupted and (status, failed) == ("interrupted", 0)
    assert seen == ledger == len(summary.outcomes) < len(sources)


@pytest.mark.slow  # ~20 s on a loaded machine: a local Dask cluster starts in the run
def test_ctrl_c_to_the_process_group_stops_a_run_on_a_local_dask_cluster(tmp_path):
    """The cluster's worker processes are in the terminal's process group too: they keep working on the shares
    in flight (they do not die of the Ctrl-C, which would leave the run waiting for a cluster without workers),
    start no more sources, and end with the run."""
    pytest.importorskip("distributed", reason="the optional `dask` extra is not installed")
    sources, db = _pages(tmp_path / "pages", 40), tmp_path / "kb.sqlite"
    with FakeOpenAI(reader, latency=0.3) as fake:
        run = _ingest(sources, db, fake.base_url, tmp_path / "home", "--task-runner", "dask", KB_LLM_CONCURRENCY="2")
        _wait_for_documents(db, run, 2)
        os.killpg(run.pid, signal.SIGINT)
        out, err = run.communicate(timeout=120)
    assert run.returncode == 130, out + err
    status, seen, failed, ledger = _run_row(db)
    assert (status, failed) == ("interrupted", 0)
    assert seen == ledger < len(sources)
    assert _group_left(run.pid) == []


def _wait_for_rows(db: Path, runner: threading.Thread, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and runner.is_alive():
        with sqlite3.connect(db, timeout=5) as con:
            if con.execute("select count(*) from attempts").fetchone()[0] >= count:
                return
        time.sleep(0.05)
    raise AssertionError(f"no {count} sources finished in time")


def test_a_killed_run_leaves_no_process_and_the_next_run_records_what_it_saw(tmp_path):
    sources, db = _pages(tmp_path / "pages", 20), tmp_path / "kb.sqlite"
    with FakeOpenAI(reader, latency=0.3) as fake:
        run = _ingest(sources, db, fake.base_url, tmp_path / "home")
        _wait_for_documents(db, run, 2)
        children = _descendants(run.pid)
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert _alive(children) == []  # a temporary Prefect server would be one of them, started before any document
        again = _ingest(sources[:1], db, fake.base_url, tmp_path / "home")
        out, err = again.communicate(timeout=120)
    assert again.returncode == 0, out + err
    with sqlite3.connect(db) as con:
        status, seen = con.execute("select status, sources_seen from runs where id = 1").fetchone()
        ledger = con.execute("select count(*) from attempts where run_id = 1").fetchone()[0]
    assert status == "interrupted" and seen == ledger >= 2


def _dead_url() -> str:
    """The URL of a loopback port where nothing listens (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_a_dead_endpoint_fails_every_source_at_once_with_one_reason(settings, tmp_path):
    sources = _pages(tmp_path / "pages", 60)
    url = _dead_url()
    started = time.perf_counter()
    summary = run_sources(sources, Runtime.create(replace(settings, llm_base_url=url)), "test")
    print(f"\n60 sources against a dead endpoint: {time.perf_counter() - started:.1f} s")  # benchmark figure only
    assert [o.status for o in summary.outcomes] == ["failed"] * 60
    assert {o.error for o in summary.outcomes} == {next(iter(o.error for o in summary.outcomes))}
    reason = summary.outcomes[0].error
    assert url in reason and "unreachable" in reason and SECRET_KEY not in reason
    assert {o.attempts for o in summary.outcomes} == {1}  # each file read once, no model request sent


def test_connection_failures_in_a_row_take_the_endpoint_down_and_no_request_follows():
    sent = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    endpoint = Endpoint("http://user:pw@127.0.0.1:9/v1/")
    client = SlotClient(threading.Semaphore(1), endpoint, transport=httpx.MockTransport(refuse))
    for _ in range(CONNECTION_FAILURES + 2):
        with pytest.raises(httpx.ConnectError):
            client.get("http://127.0.0.1:9/v1/chat/completions")
    assert len(sent) == CONNECTION_FAILURES and client.requests() == CONNECTION_FAILURES
    assert endpoint.is_down() and "http://127.0.0.1:9/v1 is unreachable" in endpoint.reason
    assert "pw" not in endpoint.reason


def test_an_answer_between_failures_keeps_the_endpoint_up():
    endpoint = Endpoint("http://127.0.0.1:9/v1")
    for _ in range(3):
        for _ in range(CONNECTION_FAILURES - 1):
            endpoint.failed_to_connect(httpx.ConnectError("refused"))
        endpoint.answered()
    assert not endpoint.is_down() and endpoint.reason is None


def test_other_libraries_log_lines_go_to_the_log_file_not_the_terminal(tmp_path, capfd):
    with library_logs(tmp_path) as path:
        logging.getLogger("instructor").error("Max retries exceeded. Total attempts: 1")
        logging.getLogger("trafilatura").warning("discarding data")
    captured = capfd.readouterr()
    assert "Max retries" not in captured.err + captured.out and "discarding" not in captured.err
    assert "Max retries exceeded" in path.read_text() and "discarding data" in path.read_text()
    with library_logs(tmp_path, verbose=True):
        logging.getLogger("httpx").warning("shown with -v")
    assert "shown with -v" in capfd.readouterr().err
