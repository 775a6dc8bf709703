"""The `kb review` commands (list the review queue, accept, reject or correct a record from the shell) and
`kb gold export`, which turns the reviewed documents into gold labels for `kb eval`.

Kept apart from pipeline.cli so the review commands (and the review page's `serve`) grow in one place; cli.py adds
the group with one line. Every command's help ends with an example, as tests/test_cli.py expects.
"""

from __future__ import annotations

import getpass
import json

import click

from pipeline.errors import KBError

DB = click.option(
    "--db",
    "db",
    default=None,
    envvar="KB_DB",
    help="SQLite file or SQLAlchemy URL (default: KB_DATABASE_URL or kb.sqlite)",
)
REVIEWER = click.option(
    "--reviewer", default=None, envvar="KB_REVIEWER", help="Who reviews (default: KB_REVIEWER, else your login name)"
)
KIND = click.argument("kind", type=click.Choice(["salary", "certification", "skill", "claim"]))
RECORD_ID = click.argument("record_id", type=int)
# The salary fields people correct most, as options of their own; any correctable field also goes by --set.
NAMED_FIELDS = {"amount_min": float, "amount_max": float, "currency": str, "period": str, "level": str}


def engine_for(db: str | None):
    """The database's engine, brought up to date (migrations and views)."""
    from db.engine import init_db, make_engine
    from pipeline.settings import Settings

    engine = make_engine(Settings.from_env().with_database(db).database_url)
    init_db(engine)
    return engine


def _reviewer(name: str | None) -> str:
    return name or getpass.getuser()


@click.group("review")
def review() -> None:
    """Review extracted records: list those needing attention, accept, reject or correct them.

    Example: kb review list --kind salary --db kb.sqlite
    """


@review.command("list")
@click.option(
    "--kind",
    type=click.Choice(["salary", "certification", "skill", "claim", "amount"]),
    default=None,
    help="Only this kind (amount: money the extraction left unaccounted or took for not pay)",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record")
@click.option("--limit", type=int, default=None, help="Most records to show")
@DB
def review_list(kind: str | None, as_json: bool, limit: int | None, db: str | None) -> None:
    """List records, those needing attention first (with why), reviewed ones last.

    Example: kb review list --kind salary --json --db kb.sqlite
    """
    from pipeline.console import print_table
    from pipeline.review import queue

    items = _run(lambda: queue(engine_for(db), kind, limit))
    if as_json:
        for item in items:
            click.echo(item.model_dump_json())
        return
    rows = [(i.kind, i.record_id, i.review_status, i.source, i.quote, "; ".join(i.reasons)) for i in items]
    print_table(["kind", "id", "status", "source", "quote", "needs attention because"], rows, width=60)


@review.command("accept")
@KIND
@RECORD_ID
@REVIEWER
@DB
def review_accept(kind: str, record_id: int, reviewer: str | None, db: str | None) -> None:
    """Mark a record right as it stands (KIND and the id column of its public view).

    Example: kb review accept salary 12 --db kb.sqlite
    """
    from pipeline.review import accept

    review_id = _run(lambda: accept(engine_for(db), kind, record_id, _reviewer(reviewer)))
    click.echo(f"review {review_id}: {kind} {record_id} accepted")


@review.command("reject")
@KIND
@RECORD_ID
@REVIEWER
@DB
def review_reject(kind: str, record_id: int, reviewer: str | None, db: str | None) -> None:
    """Mark a record wrong: it leaves its public view and the aggregates.

    Example: kb review reject salary 12 --db kb.sqlite
    """
    from pipeline.review import reject

    review_id = _run(lambda: reject(engine_for(db), kind, record_id, _reviewer(reviewer)))
    click.echo(f"review {review_id}: {kind} {record_id} rejected")


@review.command("correct")
@KIND
@RECORD_ID
@click.option("--amount-min", type=float, help="Lower bound in whole currency units")
@click.option("--amount-max", type=float, help="Upper bound in whole currency units")
@click.option("--currency", help="ISO 4217 code, e.g. USD")
@click.option("--period", help="year, month, week, day or hour")
@click.option("--level", help="intern, entry, junior, mid, senior, staff, lead, principal, executive, unspecified")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Any other correctable column of the kind's view, e.g. --set region=UK (repeatable)",
)
@REVIEWER
@DB
def review_correct(
    kind: str, record_id: int, settings: tuple[str, ...], reviewer: str | None, db: str | None, **named
) -> None:
    """Correct a record's values; the view shows them with review_status 'corrected'.

    Example: kb review correct salary 12 --amount-min 90000 --amount-max 120000 --currency GBP --period year
    """
    from pipeline.review import correct

    changes = {field: value for field, value in named.items() if value is not None} | _pairs(settings)
    review_id = _run(lambda: correct(engine_for(db), kind, record_id, changes, _reviewer(reviewer)))
    click.echo(f"review {review_id}: {kind} {record_id} corrected ({', '.join(sorted(changes))})")


@click.group("gold")
def gold() -> None:
    """Gold labels made from reviews, for `kb eval`.

    Example: kb gold export --out reviewed.json --db kb.sqlite
    """


@gold.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The gold file to write")
@DB
def gold_export(out: str, db: str | None) -> None:
    """Write every reviewed document's current records (reviews applied) as gold, rejected amounts as forbidden.

    Example: kb gold export --out reviewed.json --db kb.sqlite && kb eval --gold reviewed.json --db kb.sqlite
    """
    from pipeline.evaluate import gold_from_reviews, write_gold

    engine = engine_for(db)
    labels = _run(lambda: gold_from_reviews(engine.url.render_as_string(hide_password=False)))
    engine.dispose()
    write_gold(labels, out)
    click.echo(f"{len(labels.documents)} reviewed documents written to {out}")


@gold.command("subset")
@click.argument("gold_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", "sources", multiple=True, help="A document's `source` to keep (repeat)")
@click.option(
    "--sources-of",
    type=click.Path(exists=True, dir_okay=False),
    help="Keep the sources this gold file lists (refreshes a subset from its gold file)",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The gold file to write")
def gold_subset_command(gold_file: str, sources: tuple[str, ...], sources_of: str | None, out: str) -> None:
    """Write the named documents of a gold file, labels unchanged, as a gold file of their own (a fixed gate set).

    Example: kb gold subset fixtures/bank/gold.json --sources-of fixtures/bank/gate.json --out fixtures/bank/gate.json
    """
    from pathlib import Path

    from pipeline.evaluate import gold_sources, gold_subset

    named = list(sources) + (_run(lambda: gold_sources(sources_of)) if sources_of else [])
    if not named:
        raise click.UsageError("name the documents to keep: --source SOURCE (repeat) or --sources-of GOLD_FILE")
    subset = _run(lambda: gold_subset(gold_file, named))
    Path(out).write_text(json.dumps(subset, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"{len(subset['documents'])} documents of {gold_file} written to {out}")


def _pairs(settings: tuple[str, ...]) -> dict[str, object]:
    """FIELD=VALUE pairs; a value that reads as JSON (a number, true, null) is taken as such, else as text."""
    pairs = {}
    for setting in settings:
        field, sep, value = setting.partition("=")
        if not sep or not field:
            raise click.BadParameter(f"{setting!r} is not FIELD=VALUE", param_hint="--set")
        try:
            pairs[field.strip()] = json.loads(value)
        except ValueError:
            pairs[field.strip()] = value
    return pairs


def _run(call):
    """Call `call`, turning career-kb's errors into a clean CLI error naming what was wrong."""
    try:
        return call()
    except KBError as error:
        raise click.ClickException(error.reason) from error


@review.command("serve")
@click.option("--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1 (0: any free port)")
@REVIEWER
@DB
def review_serve(port: int, reviewer: str | None, db: str | None) -> None:
    """Serve the review page on 127.0.0.1 (no other interface): records needing attention first, each quote marked
    in its document; accept, reject or correct with the mouse or the keyboard. Ctrl-C stops it.

    Example: kb review serve --port 8765 --db kb.sqlite
    """
    from pipeline.review_web import serve

    try:
        serve(engine_for(db), _reviewer(reviewer), port, click.echo)
    except OSError as error:  # the port is taken, or not ours to bind
        raise click.ClickException(f"cannot serve the review page on 127.0.0.1:{port}: {error.strerror}") from error
