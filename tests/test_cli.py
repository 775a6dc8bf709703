"""The `kb` CLI through click's CliRunner: every command documented, exit codes, read-only queries."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from tests.conftest import PAGES


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


@pytest.mark.parametrize("path, command", list(all_commands(main)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_an_example_in_its_help(path, command):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and f"kb {' '.join(path)}" in result.output


@pytest.fixture
def db(tmp_path, settings, prefect_harness):
    return str(tmp_path / "kb.sqlite")


def test_ingest_exits_non_zero_when_a_source_fails_but_stores_the_rest(db, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(PAGES / "small-salary-table.html"), str(PAGES / "missing.html"), "--db", db])
    assert result.exit_code == 1, result.output
    assert "1 ok, 1 failed" in result.output
    assert "stored: 1 documents, 3 salaries" in result.output
    query = runner.invoke(main, ["query", "select amount_min from v_salaries order by amount_min", "--db", db, "--json"])
    assert [json.loads(line)["amount_min"] for line in query.output.splitlines()] == [92000, 118000, 150000]


def test_ingest_exits_zero_when_everything_succeeded(db):
    result = CliRunner().invoke(main, ["ingest", str(PAGES / "reader-notes.txt"), "--db", db, "--quiet"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "sql",
    ["delete from documents", "insert into sources(source) values ('x')", "drop view v_salaries",
     "attach database ':memory:' as other", "pragma journal_mode=delete", "select load_extension('x')"],
)
def test_query_refuses_anything_that_writes(db, sql):
    CliRunner().invoke(main, ["ingest", str(PAGES / "reader-notes.txt"), "--db", db, "--quiet"])
    result = CliRunner().invoke(main, ["query", sql, "--db", db])
    assert result.exit_code != 0 and "refused" in result.output.lower()


def test_query_tables_truncate_long_values_but_csv_keeps_them(db):
    CliRunner().invoke(main, ["ingest", str(PAGES / "reader-notes.txt"), "--db", db, "--quiet"])
    sql = "select text from v_documents"
    table = CliRunner().invoke(main, ["query", sql, "--db", db, "--width", "20"]).output
    full = CliRunner().invoke(main, ["query", sql, "--db", db, "--csv"]).output
    assert "…" in table and len(full) > 200


def test_sources_add_list_remove(db):
    runner = CliRunner()
    assert runner.invoke(main, ["sources", "add", "https://example.org/a", "--every", "6h", "--db", db]).exit_code == 0
    assert runner.invoke(main, ["sources", "add", "https://example.org/b", "--cron", "0 6 * * *", "--db", db]).exit_code == 0
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
