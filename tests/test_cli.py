"""The `kb` CLI through click's CliRunner: every command documented, exit codes, read-only queries."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import threading

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from tests.conftest import PAGES, ROOT


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


@pytest.mark.parametrize(
    "path, command", list(all_commands(main)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_has_an_example_in_its_help(path, command):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and f"kb {' '.join(path)}" in result.output


@pytest.mark.parametrize(
    "path, command", list(all_commands(main)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_files_named_in_option_help_are_in_the_repository(path, command):
    named = [
        name
        for param in command.params
        for name in re.findall(r"[\w.-]+/[\w./-]+\.\w+", getattr(param, "help", "") or "")
    ]
    assert [name for name in named if not (ROOT / name).exists()] == []


@pytest.fixture
def db(tmp_path, settings, prefect_harness):
    return str(tmp_path / "kb.sqlite")


def test_ingest_exits_non_zero_when_a_source_fails_but_stores_the_rest(db, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(
        main, ["ingest", str(PAGES / "small-salary-table.html"), str(PAGES / "missing.html"), "--db", db]
    )
    assert result.exit_code == 1, result.output
    assert "1 ok, 1 failed" in result.output
    assert "stored: 1 documents, 3 salaries" in result.output
    query = runner.invoke(
        main, ["query", "select amount_min from v_salaries order by amount_min", "--db", db, "--json"]
    )
    assert [json.loads(line)["amount_min"] for line in query.output.splitlines()] == [92000, 118000, 150000]


def test_ingest_exits_zero_when_everything_succeeded(db):
    result = CliRunner().invoke(main, ["ingest", str(PAGES / "reader-notes.txt"), "--db", db, "--quiet"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "sql",
    [
        "delete from documents",
        "insert into sources(source) values ('x')",
        "drop view v_salaries",
        "attach database ':memory:' as other",
        "pragma journal_mode=delete",
        "select load_extension('x')",
    ],
)
def test_query_refuses_anything_that_writes(db, sql):
    CliRunner().invoke(main, ["ingest", str(PAGES / "reader-notes.txt"), "--db", db, "--quiet"])
    result = CliRunner().invoke(main, ["query", sql, "--db", db])
    assert result.exit_code != 0 and "refused" in result.output.lower()


READS = {
    "fts match": "select count(*) as hits from search_index where search_index match 'python'",
    "table-valued pragma": "select name from pragma_table_info('documents')",
    "cte": "with t(n) as (select count(*) from v_documents) select n from t",
}


@pytest.mark.parametrize("sql", READS.values(), ids=READS.keys())
def test_query_accepts_every_read(db, sql):
    CliRunner().invoke(main, ["ingest", str(PAGES / "reader-notes.txt"), "--db", db, "--quiet"])
    result = CliRunner().invoke(main, ["query", sql, "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    assert result.output.strip()


@pytest.fixture
def plain_db(tmp_path) -> str:
    """A SQLite file that queries can read without a knowledge base in it."""
    path = tmp_path / "plain.sqlite"
    sqlite3.connect(path).close()
    return str(path)


COUNT_TO = "with recursive r(n) as (select 1 union all select n + 1 from r where n < {}) select n from r"
RUNAWAY = "with recursive r(n) as (select 1 union all select n + 1 from r) select count(*) from r"


def test_query_limit_stops_after_that_many_rows(plain_db):
    result = CliRunner().invoke(
        main, ["query", RUNAWAY.replace("count(*)", "n"), "--db", plain_db, "--csv", "--limit", "3"]
    )
    assert result.exit_code == 0 and result.output.split() == ["n", "1", "2", "3"]


def test_query_timeout_stops_a_runaway_statement(plain_db):
    result = CliRunner().invoke(main, ["query", RUNAWAY, "--db", plain_db, "--timeout", "0.3"])
    assert result.exit_code == 1 and result.output.strip() == "Error: query: timed out after 0.3 s"


def test_ctrl_c_interrupts_a_running_statement_with_exit_130(plain_db):
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        result = CliRunner().invoke(main, ["query", RUNAWAY, "--db", plain_db, "--timeout", "30"])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped kb query")
    finally:
        timer.cancel()
    assert result.exit_code == 130 and result.output.strip() == "interrupted"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_long_table_shows_its_first_rows_and_says_so(plain_db, monkeypatch):
    monkeypatch.setattr("pipeline.console.TABLE_ROWS", 5)
    result = CliRunner().invoke(main, ["query", COUNT_TO.format(50), "--db", plain_db])
    assert result.exit_code == 0
    assert "showing the first 5 rows" in result.output and " 5 " in result.output and " 6 " not in result.output


def test_csv_output_streams_every_row(plain_db, tmp_path):
    result = CliRunner().invoke(main, ["query", COUNT_TO.format(20_000), "--db", plain_db, "--csv"])
    assert result.exit_code == 0 and result.output.split()[-1] == "20000" and len(result.output.split()) == 20_001


READ_ONLY_COMMANDS = [
    ["query", "select 1"],
    ["runs"],
    ["search", "python"],
    ["export", "--view", "v_salaries"],
    ["report", "--out", "report"],
    ["sources", "list"],
    ["eval", "--gold", str(ROOT / "fixtures" / "gold.json")],
]


@pytest.mark.parametrize("args", READ_ONLY_COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_read_only_commands_refuse_a_missing_database_and_create_none(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "missing.sqlite"
    result = CliRunner().invoke(main, [*args, "--db", str(missing)])
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1 and f"no database at {missing}" in result.output
    assert not missing.exists()


def test_ingest_from_a_missing_list_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["ingest", "--from", str(tmp_path / "missing.txt"), "--db", str(tmp_path / "kb")])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "cannot read source list" in result.output


def test_ingest_from_a_list_that_is_not_utf8_is_one_line(tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_bytes(b"https://example.org/caf\xe9\n")
    result = CliRunner().invoke(main, ["ingest", "--from", str(listing), "--db", str(tmp_path / "kb")])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "not UTF-8" in result.output
    assert not (tmp_path / "kb").exists()


def test_query_tables_truncate_long_values_but_csv_keeps_them(db):
    CliRunner().invoke(main, ["ingest", str(PAGES / "reader-notes.txt"), "--db", db, "--quiet"])
    sql = "select text from v_documents"
    table = CliRunner().invoke(main, ["query", sql, "--db", db, "--width", "20"]).output
    full = CliRunner().invoke(main, ["query", sql, "--db", db, "--csv"]).output
    assert "…" in table and len(full) > 200


def test_sources_add_list_remove(db):
    runner = CliRunner()
    assert runner.invoke(main, ["sources", "add", "https://example.org/a", "--every", "6h", "--db", db]).exit_code == 0
    assert (
        runner.invoke(main, ["sources", "add", "https://example.org/b", "--cron", "0 6 * * *", "--db", db]).exit_code
        == 0
    )
    bad = runner.invoke(main, ["sources", "add", "https://example.org/c", "--cron", "not cron", "--db", db])
    assert bad.exit_code != 0 and "cron" in bad.output
    listed = runner.invoke(main, ["sources", "list", "--db", db]).output
    assert "21600" in listed and "0 6 * * *" in listed and "example.org/c" not in listed
    assert runner.invoke(main, ["sources", "remove", "https://example.org/a", "--db", db]).exit_code == 0
    assert "example.org/a" not in runner.invoke(main, ["sources", "list", "--db", db]).output
    assert runner.invoke(main, ["sources", "remove", "https://example.org/a", "--db", db]).exit_code != 0


def test_table_cells_are_text_not_markup(capsys):
    from pipeline.console import print_table

    print_table(["quote"], [("a [/] bracket and [bold]not bold[/bold]",)], width=None)
    assert "[bold]not bold[/bold]" in capsys.readouterr().out
