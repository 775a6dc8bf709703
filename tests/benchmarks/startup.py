"""Start-up of a one-document backfill with an endpoint model (issue 19, point 4; run by hand, not a test).

    .venv/bin/python -m tests.benchmarks.startup [--latency 1.0] [--runs 3]

Runs `kb ingest ONE_PAGE` as a user would (a new process, no Prefect API configured, KB_HOME and the database in a
temporary folder) against a fake OpenAI server on loopback that answers every call after a fixed `--latency`. The
figure is the wall time beyond the model's: wall − latency × calls, each run with a new database (the page is
extracted every time), after one warm-up run that is not counted: it writes Python's bytecode cache, as a user's
first run does (without it every import compiles its source, ~half of a start). The limit is 5 s. Prints one line
per run, with the CPU seconds of the run's processes (which a loaded machine does not inflate as it does wall
time), and the median. `--code DIR` runs the `kb` of another checkout (e.g. main's), for a comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fakes.openai_server import FakeOpenAIProcess
from tests.fakes.reader import reader

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "fixtures" / "pages" / "career-notes.md"
LIMIT_SECONDS = 5.0


def one_run(base_url: str, folder: Path, code: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one `kb ingest` of PAGE (the `kb` of checkout `code`) into a new database."""
    env = {**os.environ, "KB_LLM_BASE_URL": base_url, "KB_LLM_API_KEY": "bench", "KB_LLM_MODEL": "fake-model"}
    env.update(KB_HOME=str(folder / "home"), PREFECT_HOME=str(folder / "prefect"))
    env.pop("PREFECT_API_URL", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python caches bytecode: the warm-up run writes it
    command = [sys.executable, "-m", "pipeline.cli", "ingest", str(PAGE), "--db", str(folder / "kb.sqlite"), "--quiet"]
    cpu_before, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=code, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"kb ingest failed ({done.returncode}): {done.stdout}{done.stderr}")
    return wall, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="Seconds the fake model takes per call")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", type=Path, default=ROOT, help="The checkout whose kb runs (default: this one)")
    args = parser.parse_args()
    beyond = []
    with FakeOpenAIProcess(reader, latency=args.latency) as fake:
        with tempfile.TemporaryDirectory(prefix="kb-startup-") as folder:
            one_run(fake.base_url, Path(folder), args.code)  # warm-up
        for n in range(args.runs):
            before = fake.count
            with tempfile.TemporaryDirectory(prefix="kb-startup-") as folder:
                wall, cpu = one_run(fake.base_url, Path(folder), args.code)
            calls = fake.count - before
            beyond.append(wall - args.latency * calls)
            print(
                f"run {n + 1}: wall {wall:.2f} s (CPU {cpu:.2f} s), {calls} model calls × {args.latency} s, "
                f"beyond the model {beyond[-1]:.2f} s"
            )
    median = statistics.median(beyond)
    print(f"median beyond the model: {median:.2f} s (limit {LIMIT_SECONDS} s, ratio {median / LIMIT_SECONDS:.2f})")
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
