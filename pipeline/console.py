"""Terminal output for the CLI: aligned tables, per-source progress, the end-of-run summary.

Progress output is career-kb's own lines only: other libraries' log records (instructor's retry errors,
trafilatura's warnings, httpx) go to a log file under the KB home, and to stderr as well with `-v`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from flows.documents import PROGRESS_LOGGER, STATUS_LOGGER  # a line per finished source; what a run is doing

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
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


@contextmanager
def library_logs(home: Path, *, verbose: bool = False) -> Iterator[Path]:
    """Until the block ends, every log record that is not career-kb's progress goes to `home`/logs/kb.log (and to
    stderr when `verbose`) instead of the terminal. Yields the log file's path."""
    path = home / "logs" / "kb.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    if verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    before = root.handlers[:], root.level
    root.handlers[:] = handlers  # replaces the console handler Prefect's logging setup puts there
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        yield path
    finally:
        for handler in handlers:
            handler.close()
        root.handlers[:], level = before
        root.setLevel(level)


class _Handler(logging.Handler):
    """Hands each record of a logger to `on_record`: one per finished source, or a status line."""

    def __init__(self, on_record):
        super().__init__()
        self.on_record = on_record

    def emit(self, record: logging.LogRecord) -> None:
        self.on_record(record)


@contextmanager
def _listening(name: str, on_record) -> Iterator[None]:
    """Call `on_record` for every INFO record of logger `name`, and only there, until the block ends."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = _Handler(on_record)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


@contextmanager
def progress_listener(total: int, *, quiet: bool = False):
    """A progress bar on a terminal, one plain line per source otherwise (logs, CI); status lines (loading the
    model, interrupted) as the bar's label or a line of their own."""
    if quiet:
        with _listening(PROGRESS_LOGGER, lambda record: None), _listening(STATUS_LOGGER, lambda record: None):
            yield
        return
    console = make_console(stderr=True)
    if sys.stderr.isatty():
        with _bar(console, total):
            yield
        return
    done = [0]

    def line(record: logging.LogRecord) -> None:
        outcome = getattr(record, "outcome", None)
        if outcome is None:
            return
        done[0] += 1
        detail = outcome.error if outcome.status == "failed" else _counts(outcome.records)
        console.print(f"[{done[0]}/{total}] {outcome.status:9} {outcome.source}  {detail}", highlight=False)

    def status(record: logging.LogRecord) -> None:
        console.print(record.getMessage(), highlight=False)

    with _listening(PROGRESS_LOGGER, line), _listening(STATUS_LOGGER, status):
        yield


@contextmanager
def _bar(console: Console, total: int) -> Iterator[None]:
    """The terminal's progress bar: its label says what the run is doing until the first source finishes."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("starting …", total=total, failed=0)
        failed = [0]

        def advance(record: logging.LogRecord) -> None:
            outcome = getattr(record, "outcome", None)
            if outcome is not None:
                failed[0] += outcome.status == "failed"
                bar.update(task, advance=1, failed=failed[0], description="ingesting")

        def status(record: logging.LogRecord) -> None:
            bar.update(task, description=record.getMessage())

        with _listening(PROGRESS_LOGGER, advance), _listening(STATUS_LOGGER, status):
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
