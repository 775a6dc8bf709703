"""The `kb` command line: thin commands over the same functions the flows use.

Every command's help ends with an example; `tests/test_cli.py` checks that none is missing.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice

import click

# Prefect reads these when it is imported: keep it offline and give its temporary server time to start.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_UI_ENABLED", "false")

from pipeline.errors import KBError  # noqa: E402
from pipeline.settings import Settings  # noqa: E402

DB_OPTION = click.option(
    "--db",
    "db",
    default=None,
    envvar="KB_DB",
    help="SQLite file or SQLAlchemy URL (default: KB_DATABASE_URL or kb.sqlite)",
)


def _settings(db: str | None) -> Settings:
    return Settings.from_env().with_database(db)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="career-kb")
def main() -> None:
    """career-kb: articles about AI-engineering careers in, a grounded SQL knowledge base out.

    Example: kb ingest fixtures/pages --db kb.sqlite
    """
    from pipeline.vocab import vocabulary

    try:
        vocabulary()  # checked before any work, so a bad vocabulary entry is one clear message
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--from", "from_file", type=click.Path(dir_okay=False), help="File of URLs/paths, one per line")
@DB_OPTION
@click.option("--quiet", is_flag=True, help="Only the final summary")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also show other libraries' log lines (always kept in kb.log, in the logs folder of KB_HOME)",
)
@click.option(
    "--task-runner",
    type=click.Choice(["threads", "dask"]),
    default="threads",
    show_default=True,
    help="Where documents run: threads of this process, or a Dask cluster (needs the `dask` extra)",
)
@click.option("--dask-address", default=None, help="Scheduler of an existing Dask cluster (default: a local one)")
def ingest(
    sources: tuple[str, ...],
    from_file: str | None,
    db: str | None,
    quiet: bool,
    verbose: bool,
    task_runner: str,
    dask_address: str | None,
) -> None:
    """Ingest files, folders and URLs (a one-off backfill run of the ingest flow).

    Exits 0 when every source succeeded, 1 when any failed (after storing the rest), 130 when stopped by Ctrl-C
    (the documents in flight are finished first). The run shows in Prefect when PREFECT_API_URL is set (e.g. to
    a running `kb server`); otherwise no Prefect server is started.

    Example: kb ingest fixtures/pages https://example.org/post notes.md --db kb.sqlite

    Example: kb ingest --from urls.txt --task-runner dask --dask-address tcp://10.0.0.5:8786 --db postgresql://kb@db/kb
    """
    if dask_address and task_runner != "dask":
        raise click.UsageError("--dask-address needs --task-runner dask")
    from pipeline.console import library_logs, print_summary, progress_listener
    from pipeline.sources import expand_sources

    try:
        expanded = expand_sources(sources, from_file)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    if not expanded:
        raise click.UsageError("no sources given: pass files, folders or URLs, or --from FILE")
    settings = _settings(db)
    with library_logs(settings.home, verbose=verbose), progress_listener(len(expanded), quiet=quiet):
        summary = _run_flow(expanded, settings, task_runner, dask_address)
    if summary.interrupted:
        click.echo(
            f"interrupted: run {summary.run_id} stopped after {len(summary.outcomes)} of {len(expanded)} sources "
            f"({len(summary.failed)} failed); the rest were not started, a new run picks them up",
            err=True,
        )
        sys.exit(130)
    print_summary(summary, settings)
    sys.exit(1 if summary.failed else 0)


def _run_flow(sources: list[str], settings: Settings, task_runner: str = "threads", dask_address: str | None = None):
    """The backfill run: through the Prefect flow when PREFECT_API_URL names a server (the run shows there),
    else directly, importing no Prefect and starting no temporary Prefect server (15-20 s, and a process that
    could outlive a killed run)."""
    try:
        if not os.environ.get("PREFECT_API_URL"):
            from flows.run import backfill

            return backfill(sources, settings, task_runner, dask_address)
        from flows.ingest import flow_for

        click.echo(f"connecting to Prefect at {os.environ['PREFECT_API_URL']} …", err=True)
        return flow_for(task_runner, dask_address)(sources, database_url=settings.database_url, trigger="backfill")
    except ImportError as exc:
        raise click.ClickException("--task-runner dask needs the `dask` extra (uv run --extra dask ...)") from exc


@main.command()
@click.argument("sql")
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row")
@click.option("--width", default=60, show_default=True, help="Truncate table cells to this many characters")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Stop after this many rows")
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=None, help="Give up after this many seconds"
)
def query(
    sql: str, db: str | None, as_json: bool, as_csv: bool, width: int, limit: int | None, timeout: float | None
) -> None:
    """Run one read-only SQL statement against the knowledge base (writes are refused).

    Rows are written as they are read, so any result size is fine with --csv or --json; a table shows the
    first rows only. Ctrl-C stops a running statement.

    Example: kb query "select level, amount_min, amount_max, currency, period, quote from v_salaries" --db kb.sqlite
    """
    from db.query import QueryInterrupted, Stop, open_readonly

    stop = Stop(timeout)
    try:
        with _ctrl_c_cancels(stop), open_readonly(_settings(db).database_url, sql, stop=stop) as stream:
            rows = stream.rows if limit is None else islice(stream.rows, limit)
            _write_rows(stream.columns, rows, "jsonl" if as_json else "csv" if as_csv else "table", width)
    except (QueryInterrupted, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        sys.exit(130)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def _ctrl_c_cancels(stop) -> Iterator[None]:
    """While the block runs, Ctrl-C also cancels `stop`: SQLite swallows a KeyboardInterrupt raised while it
    runs a statement, and the cancelled Stop is what ends that statement."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(_signum, _frame):
        stop.cancel()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _write_rows(columns: list[str], rows: Iterator[tuple], fmt: str, width: int) -> None:
    """Rows to stdout as they come (CSV, JSON Lines), or the first TABLE_ROWS of them as a table."""
    from pipeline.console import TABLE_ROWS, print_table
    from pipeline.export import write_text

    if fmt != "table":
        write_text(columns, rows, fmt, sys.stdout)
        return
    shown = list(islice(rows, TABLE_ROWS + 1))
    print_table(columns, shown[:TABLE_ROWS], width=width)
    if len(shown) > TABLE_ROWS:
        click.echo(f"showing the first {TABLE_ROWS} rows: use --limit, --csv or --json for more", err=True)


@main.command()
@DB_OPTION
@click.option("--limit", default=10, show_default=True)
def runs(db: str | None, limit: int) -> None:
    """Show recent runs from the ledger (trigger, status, counts, tokens).

    Example: kb runs --db kb.sqlite --limit 5
    """
    from db.query import run_readonly
    from pipeline.console import print_table

    sql = (
        "select run_id, trigger, status, started, finished, sources_seen, new, changed, unchanged, failed, "
        f"prompt_tokens, completion_tokens, llm_seconds from v_runs order by run_id desc limit {int(limit)}"
    )
    result = run_readonly(_existing_database(db), sql)
    print_table(result.columns, result.rows)


@main.group()
def sources() -> None:
    """Manage the watch list that scheduled runs ingest.

    Example: kb sources add https://example.org/salaries --every 1d
    """


@sources.command("add")
@click.argument("source")
@click.option("--every", default=None, help="Interval like 30m, 6h, 1d")
@click.option("--cron", default=None, help='Cron schedule like "0 6 * * *"')
@DB_OPTION
def sources_add(source: str, every: str | None, cron: str | None, db: str | None) -> None:
    """Add (or update) a watched source with its schedule.

    Example: kb sources add https://example.org/ai-salaries --cron "0 6 * * *" --db kb.sqlite
    """
    from db.watchlist import add_source

    try:
        add_source(_engine(db), source, every=every, cron=cron)
    except (KBError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"watching {source}")


@sources.command("list")
@DB_OPTION
def sources_list(db: str | None) -> None:
    """List watched sources and their schedules.

    Example: kb sources list --db kb.sqlite
    """
    from db.watchlist import list_sources
    from pipeline.console import print_table

    _existing_database(db)
    rows = [(s.source, s.every_seconds, s.cron, s.added_at) for s in list_sources(_engine(db))]
    print_table(["source", "every_seconds", "cron", "added_at"], rows)


@sources.command("remove")
@click.argument("source")
@DB_OPTION
def sources_remove(source: str, db: str | None) -> None:
    """Stop watching a source (its documents and records are kept).

    Example: kb sources remove https://example.org/ai-salaries --db kb.sqlite
    """
    from db.watchlist import remove_source

    if not remove_source(_engine(db), source):
        raise click.ClickException(f"not watched: {source}")
    click.echo(f"removed {source}")


@main.command()
@DB_OPTION
def serve(db: str | None) -> None:
    """Register the scheduled deployments for the watch list and serve them (needs a Prefect server).

    Says when each run starts and finishes (with its counts); SIGTERM or Ctrl-C stops it.

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api kb serve --db kb.sqlite
    """
    from datetime import datetime

    from flows.schedule import serve_watch_list

    try:
        serve_watch_list(_settings(db), say=lambda line: click.echo(f"{datetime.now():%Y-%m-%d %H:%M:%S} {line}"))
    except KBError as exc:
        raise click.ClickException(exc.reason) from exc


@main.command()
@click.option("--port", default=4200, show_default=True)
def server(port: int) -> None:
    """Start a local Prefect server on 127.0.0.1 (schedules need one); analytics off.

    Example: kb server --port 4200
    """
    os.execvp(
        sys.executable,
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
    )


@main.command("eval")
@click.option(
    "--gold",
    "gold_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Gold labels: JSON with documents[].source and their salaries (the Gold model in pipeline/evaluate.py)",
)
@DB_OPTION
@click.option("--ingest", is_flag=True, help="Ingest the gold's sources first (a backfill run, no Prefect server)")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write every figure to this file")
@click.option("--min-salary-f1", type=float, help="Floor for salary F1 (0..1)")
@click.option("--max-forbidden", type=int, help="Most forbidden hits allowed")
@click.option("--min-grounding", type=float, help="Floor for the grounding rate (0..1)")
@click.option("--min-agreement", type=float, help="Floor for value↔quote agreement (0..1)")
@click.option("--min-cert-recall", type=float, help="Floor for certification recall (0..1)")
@click.option("--min-claim-recall", type=float, help="Floor for claim figure recall (0..1)")
@click.option("--min-metric-accuracy", type=float, help="Floor for the metric accuracy of found claims (0..1)")
@click.option("--min-as-of", type=float, help="Floor for as_of accuracy over matched salaries the gold dates (0..1)")
@click.option(
    "--min-claim-years", type=float, help="Floor for the years accuracy of found claims the gold dates (0..1)"
)
@click.option("--min-claim-as-of", type=float, help="Floor for as_of accuracy over found claims the gold dates (0..1)")
@click.option("--max-unaccounted", type=int, help="Most money amounts allowed without an account")
def eval_command(gold_file: str, db: str | None, ingest: bool, json_out: str | None, **floors) -> None:
    """Score the knowledge base against gold labels; exit 1 when a floor given here is not met.

    Example: kb eval --gold ../shared/gold/dev.json --db kb.sqlite --min-salary-f1 0.8 --max-forbidden 0
    """
    from pathlib import Path

    from pipeline.evaluate import Floors, check_floors, evaluate, load_gold, print_report

    settings = _settings(db)
    try:
        gold = load_gold(gold_file)
        if ingest:
            from flows.run import backfill

            for outcome in backfill(gold.sources(), settings).failed:
                click.echo(f"ingest failed: {outcome.source} ({outcome.stage}: {outcome.error})", err=True)
        else:
            _existing_database(db)
        report = evaluate(gold, settings.database_url, gold_file)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    print_report(report)
    if json_out:
        Path(json_out).write_text(report.model_dump_json(indent=2), encoding="utf-8")
    failures = check_floors(report.overall, Floors(**floors))
    for failure in failures:
        click.echo(f"floor not met: {failure}", err=True)
    sys.exit(1 if failures else 0)


@main.command("search")
@click.argument("words")
@DB_OPTION
@click.option("--limit", default=10, show_default=True, help="Most documents to show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit")
def search_command(words: str, db: str | None, limit: int, as_json: bool) -> None:
    """Full-text search over document texts, quotes and claims: ranked hits with a snippet and what matched.

    Every word must match (stemmed: "databases" finds "database").

    Example: kb search "vector databases" --db kb.sqlite --limit 5
    """
    from pipeline.console import make_console
    from pipeline.search import print_hits, search

    database_url = _existing_database(db)
    try:
        _engine(db).dispose()  # a database made before the search index gets it here (migration m003_search)
        hits = search(database_url, words, limit=limit)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        for hit in hits:
            click.echo(hit.model_dump_json())
    else:
        print_hits(hits, make_console())


@main.command("export")
@click.option("--view", required=True, help="A public view, e.g. v_salaries (see README: The public SQL API)")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "parquet"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file (default: stdout; parquet needs it)")
@DB_OPTION
def export_command(view: str, fmt: str, out: str | None, db: str | None) -> None:
    """Export one public view as CSV, JSON Lines or Parquet (Parquet only when pyarrow is installed).

    Example: kb export --view v_salaries --format csv --out salaries.csv --db kb.sqlite
    """
    from pipeline.export import read_view, write_parquet, write_text

    database_url = _existing_database(db)
    try:
        result = read_view(database_url, view)
        if fmt == "parquet":
            if not out:
                raise click.UsageError("parquet is binary: give --out FILE")
            write_parquet(result.columns, result.rows, out)
        elif out:
            with open(out, "w", newline="", encoding="utf-8") as stream:
                write_text(result.columns, result.rows, fmt, stream)
        else:
            write_text(result.columns, result.rows, fmt, sys.stdout)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    if out:
        click.echo(f"{len(result.rows)} rows of {view} written to {out}", err=True)


def _existing_database(db: str | None) -> str:
    """The database URL, brought up to date, refusing a SQLite path that does not exist (reading commands must
    not create one)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database_url = _settings(db).database_url
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).expanduser().is_file()):
        raise click.ClickException(f"no database at {url.database}; run kb ingest first")
    _engine(db).dispose()  # a database made by an older version gets its newer views and indexes first
    return database_url


@main.command("report")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for index.html and docs/")
@DB_OPTION
def report_command(out: str, db: str | None) -> None:
    """Write a static HTML report: documents, salary chart, indexes, and each text with its quotes highlighted.

    Example: kb report --out report/ --db kb.sqlite
    """
    from pipeline.report import write_report

    try:
        written = write_report(_existing_database(db), out)
    except KBError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(written)} pages written; open {written[0]}")


def _engine(db: str | None):
    from db.engine import init_db, make_engine

    engine = make_engine(_settings(db).database_url)
    init_db(engine)
    return engine


@main.command("changes")
@click.option("--since", default=None, help="Only changes recorded this recently: 30m, 24h, 7d, 2w")
@click.option("--source", default=None, help="Only this source (URL or path as given)")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per change")
@DB_OPTION
def changes_command(since: str | None, source: str | None, as_json: bool, db: str | None) -> None:
    """What changed, record by record, when runs extracted pages whose text had changed: added, removed, changed.

    Example: kb changes --since 7d --source https://example.org/ai-salaries --db kb.sqlite
    """
    from db.engine import make_engine
    from pipeline.changes import read_changes, summary_rows, window
    from pipeline.console import print_table

    try:
        recent = window(since) if since is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    engine = make_engine(_existing_database(db))
    found = read_changes(engine, since=recent, source=source)
    engine.dispose()
    if as_json:
        for change in found:
            click.echo(json.dumps(change, ensure_ascii=False))
    else:
        print_table(*summary_rows(found))


from pipeline.review_cli import gold, review  # noqa: E402  (the review commands live in their own module)

main.add_command(review)
main.add_command(gold)

if __name__ == "__main__":
    logging.basicConfig()
    main()
