"""Scheduled runs: one deployment per schedule of the watch list, and a real schedule firing end to end.

The end-to-end test follows the README: `kb sources add`, `kb server` (a real Prefect server on a free port of
127.0.0.1; the test harness's API has no scheduler), `kb serve`. It waits for two scheduled runs of a page served
from this process, read by the fake model, to reach the ledger. Everything it starts runs in its own process
group and is stopped in teardown; the logs are printed then, and pytest shows them when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlmodel import Session

from db.engine import init_db, make_engine
from db.models import Run
from db.query import run_readonly
from db.watchlist import add_source
from flows.schedule import LedgerWatch, deployments, serve_watch_list
from pipeline.cli import main
from pipeline.errors import KBError
from tests.conftest import SECRET_KEY

KB = [sys.executable, "-m", "pipeline.cli"]
SERVER_START_SECONDS = 60  # a fresh server migrates its database first: ~13 s on 2 shared cores
FIRST_RUNS_SECONDS = 90  # `kb serve` starts, registers, polls, spawns each flow run: ~25 s for two runs idle, 55 s busy


# deployments(settings): no server needed ------------------------------------------------------------------------


def watch(settings, *entries: tuple[str, dict]) -> list:
    engine = make_engine(settings.database_url)
    init_db(engine)
    for source, schedule in entries:
        add_source(engine, source, **schedule)
    return deployments(settings)


def schedule_of(deployment):
    (entry,) = deployment.schedules
    return getattr(entry.schedule, "cron", None) or entry.schedule.interval


def test_one_deployment_per_distinct_schedule_with_its_sources(settings):
    found = watch(
        settings,
        ("https://example.org/a", {"every": "6h"}),
        ("https://example.org/b", {"cron": "0 6 * * *"}),
        ("https://example.org/c", {"every": "360m"}),  # the same interval as a, written differently
        ("https://example.org/d", {"every": "5s"}),
    )
    by_schedule = {schedule_of(d): d for d in found}
    assert len(found) == len(by_schedule) == 3
    assert {d.flow_name for d in found} == {"kb-ingest"}
    expected = {
        timedelta(hours=6): ["https://example.org/a", "https://example.org/c"],
        "0 6 * * *": ["https://example.org/b"],
        timedelta(seconds=5): ["https://example.org/d"],
    }
    for schedule, sources in expected.items():
        parameters = by_schedule[schedule].parameters
        assert parameters == {"sources": sources, "database_url": settings.database_url, "trigger": "schedule"}


def test_deployment_names_are_distinct_and_stable_so_a_restart_updates_them(settings):
    entries = [("https://example.org/a", {"every": "1d"}), ("https://example.org/b", {"cron": "0 6 * * *"})]
    first = [d.name for d in watch(settings, *entries)]
    again = [d.name for d in deployments(settings)]
    assert len(set(first)) == 2 and first == again


def test_a_source_added_without_a_schedule_runs_daily(settings):
    (deployment,) = watch(settings, ("https://example.org/a", {}))
    assert schedule_of(deployment) == timedelta(days=1)


def test_an_empty_watch_list_has_no_deployments(settings):
    assert watch(settings) == []


# kb serve without a server: a clear message ---------------------------------------------------------------------


def test_serving_without_a_prefect_server_names_the_fix(settings, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with pytest.raises(KBError, match="PREFECT_API_URL"):
        serve_watch_list(settings)


def test_kb_serve_without_a_prefect_server_fails_with_a_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "kb.sqlite")])
    assert result.exit_code == 1
    assert "PREFECT_API_URL" in result.output and "Traceback" not in result.output


# what kb serve says about the runs it serves ---------------------------------------------------------------------


def ledger(settings):
    engine = make_engine(settings.database_url)
    init_db(engine)
    return engine


def put_run(engine, run_id: int, status: str = "running", **counts) -> None:
    with Session(engine) as session:
        row = session.get(Run, run_id) or Run(id=run_id, trigger="schedule")
        row.status = status
        for name, value in counts.items():
            setattr(row, name, value)
        session.add(row)
        session.commit()


def test_the_watch_says_once_when_each_new_run_starts_and_finishes_with_its_counts(settings):
    engine = ledger(settings)
    put_run(engine, 1, "completed")  # before the watch: history, not news
    said: list[str] = []
    watch = LedgerWatch(settings.database_url, said.append)
    put_run(engine, 2)
    watch.poll()
    put_run(engine, 3, "completed", sources_seen=2, new=1, unchanged=1)  # started and finished between polls
    watch.poll()
    put_run(engine, 2, "failed", sources_seen=1, failed=1)
    watch.poll()
    watch.poll()
    assert said == [
        "run 2 started (schedule)",
        "run 3 started (schedule)",
        "run 3 completed: 2 sources, 1 new, 0 changed, 1 unchanged, 0 failed",
        "run 2 failed: 1 sources, 0 new, 0 changed, 0 unchanged, 1 failed",
    ]


def test_sigterm_stops_kb_serve_with_one_line_and_exit_0(settings, monkeypatch):
    """A stand-in for `prefect.serve` gets SIGTERM sent to this process while it serves, then blocks."""
    ledger(settings)
    add_source(make_engine(settings.database_url), "https://example.org/a", every="1d")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")

    def serving(*found, **options):
        os.kill(os.getpid(), signal.SIGTERM)
        threading.Event().wait(30)

    monkeypatch.setattr("prefect.serve", serving)
    missed: list[int] = []
    outer = signal.signal(signal.SIGTERM, lambda signum, _frame: missed.append(signum))  # if kb serve took none
    try:
        started = time.monotonic()
        result = CliRunner().invoke(main, ["serve", "--db", settings.database_url])
    finally:
        signal.signal(signal.SIGTERM, outer)
    assert missed == [] and time.monotonic() - started < 20  # kb serve's own handler stopped it
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].endswith("kb serve stopped") and "Traceback" not in result.output


def test_kb_serve_reports_a_failure_of_serving_as_one_line(settings, monkeypatch):
    ledger(settings)
    add_source(make_engine(settings.database_url), "https://example.org/a", every="1d")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")

    def refused(*found, **options):
        raise RuntimeError("cannot reach the Prefect API")

    monkeypatch.setattr("prefect.serve", refused)
    result = CliRunner().invoke(main, ["serve", "--db", settings.database_url])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "Error: serving stopped: cannot reach the Prefect API"


# a real schedule, end to end ------------------------------------------------------------------------------------


class Processes:
    """Subprocesses started by one test, each in its own process group with its output in a log file."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self.logs / f"{name.replace(' ', '-')}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                args, env=env, cwd=self.logs, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append((name, proc, log))
        return proc

    def check_alive(self) -> None:
        for name, proc, log in self.started:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")

    def stop_all(self) -> None:
        """Stop each process group, newest first, and print its log."""
        for name, proc, log in reversed(self.started):
            _stop_group(proc)
            print(f"----- {name} (exit {proc.returncode}) -----\n{log.read_text(errors='replace')[-6000:]}")


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group (flow runs spawned by `kb serve` are in it), SIGKILL whatever outlives 15 s."""
    _signal_group(proc, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=15)
    _signal_group(proc, signal.SIGKILL)  # also children left behind by a leader that did exit
    proc.wait(timeout=5)


def _signal_group(proc: subprocess.Popen, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    yield started
    started.stop_all()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefect_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test's environment (fake model, tmp KB_HOME) with a throwaway Prefect home; no PREFECT_* from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    home = tmp_path / "prefect-home"
    return env | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "NO_PROXY": "127.0.0.1,localhost",  # every server here is on loopback
        "no_proxy": "127.0.0.1,localhost",
        **extra,
    }


def wait_for(what: str, check, seconds: float, processes: Processes):
    """Poll `check()` until it returns something truthy; fail (naming `what`) on timeout or a dead process."""
    started = time.monotonic()
    while time.monotonic() < started + seconds:
        processes.check_alive()
        if found := check():
            print(f"{what} after {time.monotonic() - started:.1f} s")  # shown when the test fails
            return found
        time.sleep(0.5)
    pytest.fail(f"no {what} after {seconds:.0f} s")


def healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def completed_flow_runs(api_url: str) -> list[dict]:
    body = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
    return httpx.post(f"{api_url}/flow_runs/filter", json=body, timeout=5, trust_env=False).json()


def rows(db: Path, sql: str) -> list[dict]:
    result = run_readonly(f"sqlite:///{db}", sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def completed_scheduled_runs(db: Path, at_least: int) -> list[dict] | None:
    if not db.exists():
        return None
    found = rows(db, "select * from v_runs where trigger = 'schedule' and status = 'completed' order by run_id")
    return found if len(found) >= at_least else None


COUNTS = ("sources_seen", "new", "changed", "unchanged", "failed", "prompt_tokens")


@pytest.mark.timeout(SERVER_START_SECONDS + FIRST_RUNS_SECONDS + 60)
def test_a_served_schedule_ingests_a_watched_page(site, llm_env, tmp_path, processes):
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    # A new deployment's runs are made by the scheduler's "recent deployments" loop: every 5 s by default.
    server_env = prefect_env(tmp_path, PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS="1")
    processes.start("kb server", [*KB, "server", "--port", str(port)], server_env)  # execs `prefect server start`
    db, url = tmp_path / "kb.sqlite", site.url("small-salary-table.html")
    env = prefect_env(tmp_path, PREFECT_API_URL=api_url, PREFECT_RUNNER_POLL_FREQUENCY="1")
    added = subprocess.run(
        [*KB, "sources", "add", url, "--every", "5s", "--db", str(db)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )  # while the server starts
    assert added.returncode == 0, added.stderr
    wait_for("healthy Prefect server", lambda: healthy(api_url), SERVER_START_SECONDS, processes)

    processes.start("kb serve", [*KB, "serve", "--db", str(db)], env)
    first, second = wait_for(
        "two completed scheduled runs in the ledger",
        lambda: completed_scheduled_runs(db, 2),
        FIRST_RUNS_SECONDS,
        processes,
    )[:2]
    flow_runs = wait_for("completed flow run in Prefect", lambda: completed_flow_runs(api_url), 30, processes)

    scheduled = [r for r in flow_runs if r["auto_scheduled"] and r["deployment_id"]]  # the scheduler made them
    expected = {"sources": [url], "database_url": f"sqlite:///{db}", "trigger": "schedule"}
    assert scheduled and all(r["parameters"] == expected for r in scheduled)  # what the UI shows
    assert SECRET_KEY not in repr(flow_runs)
    assert tuple(first[k] for k in COUNTS[:-1]) == (1, 1, 0, 0, 0) and first["prompt_tokens"] > 0
    assert tuple(second[k] for k in COUNTS) == (1, 0, 0, 1, 0, 0)  # the next tick: unchanged, no LLM call
    assert second["started"] >= first["finished"]  # served runs do not overlap
    attempts = rows(
        db,
        "select run_id, source, status, stage, error from v_attempts "
        f"where run_id <= {second['run_id']} order by run_id",
    )
    assert [tuple(a.values()) for a in attempts] == [
        (first["run_id"], url, "ok", None, None),
        (second["run_id"], url, "unchanged", None, None),
    ]
    salaries = rows(db, "select level, amount_min, amount_max, currency, period from v_salaries order by amount_min")
    assert [tuple(s.values()) for s in salaries] == [
        ("junior", 92000, 118000, "USD", "year"),
        ("mid", 118000, 150000, "USD", "year"),
        ("senior", 150000, 195000, "USD", "year"),
    ]
