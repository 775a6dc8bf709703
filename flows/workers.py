"""Worker processes for large runs: documents spread over one process per core, model slots shared.

Everything career-kb does around a model call (parsing HTML, building and validating requests, saving) is Python
and holds the interpreter lock, so one process of threads uses one core however many threads it has. A large
run therefore goes to `processes` workers of `threads` threads each. All of them take sources from one queue
(a worker with a backlog never waits while another idles) and share one cross-process semaphore of model slots,
so `KB_LLM_CONCURRENCY` still bounds the calls in flight across the whole run. Each worker opens its own engine
on the same database; the parent keeps the run's ledger row and prints each source's progress line.

A worker that dies (killed, out of memory) loses only the sources it was working on: each is recorded as
failed at stage "internal" with the exit code. It may have died holding a model slot or a lock, so the pool
starts over with fresh workers and fresh slots and locks; the sources the other workers had in progress are
worked on again from the start (saving is idempotent), and the queue goes on.

Workers fork from a server process that has imported career-kb once (multiprocessing's "forkserver"), which
is safe in a process with threads (Prefect's, the engine's) and costs the import only once per process; the
server also runs `flows.warm` before forking, so no worker pays a first document's one-time costs (~1 s).
`prepare` starts a run's workers ahead of it (`kb ingest` does so while Prefect starts); the run takes them if
they were started for its settings and shape (`take_pool`), so it begins with workers ready for sources.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from datetime import datetime, timezone
from multiprocessing import forkserver
from multiprocessing.connection import wait

from db.engine import make_engine
from db.session import share_writer_lock
from pipeline.settings import Settings

MIN_SOURCES_PER_PROCESS = 25  # below this many sources per worker, starting workers costs more than it saves
MAX_PROCESSES = 8
QUIET_SECONDS = 5.0  # how long the parent waits for a message before it checks on its workers anyway
_PRELOAD = ["flows.ingest", "flows.warm"]
# A thread back from the model (or waiting to send to it) needs the interpreter lock while the thread with the
# turn (pipeline.turn) computes; it gets it within this many seconds. Python's default, 5 ms, delayed each slot's
# release and the next request by ~4 ms a call (measured: 100 calls, 8 slots, median handoff 4.0 → 2.6 ms).
SWITCH_INTERVAL = 0.0005


def process_count(settings: Settings, sources: int) -> int:
    """How many worker processes a run of `sources` gets: 1 (work in this process) for the embedded model,
    which lives in one process, and for runs too small to be worth it; else KB_PROCESSES, by default the cores."""
    if settings.uses_embedded_model:
        return 1
    if settings.processes is not None:
        return max(1, min(settings.processes, sources))
    return max(1, min(os.cpu_count() or 1, MAX_PROCESSES, sources // MIN_SOURCES_PER_PROCESS))


class _Preparation:
    """A pool being started in the background for a run to come (see `prepare`)."""

    def __init__(self, settings: Settings, sources: int):
        self.pool: WorkerPool | None = None
        self._thread = threading.Thread(target=self._start, args=(settings, sources), daemon=True, name="kb-prepare")
        self._thread.start()

    def _start(self, settings: Settings, sources: int) -> None:
        from flows.ingest import worker_shape

        try:
            self.pool = WorkerPool(settings, *worker_shape(settings, sources))
        except Exception:  # noqa: BLE001 - the run then starts its own pool, which reports what is wrong
            pass

    def result(self) -> "WorkerPool | None":
        self._thread.join()
        return self.pool


_prepared: _Preparation | None = None  # the pool `prepare` started and no run has taken yet
_prepared_lock = threading.Lock()


def _swap_prepared(preparation: _Preparation | None) -> "WorkerPool | None":
    """Put `preparation` in the slot; the pool of the one it replaces (waited for), if any."""
    global _prepared
    with _prepared_lock:
        old, _prepared = _prepared, preparation
    return old.result() if old is not None else None


def prepare(settings: Settings, sources: int, *, wait: bool = False) -> None:
    """Start the worker processes a run of `sources` will use, in the background, so that the run finds them
    ready: `kb ingest` does this while Prefect starts. Nothing happens for a run that needs no workers.

    `wait`: return once every worker has its engine and model client and waits for sources.
    """
    if process_count(settings, sources) <= 1:
        return
    _context()
    forkserver.ensure_running()  # the fork server's import starts now, alongside whatever this process does next
    preparation = _Preparation(settings, sources)
    if (stale := _swap_prepared(preparation)) is not None:
        stale.close()
    if wait and (pool := preparation.result()) is not None:
        pool.wait_ready()


def take_pool(settings: Settings, processes: int, threads: int, slots: int) -> "WorkerPool":
    """The pool `prepare` started, when it was for these settings and this shape; else a new one."""
    pool = _swap_prepared(None)
    if pool is not None and pool.settings == settings and pool.shape == (processes, threads, slots):
        return pool
    if pool is not None:
        pool.close()
    return WorkerPool(settings, processes, threads, slots)


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


class WorkerPool:
    """`processes` worker processes of `threads` threads each; `run()` works one list of sources through them.

    Use as a context manager (or call `close()`): workers are daemons and stop when the block ends.
    """

    def __init__(self, settings: Settings, processes: int, threads: int, slots: int):
        self._context = _context()
        self.settings, self.processes, self.threads, self.slots = settings, processes, threads, slots
        self._workers: dict[int, multiprocessing.process.BaseProcess] = {}
        self._ready: set[int] = set()  # pids of workers that said they wait for sources
        self.peak_rss_mb: list[float] = []  # of each worker, read when the pool closes
        self._start_workers()

    def _start_workers(self) -> None:
        """A fresh set of workers, with fresh shared slots, locks and queues: a worker killed while it held a
        model slot, the SQLite writer lock or the message lock would otherwise hold it for ever."""
        self._slot = self._context.BoundedSemaphore(self.slots)
        self._tasks = self._context.Queue()
        self._results, self._sender = self._context.Pipe(duplex=False)
        self._send_lock = self._context.Lock()
        self._write_lock = self._context.RLock()
        for _ in range(self.processes):
            self._start_worker()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def pids(self) -> list[int]:
        return list(self._workers)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.processes, self.threads, self.slots

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Return once every worker is ready for sources (its engine and model client made); a worker that exits
        first, or a start slower than `timeout` seconds, is an error."""
        deadline = time.monotonic() + timeout
        while len(self._ready) < len(self._workers):
            if not wait([self._results, *(p.sentinel for p in self._workers.values())], deadline - time.monotonic()):
                raise TimeoutError(f"worker processes not ready after {timeout:.0f} s")
            if dead := {pid: p.exitcode for pid, p in self._workers.items() if not p.is_alive()}:
                raise RuntimeError(f"worker processes exited before they were ready: {dead}")
            self._receive({}, {})

    def _start_worker(self) -> None:
        process = self._context.Process(
            target=_serve,
            args=(self.settings, self._slot, self._write_lock, self._tasks, self._sender, self._send_lock, self.threads),
            daemon=True,
            name="kb-worker",
        )
        process.start()
        self._workers[process.pid] = process

    def run(self, sources: list[str], run_id: int, runtime, new: set[str] = frozenset()) -> list:
        """Every source's Outcome, in the order given; progress lines are reported here as sources finish.

        `runtime` is the parent's: the ledger rows of sources lost with a dead worker are written with it.
        `new`: the sources the run found nothing stored for (see flows.ingest.process_source)."""
        from flows.ingest import Outcome, record_outcome, report_outcome

        share_writer_lock(runtime.engine, self._write_lock)  # this process's ledger writes queue with theirs
        for index, source in enumerate(sources):
            self._tasks.put((index, source, run_id, source in new))
        outcomes: dict[int, Outcome] = {}
        working: dict[int, tuple[int, datetime]] = {}  # source index → (worker pid, when it was taken)
        while len(outcomes) < len(sources):
            wait([self._results, *(p.sentinel for p in self._workers.values())], timeout=QUIET_SECONDS)
            self._receive(working, outcomes)  # first: what a dead worker sent before it died still counts
            dead = {pid: p.exitcode for pid, p in self._workers.items() if not p.is_alive()}
            if not dead:
                continue
            for index, (owner, started) in list(working.items()):
                if owner in dead:
                    del working[index]
                    why = f"the worker process working on it exited (code {dead[owner]})"
                    outcomes[index] = Outcome(source=sources[index], status="failed", stage="internal", error=why)
                    record_outcome(outcomes[index], runtime, run_id, started)
                    report_outcome(outcomes[index])
            # The dead worker may have died holding a shared slot or lock: start over with fresh ones. The other
            # workers' sources in progress are taken up again from the start (saving is idempotent).
            self._stop(terminate=True)
            self._receive(working, outcomes)
            working.clear()
            self._start_workers()
            share_writer_lock(runtime.engine, self._write_lock)
            for index in range(len(sources)):
                if index not in outcomes:
                    self._tasks.put((index, sources[index], run_id, False))  # its lost worker may have saved it
        return [outcomes[index] for index in range(len(sources))]

    def _receive(self, working: dict, outcomes: dict) -> None:
        """Take every message the workers have sent: a source taken (by which pid), or its Outcome."""
        from flows.ingest import Outcome, report_outcome

        while self._results.poll():
            kind, index, value = self._results.recv()
            if kind == "ready":
                self._ready.add(value)
                continue
            if kind == "taken":
                working[index] = (value, datetime.now(timezone.utc))
                continue
            working.pop(index, None)
            outcomes[index] = Outcome.model_validate(value)
            report_outcome(outcomes[index])

    def close(self, block: bool = True) -> None:
        """Ask every worker thread to stop, wait briefly, then end whatever is left. `block=False`: the waiting
        is done by a thread of its own, so that a run that has all its outcomes need not wait for processes
        to exit (~25 ms for two)."""
        self.peak_rss_mb = [mb for pid in self._workers if (mb := _peak_rss_mb(pid)) is not None]
        if block:
            self._stop(terminate=False)
        else:
            threading.Thread(target=self._stop, args=(False,), daemon=True, name="kb-worker-stop").start()

    def _stop(self, terminate: bool) -> None:
        if not terminate:
            for _ in range(len(self._workers) * self.threads):
                self._tasks.put(None)
        for process in self._workers.values():
            if terminate:
                process.terminate()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        self._workers.clear()
        self._ready.clear()
        self._tasks.close()


def _peak_rss_mb(pid: int) -> float | None:
    """A live process's peak resident memory (Linux's VmHWM), in MB; None where /proc does not say."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _serve(settings: Settings, slot, write_lock, tasks, sender, send_lock, threads: int) -> None:
    """A worker process: `threads` threads taking (index, source, run_id, new) from `tasks` until a None."""
    from flows.ingest import Runtime, process_source
    from pipeline.console import PROGRESS_LOGGER

    logging.getLogger(PROGRESS_LOGGER).disabled = True  # the parent prints progress, once
    sys.setswitchinterval(SWITCH_INTERVAL)
    runtime = Runtime(settings=settings, engine=make_engine(settings.database_url), llm_slot=slot)
    share_writer_lock(runtime.engine, write_lock)
    runtime.llm(), runtime.extractor()  # made once here, before the threads would all wait for the first one
    runtime.engine.connect().close()  # the first connection (and its pragmas), kept in the engine's pool

    def send(message: tuple) -> None:
        with send_lock:
            sender.send(message)

    send(("ready", -1, os.getpid()))

    def work() -> None:
        while (item := tasks.get()) is not None:
            index, source, run_id, new = item
            send(("taken", index, os.getpid()))
            outcome = process_source(source, runtime, run_id, report=False, new=new)
            send(("done", index, outcome.model_dump()))

    pool = [threading.Thread(target=work, name=f"kb-worker-{n}") for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    runtime.engine.dispose()
