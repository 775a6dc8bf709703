"""Turns: one thread at a time of a process does a document's Python work; waits are done without the turn.

Python runs one thread at a time anyway (the interpreter lock), but threads that all have Python work to do
take turns every few milliseconds, so that every document in a process advances at once and slowly: the first
request to the model leaves only when most documents have been read and cleaned, and every switch costs time.
A turn is held for a document's stretches of Python work and given up whenever the thread waits — for the
model (`pipeline.llm.SlotClient`), for a page (`flows.ingest.load`), for the database's writer lock
(`db.session.write_connection`), between retries (`pause`) — so documents advance one after another while as
many as before are in flight with the model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_this_thread = threading.local()


class Turn:
    """The turn of one process (or of one Runtime): `with turn.held():` around a document's work."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            _this_thread.turn = self
            try:
                yield
            finally:
                _this_thread.turn = None


@contextmanager
def released() -> Iterator[None]:
    """Give up the calling thread's turn, if it holds one, for the block (a wait), and take it back after."""
    turn = getattr(_this_thread, "turn", None)
    if turn is None:
        yield
        return
    _this_thread.turn = None
    turn._lock.release()
    try:
        yield
    finally:
        turn._lock.acquire()
        _this_thread.turn = turn


def pause(seconds: float) -> None:
    """time.sleep without the turn: a back-off never holds up the other documents of the process."""
    with released():
        time.sleep(seconds)
