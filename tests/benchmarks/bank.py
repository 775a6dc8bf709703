"""Run the figure bank (fixtures/bank, issue 15) through `kb eval --ingest` on a new database and print its
figures per kind of page, as a table.

    python3 -m uv run --locked --extra local --extra dask python -m tests.benchmarks.bank [--gate] [--all-pay] [--db F]

Default: the whole bank (gold.json) with the embedded model (some 260 output tokens a page; 70 minutes for the
182 pages on this 2-core machine, 2026-12-07; with `--db`, a run on the database of an unfinished one goes
on where it stopped; KB_HOME holds the joined model). `--gate` runs the CI gate's pages
(gate.json) instead. `--all-pay` answers every figure "pay" from a fake model on 127.0.0.1 (a few seconds a
page): what the deterministic rules alone keep out of pay and the recall the scanners leave for a perfect
model, the floor under any model's precision."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import main as kb
from tests.fakes.openai_server import FakeOpenAI, tool_call_reply
from tests.fakes.reader import answer, tool_name

BANK = Path(__file__).resolve().parents[2] / "fixtures" / "bank"


def every_figure_pay(request: dict):
    """The fake reader's answer with every tagged figure read as pay."""
    args = answer(request)
    for reading in args.get("figures", {}).values():
        reading["kind"] = "pay"
    return tool_call_reply(tool_name(request), args)


def run_eval(gold: Path, env: dict[str, str], db: Path | None = None) -> int:
    """`kb eval --ingest` on `db` (else a new database); prints its report (the per-kind table included) and
    wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        database = db or Path(tmp) / "bank.sqlite"
        args = ["eval", "--gold", str(gold), "--ingest", "--db", str(database), "--json", f"{tmp}/bank.json"]
        started = time.perf_counter()
        result = CliRunner(env=env).invoke(kb, args, catch_exceptions=False)
        print(result.output)
        print(f"{gold.name}: {time.perf_counter() - started:.0f} s wall time")
        return result.exit_code


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gate", action="store_true", help="the CI gate's pages (gate.json), not the whole bank")
    parser.add_argument("--all-pay", action="store_true", help="a fake model that reads every figure as pay")
    parser.add_argument(
        "--db", type=Path, help="keep the database here: a run on the database of an unfinished one goes on from there"
    )
    options = parser.parse_args(argv)
    gold = BANK / ("gate.json" if options.gate else "gold.json")
    if not options.all_pay:
        return run_eval(gold, {}, options.db)
    with FakeOpenAI(every_figure_pay) as fake:
        env = {"KB_LLM_BASE_URL": fake.base_url, "KB_LLM_API_KEY": "unused", "KB_LLM_MODEL": "every-figure-pay"}
        return run_eval(gold, env, options.db)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
