"""Large runs in worker processes (flows.workers, flows.ingest.run_sources): the same rows as one process, model
slots divided between the processes, progress reported once per source, and a killed worker losing nothing that
finished while every source it did not finish is recorded as failed with the reason.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import replace

import pytest

from db.query import run_readonly
from flows.documents import PROGRESS_LOGGER
from flows.ingest import Runtime, run_sources
from flows.workers import MIN_SOURCES_PER_PROCESS, process_count, split
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
        (dict(), 10, 1),  # too few sources per process: this one
        (dict(), 4 * MIN_SOURCES_PER_PROCESS, min(os.cpu_count() or 1, 4)),
        (dict(processes=3), 2, 2),  # asked for explicitly: never more processes than sources
        (dict(processes=3), 500, 3),
        (dict(processes=3, llm_concurrency=2), 500, 2),  # nor than model slots: each process holds at least one
        (dict(llm_base_url=None, llm_api_key=None, llm_model="local:qwen-1.5b", processes=4), 500, 1),
    ],
)
def test_how_many_processes_a_run_gets(changes, sources, expected):
    assert process_count(replace(ENDPOINT, **changes), sources) == expected


def test_sources_are_dealt_into_shares_of_nearly_equal_size():
    shares = split([f"s{i}" for i in range(7)], 3)
    assert sorted(map(len, shares)) == [2, 2, 3]
    assert sorted(s for share in shares for s in share) == sorted(f"s{i}" for i in range(7))
    assert split(["a"], 3) == [["a"]]  # no empty shares


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
    progress = [r for r in caplog.records if hasattr(r, "outcome")]
    assert sorted(r.outcome.source for r in progress) == sorted(sources)  # once each, relayed from the workers
    assert os.getpid() not in {r.process for r in progress}  # (a worker that is ready first may take both shares)
    assert len(spread.worker_peak_rss_mb) == 2 and all(mb > 20 for mb in spread.worker_peak_rss_mb)
    assert single.worker_peak_rss_mb == []
    same, spread_rows = content(one), content(two)
    assert sum(map(len, same.values())) > 12 * 5
    assert spread_rows == same


def test_model_slots_bound_calls_across_all_worker_processes(settings, tmp_path):
    """Two processes of several threads each, two slots: never more than two requests at the model at once. The
    first call is held until a second one comes: from the other process (each holds one slot), so both run."""
    overlap, met, calls, lock = Overlap(hold=0.15), threading.Event(), [0], threading.Lock()

    def slow_reader(request):
        with overlap:
            with lock:
                calls[0] += 1
                if calls[0] == 2:
                    met.set()
            met.wait(60)
            return reader(request)

    sources = [str(p) for p in write_corpus(tmp_path / "docs", 8)]
    with FakeOpenAI(slow_reader) as fake:
        bounded = replace(settings, llm_base_url=fake.base_url, llm_concurrency=2, processes=2)
        summary = run_sources(sources, Runtime.create(bounded), "test")
    assert summary.failed == []
    assert overlap.most == 2  # both slots were used, and never a third


def test_a_killed_worker_keeps_what_finished_and_records_the_rest_as_failed(settings, tmp_path):
    """Two sources are answered, then the model holds every call; a worker is killed meanwhile. The run completes:
    the two finished sources stay ok, the killed worker's sources are recorded as failed at stage "internal"
    with the reason, and every source has exactly one outcome, as in the ledger."""
    answered, held = threading.Semaphore(0), threading.Semaphore(0)
    release, count, lock = threading.Event(), [0], threading.Lock()

    def reader_then_held(request):
        with lock:
            count[0] += 1
            first = count[0] <= 2
        if first:
            answered.release()
            return reader(request)
        held.release()
        release.wait(20)
        return reader(request)

    sources = [str(p) for p in write_corpus(tmp_path / "docs", 6)]
    before = set(multiprocessing.active_children())
    with FakeOpenAI(reader_then_held) as fake:
        spread = replace(settings, llm_base_url=fake.base_url, llm_concurrency=2, processes=2)
        result: list = []
        runner = threading.Thread(target=lambda: result.append(run_sources(sources, Runtime.create(spread), "test")))
        runner.start()
        for _ in range(2):
            assert held.acquire(timeout=60), "both processes should have a call held at the model"
        time.sleep(1.0)  # the two answered sources save meanwhile
        workers = set(multiprocessing.active_children()) - before
        os.kill(next(iter(workers)).pid, signal.SIGKILL)
        runner.join(60)
        release.set()
    assert not runner.is_alive(), "the run hung"
    (summary,) = result
    statuses = [o.status for o in summary.outcomes]
    # The killed worker's held source fails; the two answered ones stay ok. The survivor's held source may end
    # either way: the pool notices the death when it next hears from a worker, which on a loaded machine can be
    # the survivor's own result (its held call returns after 20 s), so that source is then stored, not lost.
    assert len(statuses) == 6 and set(statuses) <= {"ok", "failed"}
    assert statuses.count("ok") >= 2 and statuses.count("failed") >= 1
    assert {o.stage for o in summary.failed} == {"internal"}
    assert all("worker process ended" in o.error and "BrokenProcessPool" in o.error for o in summary.failed)
    ledger = run_readonly(spread.database_url, f"select source, status from v_attempts where run_id = {summary.run_id}")
    assert sorted(ledger.rows) == sorted((o.source, o.status) for o in summary.outcomes)
