"""Large runs in worker processes (flows.workers): the same rows as one process, model slots shared across
processes, progress reported once per source, and a killed worker losing only the sources it was working on.

Workers fork from a server process that imports career-kb once per test session (~5 s, paid by the first test).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import replace

import pytest

from db.query import run_readonly
from flows.ingest import Runtime, run_sources
import flows.workers
from flows.workers import MIN_SOURCES_PER_PROCESS, WorkerPool, prepare, process_count
from pipeline.console import PROGRESS_LOGGER
from pipeline.save import start_run
from pipeline.settings import Settings
from tests.benchmarks.scale import write_corpus
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.overlap import Overlap
from tests.fakes.reader import reader

ENDPOINT = Settings(llm_base_url="http://127.0.0.1:9/v1", llm_api_key="k", llm_model="m")
CONTENT = {
    "v_salaries": "select source, level, amount_min, amount_max, currency, period, quote, char_start from v_salaries",
    "v_skills": "select source, skill, as_written, quote, char_start from v_skills",
    "v_certifications": "select source, certification, quote, char_start from v_certifications",
    "v_money": "select source, quote, char_start, use, reason, amount_min from v_money",
    "v_attempts": "select source, status, stage from v_attempts",
}


def content(settings: Settings) -> dict[str, list[tuple]]:
    """Every public view's rows without ids, sorted: what must not depend on how documents were spread."""
    return {view: sorted(map(tuple, run_readonly(settings.database_url, sql).rows)) for view, sql in CONTENT.items()}


@pytest.mark.parametrize(
    "changes, sources, expected",
    [
        (dict(), 10, 1),  # too few sources per worker: one process
        (dict(), 4 * MIN_SOURCES_PER_PROCESS, min(os.cpu_count() or 1, 4)),
        (dict(processes=3), 2, 2),  # asked for explicitly: never more workers than sources
        (dict(processes=3), 500, 3),
        (dict(llm_base_url=None, llm_api_key=None, llm_model="local:qwen-1.5b", processes=4), 500, 1),
    ],
)
def test_how_many_worker_processes_a_run_gets(changes, sources, expected):
    assert process_count(replace(ENDPOINT, **changes), sources) == expected


def test_worker_processes_store_the_same_rows_as_one_process(settings, tmp_path, caplog):
    sources = [str(p) for p in write_corpus(tmp_path / "docs", 12)]
    one = replace(settings, database_url=f"sqlite:///{tmp_path / 'one.sqlite'}", processes=1)
    two = replace(settings, database_url=f"sqlite:///{tmp_path / 'two.sqlite'}", processes=2)
    with FakeOpenAI(reader) as fake:
        single = run_sources(sources, Runtime.create(replace(one, llm_base_url=fake.base_url)), "test")
        caplog.clear()  # only the spread run's progress lines, whatever an earlier test left the logger's level at
        with caplog.at_level(logging.INFO, logger=PROGRESS_LOGGER):
            spread = run_sources(sources, Runtime.create(replace(two, llm_base_url=fake.base_url)), "test")
    assert [o.source for o in spread.outcomes] == sources  # in the order given, whoever finished first
    assert [o.status for o in spread.outcomes] == ["ok"] * 12 and single.failed == []
    assert sorted(r.outcome.source for r in caplog.records if hasattr(r, "outcome")) == sorted(sources)
    assert len(spread.worker_peak_rss_mb) == 2 and all(mb > 20 for mb in spread.worker_peak_rss_mb)
    assert single.worker_peak_rss_mb == []
    same, spread_rows = content(one), content(two)
    assert sum(map(len, same.values())) > 12 * 5
    assert spread_rows == same


def test_a_run_takes_the_worker_processes_prepared_for_it_and_only_those(settings, tmp_path, monkeypatch):
    """`prepare` (kb ingest calls it while Prefect starts) starts a run's workers ahead of it; the run takes
    them when they were started for its settings and shape, and otherwise stops them and starts its own."""
    sources = [str(p) for p in write_corpus(tmp_path / "docs", 6)]
    started: list[WorkerPool] = []
    original_init = WorkerPool.__init__

    def counted_init(pool, *args, **kwargs):
        started.append(pool)
        original_init(pool, *args, **kwargs)

    monkeypatch.setattr(WorkerPool, "__init__", counted_init)
    with FakeOpenAI(reader) as fake:
        spread = replace(settings, llm_base_url=fake.base_url, processes=2)
        prepare(replace(spread, processes=None), len(sources))  # 6 sources: too few for workers by default
        assert flows.workers._prepared is None and started == []
        prepare(spread, len(sources), wait=True)
        assert len(started) == 1 and len(started[0].pids) == 2
        summary = run_sources(sources, Runtime.create(spread), "test")
        assert [o.status for o in summary.outcomes] == ["ok"] * 6 and len(started) == 1  # taken, not started

        other = replace(spread, database_url=f"sqlite:///{tmp_path / 'other.sqlite'}")
        prepare(spread, len(sources), wait=True)  # prepared for the first database, not the one run next
        stale = started[-1]._workers.copy()
        summary = run_sources(sources, Runtime.create(other), "test")
    assert [o.status for o in summary.outcomes] == ["ok"] * 6 and len(started) == 3
    for process in stale.values():
        process.join(timeout=10)
        assert not process.is_alive(), "the workers prepared for another run were left running"
    assert flows.workers._prepared is None


def test_model_slots_bound_calls_across_all_worker_processes(settings, tmp_path):
    """Two processes of several threads each, two slots: never more than two requests at the model at once."""
    overlap = Overlap(hold=0.15)

    def slow_reader(request):
        with overlap:
            return reader(request)

    sources = [str(p) for p in write_corpus(tmp_path / "docs", 8)]
    with FakeOpenAI(slow_reader) as fake:
        bounded = replace(settings, llm_base_url=fake.base_url, llm_concurrency=2, processes=2)
        summary = run_sources(sources, Runtime.create(bounded), "test")
    assert summary.failed == []
    assert overlap.most == 2  # both slots were used, and never a third


@pytest.mark.parametrize("slots, killed", [(2, 1), (1, 2)])
def test_killed_workers_lose_only_the_sources_they_were_working_on(settings, tmp_path, slots, killed):
    """Workers killed mid-call: their sources are recorded as failed with the reason, fresh workers take the rest
    of the queue, and the run completes, even when a killed worker held the only model slot (slots=1)."""
    calls = threading.Semaphore(0)
    release = threading.Event()

    def held_reader(request):
        calls.release()
        release.wait(20)
        return reader(request)

    sources = [str(p) for p in write_corpus(tmp_path / "docs", 6)]
    with FakeOpenAI(held_reader) as fake:
        spread = replace(settings, llm_base_url=fake.base_url, llm_concurrency=slots, processes=2)
        runtime = Runtime.create(spread)
        run_id = start_run(runtime.engine, "test")
        with WorkerPool(spread, processes=2, threads=1, slots=slots) as pool:
            result: list = []
            runner = threading.Thread(target=lambda: result.extend(pool.run(sources, run_id, runtime)))
            runner.start()
            for _ in range(slots):
                assert calls.acquire(timeout=60), "every slot should be in use at the model"
            time.sleep(0.5)  # with one slot, the other worker has taken its source and waits for the slot
            for victim in pool.pids[:killed]:
                os.kill(victim, signal.SIGKILL)
            time.sleep(0.5)
            release.set()
            runner.join(60)
    assert not runner.is_alive(), "the run hung"
    failed = [o for o in result if o.status == "failed"]
    # Killing two at once, the pool may restart after the first death and end the second itself (its source is
    # then worked again, not lost): one or two lost, never more than were killed. The holder of the only slot is
    # among them, so without fresh slots the run would hang.
    assert 1 <= len(failed) <= killed and {o.stage for o in failed} == {"internal"}
    assert all("exited (code -9)" in o.error for o in failed)
    assert [o.status for o in result].count("ok") == 6 - len(failed)
    ledger = run_readonly(spread.database_url, f"select source, status from v_attempts where run_id = {run_id}")
    assert {source for source, status in ledger.rows if status == "failed"} == {o.source for o in failed}
    assert {source for source, status in ledger.rows if status == "ok"} == {o.source for o in result if o.status == "ok"}


def test_the_fork_servers_warm_up_runs_one_article_through_every_stage_in_memory(tmp_path, monkeypatch):
    """What `flows.warm` does before workers are forked, so that none of them does it on its first document:
    an article cleaned, read by a model answered in memory, grounded and saved; no network, no file written."""
    import socket

    import certifi

    from flows import warm
    from pipeline.extract import reading_model
    from pipeline.fetch import _tls_context

    def no_network(*args, **kwargs):
        raise AssertionError("the warm-up must not open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())  # model clients' CA file, page fetches' is certifi's own
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    reading_model.cache_clear()
    _tls_context.cache_clear()
    saved = warm.warm()
    assert reading_model.cache_info().currsize >= 9  # 0 to 8 figures, and the warm page's own shape
    assert _tls_context.cache_info().currsize == 2  # page fetches' and model clients'
    _tls_context.cache_clear()  # built under this test's SSL_CERT_FILE
    assert saved.created and saved.counts["salary"] == 3 and saved.counts["certification"] == 1
    assert saved.counts["skill"] >= 3 and saved.counts["claim"] == 1
    assert list(tmp_path.iterdir()) == []
