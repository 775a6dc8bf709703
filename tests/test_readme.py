"""Every SQL example in the README runs, read-only, against a knowledge base built from the demo pages; every
`kb` command in it finds `kb` when pasted after the quick start and names only options that command has."""

from __future__ import annotations

import re
import shlex

import pytest

from db.query import run_readonly
from flows.ingest import Runtime, run_sources
from tests.conftest import PAGES, ROOT


def readme_queries() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    statements = []
    for block in blocks:
        code = "\n".join(line for line in block.splitlines() if not line.strip().startswith("--"))
        statements += [part.strip() for part in code.split(";") if part.strip()]
    return statements


def test_the_readme_has_sql_examples():
    assert len(readme_queries()) >= 8


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    return tmp_path_factory.mktemp("readme") / "kb.sqlite"


@pytest.mark.parametrize("sql", readme_queries(), ids=lambda sql: " ".join(sql.split())[:60])
def test_every_readme_query_runs_and_returns_rows(sql, settings, demo_db):
    from dataclasses import replace

    url = f"sqlite:///{demo_db}"
    if not demo_db.exists():
        run_sources(
            [str(p) for p in sorted(PAGES.iterdir())], Runtime.create(replace(settings, database_url=url)), "test"
        )
    result = run_readonly(url, sql)
    assert result.columns
    if "status = 'failed'" not in sql:  # the demo run has no failures to show
        assert result.rows, sql


# --- the README's tables say what the code does -------------------------------------------------------------


def readme_table(first_header: str) -> list[list[str]]:
    """The body rows of the README table whose first column is headed `first_header`, split into cells."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_the_configuration_table_lists_exactly_the_variables_settings_reads():
    from pipeline.settings import environment_variables

    cells = " ".join(cell for row in readme_table("variable") for cell in row)
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", cells))
    assert documented == set(environment_variables())


def test_the_commands_table_lists_exactly_the_cli_commands():
    import click

    from pipeline.cli import main

    commands = set()
    for name, command in main.commands.items():
        subcommands = command.commands if isinstance(command, click.Group) else {}
        commands |= {f"{name} {sub}" for sub in subcommands} or {name}
    usages = [usage for row in readme_table("command") for usage in re.findall(r"`kb ([^`]*)`", row[0])]
    documented = {" ".join(re.match(r"[a-z ]*[a-z]", usage).group().split()) for usage in usages}
    assert documented == commands


def test_the_views_table_lists_every_view_with_its_columns():
    from db.views import VIEW_COLUMNS

    documented = {row[0].strip("`"): tuple(c.strip() for c in row[1].split(",")) for row in readme_table("view")}
    assert documented == VIEW_COLUMNS


def readme_kb_commands() -> list[tuple[bool, list[str]]]:
    """Each `kb` command in a bash block: whether `kb` is found when pasted, and the words after it."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S):
        activated = False
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            activated = activated or words[:2] == ["source", ".venv/bin/activate"]
            if "kb" in words:
                at = words.index("kb")
                via_uv = any(words[i : i + 2] == ["uv", "run"] for i in range(at))
                runnable = activated or via_uv
                commands.append((runnable, [w for w in words[at + 1 :] if w != "&"]))
    return commands


def test_the_readme_has_kb_commands():
    assert len(readme_kb_commands()) >= 5


@pytest.mark.parametrize(
    "runnable, args", readme_kb_commands(), ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else ""
)
def test_every_readme_kb_command_finds_kb_and_names_real_options(runnable, args):
    from pipeline.cli import main

    assert runnable, f"`kb {' '.join(args)}` needs `python3 -m uv run` or `source .venv/bin/activate` before it"
    command, words = main, list(args)
    while hasattr(command, "commands"):
        command = command.commands[words.pop(0)]
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    assert [w for w in words if w.startswith("--") and w not in known] == []
