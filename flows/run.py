"""A run of sources: its ledger row, its sources spread over processes (or a Dask cluster), and Ctrl-C.

Concurrency, one path for every run size: the sources are split into P shares (flows.workers.process_count: 1 for
the embedded model and for small runs, else up to one per core, KB_PROCESSES) and each share goes through
`run_share` (flows.documents): a thread pool of `document_workers` documents in one process, its model calls bounded
by that process's semaphore of KB_LLM_CONCURRENCY // P slots (pipeline.llm.SlotClient). With P = 1 the share runs in
this process: the embedded model lives here, and a smaller run would spend longer starting processes than it gains
(see flows.workers.MIN_SOURCES_PER_PROCESS). With P > 1 the shares go to a standard process pool
(`concurrent.futures`, each worker's Runtime made by its initializer; progress lines come back through a logging
queue), or, with `--task-runner dask`, to a Dask cluster's executor. A worker process that dies (killed, out of
memory) breaks a local pool, which ends its other workers too (concurrent.futures' BrokenProcessPool): what finished
stays (each source's row is written as it finishes) and the sources not finished are recorded as failed at stage
"internal", with the reason; a re-run picks them up.
Writers in several processes queue on the database's own lock (db.session).

Ctrl-C (SIGINT, in the main thread) starts no more sources, in this process and, relayed (flows.workers), in its
worker processes or on the Dask workers: those in flight finish, the run is closed "interrupted" with what it saw.
A second Ctrl-C ends the run's worker processes and this process at once (what was in flight rolls back, and the
next run marks this one interrupted from its ledger rows). A worker whose run's process is killed ends by itself.

This module imports nothing of Prefect (about half of a start's imports): `kb ingest` without a Prefect API runs
here directly (`backfill`), and so starts no Prefect server that could outlive it; flows.ingest wraps the same
`run_sources` in the Prefect flow.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, wait
from contextlib import contextmanager
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlmodel import Session, select

from db.models import Attempt
from flows.documents import (
    Outcome,
    Runtime,
    llm_slots,
    record_outcome,
    report_outcome,
    run_share,
    run_share_elsewhere,
    say,
    start_worker,
)
from flows.workers import dask_stop, local_cluster, process_count, process_pool, relayed_logs, run_stop, split
from pipeline import save as save_stage
from pipeline.settings import Settings

TASK_RUNNERS = ("threads", "dask")
STOP_POLL_SECONDS = 0.2  # how often a run waiting for its shares looks whether Ctrl-C asked it to stop


def _totals(outcomes: list[Outcome]) -> dict:
    """The run ledger's counts: sources seen, new/changed/unchanged/failed, tokens and model time."""
    changes = [o.change for o in outcomes if o.status != "failed"]
    return dict(
        sources_seen=len(outcomes),
        new=changes.count("new"),
        changed=changes.count("changed"),
        unchanged=changes.count("unchanged"),
        failed=sum(o.status == "failed" for o in outcomes),
        prompt_tokens=sum(o.prompt_tokens for o in outcomes),
        completion_tokens=sum(o.completion_tokens for o in outcomes),
        llm_seconds=round(sum(o.llm_seconds for o in outcomes), 3),
    )


class RunSummary(BaseModel):
    run_id: int
    outcomes: list[Outcome]
    seconds: float
    worker_peak_rss_mb: list[float] = []  # each worker process's peak memory, when the run used them
    interrupted: bool = False  # stopped by Ctrl-C: `outcomes` are the sources it started

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def backfill(
    sources: list[str], settings: Settings, task_runner: str = "threads", dask_address: str | None = None
) -> RunSummary:
    """A backfill run of `sources` in this process, without Prefect (see the module docstring)."""
    check_task_runner(task_runner)
    runtime = Runtime.create(settings)
    try:
        return run_sources(sources, runtime, "backfill", task_runner=task_runner, dask_address=dask_address)
    finally:
        runtime.engine.dispose()


def check_task_runner(task_runner: str) -> None:
    """A ValueError for an unknown task runner; an ImportError now, not mid-run, when "dask" lacks its extra."""
    if task_runner not in TASK_RUNNERS:
        raise ValueError(f"unknown task runner {task_runner!r}: use 'threads' or 'dask'")
    if task_runner == "dask":
        import distributed  # noqa: F401 - the optional `dask` extra


def run_sources(
    sources: list[str],
    runtime: Runtime,
    trigger: str,
    *,
    task_runner: str = "threads",
    dask_address: str | None = None,
    flow_run_id: str | None = None,
) -> RunSummary:
    """Process every source and close the run's ledger row (see the module docstring for how)."""
    started = time.perf_counter()
    sources = list(dict.fromkeys(sources))  # the same source twice would be extracted twice, racing to save
    save_stage.mark_interrupted_runs(runtime.engine)
    run_id = save_stage.start_run(runtime.engine, trigger, flow_run_id=flow_run_id)
    new = set(sources) - save_stage.stored_sources(runtime.engine, sources)
    with _ctrl_c_stops(runtime.stop):
        if task_runner == "dask":
            outcomes, worker_rss = _run_on_dask(sources, runtime, run_id, new, dask_address)
        elif (processes := process_count(runtime.settings, len(sources))) > 1:
            outcomes, worker_rss = _run_in_processes(sources, runtime, run_id, new, processes)
        else:
            outcomes, worker_rss = run_share(sources, runtime, run_id, new), []
    interrupted = runtime.stop.is_set()
    save_stage.finish_run(runtime.engine, run_id, "interrupted" if interrupted else "completed", **_totals(outcomes))
    seconds = round(time.perf_counter() - started, 2)
    return RunSummary(
        run_id=run_id, outcomes=outcomes, seconds=seconds, worker_peak_rss_mb=worker_rss, interrupted=interrupted
    )


@contextmanager
def _ctrl_c_stops(stop: threading.Event) -> Iterator[None]:
    """While the block runs, Ctrl-C sets `stop` (no more sources start) and says so; a second one ends the
    process (the default action). Only the main thread receives signals: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(_signum, _frame) -> None:
        stop.set()
        signal.signal(signal.SIGINT, _stop_now)
        say("interrupted: finishing the documents in flight, starting no more (Ctrl-C again to stop at once)")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_now(signum: int, _frame) -> None:
    """The second Ctrl-C: end this process's worker processes, then this process by the signal's default action
    (their documents and its own in flight roll back)."""
    for child in multiprocessing.active_children():
        child.kill()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


def _run_in_processes(
    sources: list[str], runtime: Runtime, run_id: int, new: set[str], processes: int
) -> tuple[list[Outcome], list[float]]:
    """One share per process of a local pool; their progress lines are logged here as sources finish."""
    slots = llm_slots(runtime.settings) // processes
    _check_endpoint_here(runtime)
    stop = run_stop()
    with (
        relayed_logs() as log_queue,
        process_pool(processes, start_worker, (runtime.settings, slots, log_queue, stop)) as pool,
    ):
        return _gather(pool, sources, runtime, run_id, new, processes, slots, relayed=True, relay_stop=stop.set)


def _check_endpoint_here(runtime: Runtime) -> None:
    """Check a model endpoint once, in the run's own process, before any worker starts (workers do not check
    again). The embedded model is not loaded here: each worker loads its own."""
    if not runtime.settings.uses_embedded_model:
        runtime.llm()


def _run_on_dask(
    sources: list[str], runtime: Runtime, run_id: int, new: set[str], address: str | None
) -> tuple[list[Outcome], list[float]]:
    """One share per Dask worker (of the cluster at `address`, else a local one of two single-threaded worker
    processes)."""
    from distributed import Client

    cluster = None if address else local_cluster()
    try:
        with Client(address or cluster) as client:
            workers = len(client.scheduler_info()["workers"]) or 1
            processes = max(1, min(workers, len(sources), llm_slots(runtime.settings)))
            slots = llm_slots(runtime.settings) // processes
            _check_endpoint_here(runtime)
            stop = dask_stop(client)
            try:
                return _gather(
                    client.get_executor(),
                    sources,
                    runtime,
                    run_id,
                    new,
                    processes,
                    slots,
                    relayed=False,
                    relay_stop=stop.set,
                    dask_stop=stop.name,
                )
            finally:
                stop.clear()  # the scheduler forgets it
    finally:
        if cluster is not None:
            cluster.close()


def _gather(
    executor: Executor,
    sources: list[str],
    runtime: Runtime,
    run_id: int,
    new: set[str],
    processes: int,
    slots: int,
    *,
    relayed: bool,
    relay_stop: Callable[[], object],
    dask_stop: str | None = None,
) -> tuple[list[Outcome], list[float]]:
    """Submit one share per process to `executor`; the Outcome of every source started, in the order given, and
    each worker's peak memory. `relayed`: the workers' progress lines reach this process's log as they go; else
    each share's are logged when it returns. Ctrl-C reaches the workers through `relay_stop`. A share whose
    worker died is closed by `_lost`."""
    shares = split(sources, processes)
    futures = [
        executor.submit(run_share_elsewhere, runtime.settings, slots, share, run_id, new & set(share), dask_stop)
        for share in shares
    ]
    _wait_relaying_stop(futures, runtime.stop, relay_stop)
    found: dict[str, Outcome] = {}
    rss: list[float] = []
    for share, future in zip(shares, futures, strict=True):
        try:
            outcomes, peak_mb = future.result()
            rss.append(peak_mb)
            unreported = [] if relayed else outcomes
        except Exception as exc:  # noqa: BLE001 - a worker process died (killed, out of memory) or was lost
            outcomes, recorded = _lost(share, runtime, run_id, exc)
            unreported = recorded if relayed else outcomes
        for outcome in unreported:
            report_outcome(outcome)
        found.update((o.source, o) for o in outcomes)
    return [found[source] for source in sources if source in found], rss  # those not started: not in the run


def _wait_relaying_stop(futures: list[Future], stop: threading.Event, relay_stop: Callable[[], object]) -> None:
    """Wait until every share is done; once `stop` is set (Ctrl-C, in this process), call `relay_stop` once.
    Polled: a signal handler could not safely call a Dask scheduler."""
    pending = set(futures)
    while pending:
        pending = wait(pending, timeout=STOP_POLL_SECONDS).not_done
        if stop.is_set():
            relay_stop()
            break
    wait(pending)


def _lost(share: list[str], runtime: Runtime, run_id: int, exc: BaseException) -> tuple[list[Outcome], list[Outcome]]:
    """A share whose worker died: its sources' Outcomes, and those of them recorded here. The sources it finished
    are read back from the ledger (each row was written as its source finished); the others are recorded as
    failed at stage "internal"."""
    finished = _finished(runtime, run_id, share)
    why = f"its worker process ended before it finished ({type(exc).__name__}: {exc})"[:500]
    outcomes, recorded = [], []
    for source in share:
        if source in finished:
            outcomes.append(Outcome(source=source, **finished[source]))
            continue
        outcome = Outcome(source=source, status="failed", stage="internal", error=why)
        record_outcome(outcome, runtime, run_id, datetime.now(UTC))
        outcomes.append(outcome)
        recorded.append(outcome)
    return outcomes, recorded


def _finished(runtime: Runtime, run_id: int, sources: list[str]) -> dict[str, dict]:
    """The ledger rows this run has written for `sources`, as Outcome fields (`change` is not in the ledger)."""
    fields = (
        "status",
        "stage",
        "error",
        "document_id",
        "attempts",
        "prompt_tokens",
        "completion_tokens",
        "llm_seconds",
    )
    query = select(Attempt).where(Attempt.run_id == run_id, Attempt.source.in_(sources))
    with Session(runtime.engine) as session:
        return {row.source: {name: getattr(row, name) for name in fields} for row in session.exec(query)}
