"""Terminal output for the CLI: aligned tables, per-source progress, the end-of-run summary."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from flows.documents import PROGRESS_LOGGER  # the flows log one line per finished source there

TABLE_ROWS = 1000  # a table is built whole before it is printed: longer results go out as CSV or JSON
SAMPLE_SQL = (
    "select level, amount_min, amount_max, currency, period, substr(quote, 1, 70) as quote "
    "from v_salaries order by source, char_start limit 5"
)


def make_console(stderr: bool = False) -> Console:
    """A console that does not fold tables to 80 columns when writing to a log or a pipe."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(soft_wrap=True, stderr=stderr, width=None if stream.isatty() else 160)


def _cell(value, width: int | None) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    if width and len(text) > width:
        return text[: width - 1] + "…"
    return text


def print_table(columns, rows, *, width: int | None = 60, title: str | None = None, console=None) -> None:
    """Rows as an aligned table; long cells are cut to `width` (machine formats are never cut)."""
    console = console or make_console()
    table = Table(title=title, show_lines=False, header_style="bold")
    for name in columns:
        table.add_column(str(name), overflow="fold")
    for row in rows:
        table.add_row(*(Text(_cell(v, width)) for v in row))  # data is text, never rich markup
    console.print(table)


class _ProgressHandler(logging.Handler):
    """Receives one log record per finished source from the flow and advances the display."""

    def __init__(self, on_outcome):
        super().__init__()
        self.on_outcome = on_outcome

    def emit(self, record: logging.LogRecord) -> None:
        outcome = getattr(record, "outcome", None)
        if outcome is not None:
            self.on_outcome(outcome)


@contextmanager
def _listening(logger: logging.Logger, on_outcome):
    """Call `on_outcome` for every finished source the flow logs, until the block ends."""
    handler = _ProgressHandler(on_outcome)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


@contextmanager
def progress_listener(total: int, *, quiet: bool = False):
    """A progress bar on a terminal, one plain line per source otherwise (logs, CI)."""
    logger = logging.getLogger(PROGRESS_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if quiet:
        yield
        return
    console = make_console(stderr=True)
    if sys.stderr.isatty():
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("ingesting", total=total, failed=0)
            failed = [0]

            def advance(outcome):
                failed[0] += outcome.status == "failed"
                bar.update(task, advance=1, failed=failed[0])

            with _listening(logger, advance):
                yield
        return
    done = [0]

    def line(outcome):
        done[0] += 1
        detail = outcome.error if outcome.status == "failed" else _counts(outcome.records)
        console.print(f"[{done[0]}/{total}] {outcome.status:9} {outcome.source}  {detail}", highlight=False)

    with _listening(logger, line):
        yield


def _counts(records: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in records.items())


def print_summary(summary, settings, console=None) -> None:
    """The end of a backfill: one row per source, totals, and a few of the stored salary rows."""
    from db.query import run_readonly

    console = console or make_console()
    rows = [
        (o.status, o.source, o.stage or "", o.error or _counts(o.records), o.prompt_tokens + o.completion_tokens)
        for o in summary.outcomes
    ]
    print_table(["status", "source", "stage", "records / reason", "tokens"], rows, width=70, console=console)
    counts = run_readonly(
        settings.database_url,
        "select (select count(*) from v_documents), (select count(*) from v_salaries), "
        "(select count(*) from v_skills), (select count(*) from v_certifications), (select count(*) from v_claims)",
    ).rows[0]
    console.print(
        f"stored: {counts[0]} documents, {counts[1]} salaries, {counts[2]} skills, {counts[3]} certifications, "
        f"{counts[4]} claims in {settings.database_url}",
        highlight=False,
    )
    sample = run_readonly(settings.database_url, SAMPLE_SQL)
    if sample.rows:
        print_table(sample.columns, sample.rows, width=70, title="a few salaries", console=console)
    ok = sum(o.status != "failed" for o in summary.outcomes)
    console.print(
        f"run {summary.run_id}: {ok} ok, {len(summary.failed)} failed of {len(summary.outcomes)} sources "
        f"in {summary.seconds:.1f}s",
        highlight=False,
    )
