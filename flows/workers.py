"""How a run is spread over processes: how many, which sources and model slots each gets, the pool they run in,
and their progress lines brought back to this process.

Everything career-kb does around a model call (parsing HTML, building and validating requests, saving) is Python
and holds the interpreter lock, so one process uses one core however many threads it has; a large run is split
into one share per process. This module knows nothing of documents: flows.documents says what a share does.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

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
