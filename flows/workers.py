"""How a run is spread over processes: how many, which sources and model slots each gets, the pool they run in,
their progress lines brought back to this process, and how a stop reaches them.

Everything career-kb does around a model call (parsing HTML, building and validating requests, saving) is Python
and holds the interpreter lock, so one process uses one core however many threads it has; a large run is split
into one share per process. This module knows nothing of documents: flows.documents says what a share does.

Stopping: a pool worker ignores Ctrl-C (a terminal sends it to the whole process group; the run's process relays
it through a `multiprocessing` Event of the pool's context), and ends by itself, once its documents in flight are
done, when the run's process is gone (killed). On a Dask cluster the stop is a `distributed.Event` named per run.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Protocol

from pipeline.settings import Settings

# Below this many sources per process, starting processes costs more than it saves: a worker's start (its
# process, then the model client's first use, which imports most of openai and instructor) cost a run 4-12 s on
# a loaded 2-core machine, where a document's own Python work is ~10 ms (tests/benchmarks/README.md, 2026-12-06).
MIN_SOURCES_PER_PROCESS = 250
MAX_PROCESSES = 8
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def process_count(settings: Settings, sources: int) -> int:
    """How many processes a run of `sources` gets: 1 (this one) for the embedded model, which lives in this
    process, and for runs too small to be worth it; else KB_PROCESSES, by default the cores. Never more than
    the model slots, so that each process has at least one."""
    if settings.uses_embedded_model:
        return 1
    slots = max(1, settings.llm_concurrency)
    if settings.processes is not None:
        return max(1, min(settings.processes, sources, slots))
    return max(1, min(os.cpu_count() or 1, MAX_PROCESSES, sources // MIN_SOURCES_PER_PROCESS, slots))


def split(items: list[str], parts: int) -> list[list[str]]:
    """`items` dealt into `parts` shares of nearly equal size (every part-th item), none empty."""
    return [share for share in (items[start::parts] for start in range(parts)) if share]


def process_pool(processes: int, initializer: Callable, initargs: tuple) -> Executor:
    """A standard process pool of `processes` workers, each set up once by `initializer(*initargs)`.

    With the "forkserver" start method, the server imports the initializer's module once (multiprocessing's
    documented preload), so that the workers of later runs in this process (`kb serve`) start with it imported;
    nothing runs at that import."""
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload([initializer.__module__])
    return ProcessPoolExecutor(processes, mp_context=context, initializer=initializer, initargs=initargs)


class _Relay(logging.Handler):
    """Hands a record that came from a worker process to the logger of the same name in this process."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


@contextmanager
def relayed_logs() -> Iterator[object]:
    """A queue for worker processes' log records (`log_to`), which this process logs as they arrive: the
    logging cookbook's QueueHandler/QueueListener pattern. Yields the queue, to pass to the workers."""
    queue = multiprocessing.get_context(START_METHOD).Queue()
    listener = logging.handlers.QueueListener(queue, _Relay())
    listener.start()
    try:
        yield queue
    finally:
        listener.stop()
        queue.close()


def log_to(queue, *loggers: str) -> None:
    """In a worker process: send warnings, and INFO records of `loggers`, to the parent through `queue`."""
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(queue)]
    root.setLevel(logging.WARNING)
    for name in loggers:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.propagate, logger.disabled = True, False
        logger.handlers.clear()


class Stop(Protocol):
    """Whether a share starts no more sources: a threading or multiprocessing Event, a distributed.Event."""

    def is_set(self) -> bool: ...


def run_stop() -> Stop:
    """The Event through which the run's process tells its pool workers to start no more sources (an Event can
    reach a worker only through the pool's initializer, hence made before the pool)."""
    return multiprocessing.get_context(START_METHOD).Event()


class WorkerStop:
    """In a pool worker: set when the run asked to stop (`requested`) or its process is gone (`orphaned`)."""

    def __init__(self, requested: Stop) -> None:
        self.requested = requested
        self.orphaned = threading.Event()

    def is_set(self) -> bool:
        return self.requested.is_set() or self.orphaned.is_set()


_WORKER_STOP: list[WorkerStop] = []  # this pool worker's, from its initializer
_SHARE_RUNNING = threading.Lock()  # held while a share runs in this pool worker: an orphan ends only between shares


def watch_run(requested: Stop) -> None:
    """From a pool worker's initializer: ignore Ctrl-C (the run's process relays it as `requested`), and end this
    process should the run's process die, once the documents in flight are done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = WorkerStop(requested)
    _WORKER_STOP[:] = [stop]
    threading.Thread(target=_end_when_orphaned, args=(stop,), name="kb-run-watch", daemon=True).start()


def _end_when_orphaned(stop: WorkerStop) -> None:
    """Wait for the run's process to end, then start no more sources and end this process between shares.
    multiprocessing's parent_process() is the run's process also under "forkserver", whose workers' OS parent is
    the fork server, which lives on as long as they do."""
    multiprocessing.parent_process().join()
    stop.orphaned.set()
    with _SHARE_RUNNING:
        os._exit(1)  # no one is left to hear from this worker; the pool's queues would hold it forever


@contextmanager
def share_stop(dask_event: str | None = None) -> Iterator[Stop]:
    """While a share runs in a worker: what tells it to stop. On a Dask worker, the run's `distributed.Event` of
    that name, bound to this worker's client (the share's threads have none of their own); in a pool worker,
    its WorkerStop, and no orphaned end meanwhile."""
    if dask_event is not None:
        from distributed import Event, get_client

        yield Event(dask_event, client=get_client())
        return
    with _SHARE_RUNNING:
        yield _WORKER_STOP[0]


def local_cluster():
    """A local Dask cluster of two single-threaded worker processes. They are started with Ctrl-C ignored, which
    they keep (an ignored signal stays ignored across exec): a terminal's Ctrl-C reaches the whole process group,
    and would end them mid-task, leaving the run waiting for a cluster without workers; the run relays it."""
    from distributed import LocalCluster

    with _ctrl_c_ignored():
        return LocalCluster(n_workers=2, threads_per_worker=1, processes=True)


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """While the block runs, SIGINT is ignored (in the main thread only: elsewhere signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def dask_stop(client) -> Stop:
    """A new `distributed.Event` on `client`'s scheduler, to stop one run's shares (its name is the run's alone)."""
    from distributed import Event

    return Event(f"career-kb-stop-{uuid.uuid4().hex}", client=client)
