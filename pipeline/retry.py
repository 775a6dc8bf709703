"""Retries with backoff for the two things that can fail transiently: network fetches and LLM calls.

Everything else fails once, with its reason. A server that says how long to wait (HTTP 429 `Retry-After`)
is obeyed, capped so one slow server cannot stall a whole run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

DEFAULT_DELAYS = (2.0, 5.0, 15.0)
MAX_WAIT = 60.0


@dataclass
class Attempts:
    """How many times the last `retry` call tried; read by the run ledger."""

    count: int = 0


def retry(
    fn: Callable[[], T],
    *,
    retryable: Callable[[BaseException], bool],
    wait_hint: Callable[[BaseException], float | None] = lambda exc: None,
    delays: Sequence[float] = DEFAULT_DELAYS,
    attempts: Attempts | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `fn`; on a retryable error wait (server hint, else the next delay) and try again."""
    attempts = attempts if attempts is not None else Attempts()
    for delay in (*delays, None):
        attempts.count += 1
        try:
            return fn()
        except Exception as exc:
            if delay is None or not retryable(exc):
                raise
            hint = wait_hint(exc)
            sleep(min(MAX_WAIT, hint if hint is not None else delay))
    raise AssertionError("unreachable")
