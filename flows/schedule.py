"""Scheduled runs: one deployment of the ingest flow per schedule in the watch list, served by this process.

The served runs happen in processes Prefect starts; what `kb serve` itself says about them comes from the run
ledger, which every run writes: one line when a run starts and one with its counts when it finishes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy.engine import make_url

from db.engine import init_db, make_engine
from db.query import run_readonly
from db.watchlist import list_sources
from flows.ingest import ingest_flow
from pipeline.errors import KBError
from pipeline.settings import Settings

POLL_SECONDS = 2.0  # how often `kb serve` reads the run ledger for runs that started or finished
COUNTS = ("new", "changed", "unchanged", "failed")


def _public_url(url: str) -> str | None:
    """The database URL if it holds no password (flow parameters are visible in the Prefect UI), else None."""
    return None if make_url(url).password else url


def deployments(settings: Settings) -> list:
    """One deployment per distinct schedule, each ingesting the sources that share it."""
    engine = make_engine(settings.database_url)
    init_db(engine)
    groups: dict[tuple, list[str]] = defaultdict(list)
    for row in list_sources(engine):
        groups[(row.every_seconds, row.cron)].append(row.source)
    result = []
    for (seconds, cron), members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        key = cron or f"every-{seconds}s"
        name = f"watch-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        schedule = {"cron": cron} if cron else {"interval": timedelta(seconds=seconds)}
        result.append(
            ingest_flow.to_deployment(
                name=name,
                parameters={
                    "sources": members,
                    "database_url": _public_url(settings.database_url),
                    "trigger": "schedule",
                },
                description=f"{len(members)} watched source(s), {key}",
                **schedule,
            )
        )
    return result


def serve_watch_list(settings: Settings, say: Callable[[str], None] = print) -> None:
    """Register the watch list's deployments with the Prefect server and run them as they come due, saying when
    each run starts and finishes, until SIGTERM or Ctrl-C."""
    if not os.environ.get("PREFECT_API_URL"):
        raise KBError(
            "schedules need a Prefect server: run `kb server`, then set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    os.environ["KB_DATABASE_URL"] = settings.database_url  # the served flow runs read it; it is not a parameter
    found = deployments(settings)
    if not found:
        raise KBError("the watch list is empty: add sources with `kb sources add URL --every 1d`")
    for deployment in found:
        say(f"serving {deployment.name}: {deployment.description}")
    watch = LedgerWatch(settings.database_url, say)
    stop = threading.Event()
    served = _Served(found)
    with _stop_on(stop, signal.SIGTERM, signal.SIGINT):
        threading.Thread(target=watch.follow, args=(stop,), name="ledger-watch", daemon=True).start()
        threading.Thread(target=served.run, args=(stop,), name="prefect-serve", daemon=True).start()
        stop.wait()
    if served.error is not None:
        raise KBError(f"serving stopped: {served.error}") from served.error
    say("kb serve stopped")


class _Served:
    """Prefect's `serve` in a thread of its own, so that this process, not Prefect, decides how a signal ends it."""

    def __init__(self, found: list):
        self.found = found
        self.error: Exception | None = None

    def run(self, done: threading.Event) -> None:
        from prefect import serve

        try:
            # One flow run at a time: runs that came due together (a late start, two schedules at midnight) would
            # otherwise extract the same page twice and mark each other's ledger rows 'interrupted'.
            serve(*self.found, limit=1, print_starting_message=False)
        except Exception as exc:  # reported by the main thread as one line
            self.error = exc
        finally:
            done.set()


@contextmanager
def _stop_on(stop: threading.Event, *signals: signal.Signals) -> Iterator[None]:
    """While the block runs, each of `signals` sets `stop` instead of ending the process."""
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class LedgerWatch:
    """Says once when each run after the watch began starts, and once with its counts when it finishes."""

    def __init__(self, database_url: str, say: Callable[[str], None], every: float = POLL_SECONDS):
        self.database_url, self.say, self.every = database_url, say, every
        # Runs before the watch began are history, not news.
        self.after = run_readonly(database_url, "select coalesce(max(run_id), 0) from v_runs").rows[0][0]
        self.reported: dict[int, str] = {}  # run id -> the status last reported

    def follow(self, stop: threading.Event) -> None:
        """Poll the ledger until `stop` is set; a failed poll is said and the next one tried."""
        while not stop.wait(self.every):
            try:
                self.poll()
            except KBError as exc:
                self.say(f"cannot read the run ledger: {exc}")

    def poll(self) -> None:
        """Report the runs that started or finished since the last poll."""
        runs = self._runs_since(self.after)
        for run in runs:
            self._report(run)
        for run in runs:  # in id order: the finished runs at the front need not be read again
            if run["status"] == "running":
                break
            self.after = run["run_id"]
            self.reported.pop(run["run_id"], None)

    def _report(self, run: dict) -> None:
        run_id, status = run["run_id"], run["status"]
        if run_id not in self.reported:
            self.say(f"run {run_id} started ({run['trigger']})")
        if status != "running" and self.reported.get(run_id) != status:
            counts = ", ".join(f"{run[name]} {name}" for name in COUNTS)
            self.say(f"run {run_id} {status}: {run['sources_seen']} sources, {counts}")
        self.reported[run_id] = status

    def _runs_since(self, run_id: int) -> list[dict]:
        sql = f"select run_id, trigger, status, sources_seen, {', '.join(COUNTS)} from v_runs where run_id > {run_id}"
        result = run_readonly(self.database_url, sql + " order by run_id")
        return [dict(zip(result.columns, row, strict=True)) for row in result.rows]
