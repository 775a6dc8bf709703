"""Every SQL example in the README runs, read-only, against a knowledge base built from the demo pages."""

from __future__ import annotations

import re

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
        run_sources([str(p) for p in sorted(PAGES.iterdir())], Runtime.create(replace(settings, database_url=url)), "test")
    result = run_readonly(url, sql)
    assert result.columns
    if "status = 'failed'" not in sql:  # the demo run has no failures to show
        assert result.rows, sql
