"""How many callers are inside a block at once: for tests that check a bound on concurrency."""

from __future__ import annotations

import threading
import time


class Overlap:
    """`with overlap:` counts the callers inside; `most` is the largest count seen. Each caller stays `hold`
    seconds, so callers that were not bounded would be seen together."""

    def __init__(self, hold: float = 0.02):
        self.hold, self.inside, self.most = hold, 0, 0
        self._lock = threading.Lock()

    def __enter__(self) -> Overlap:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(self.hold)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.inside -= 1
