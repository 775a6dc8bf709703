"""`kb export`: a public view, whole, as CSV or JSON Lines (stdout or a file); anything but a view is refused."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner

from db.engine import init_db, make_engine
from pipeline.cli import main
from pipeline.save import save
from tests.test_views_aggregate import RECORDS, T0, V1, article, extraction


@pytest.fixture
def db(tmp_path) -> str:
    path = tmp_path / "kb.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    for offset, source in enumerate(RECORDS):
        save(engine, article(source, T0 + timedelta(minutes=offset)), extraction(source), V1)
    engine.dispose()
    return str(path)


def export(*args: str):
    return CliRunner().invoke(main, ["export", *args])


def test_csv_to_stdout_has_the_view_columns_and_whole_values(db):
    result = export("--view", "v_documents", "--db", db)
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    assert header[:3] == ["document_id", "source", "url"]
    assert sorted(len(row[-1]) for row in rows) == sorted(len(t) for t in (article(s, T0).text for s in RECORDS))


def test_jsonl_to_a_file(db, tmp_path):
    out = tmp_path / "out" / "skills.jsonl"
    out.parent.mkdir()
    result = export("--view", "v_skill_index", "--format", "jsonl", "--out", str(out), "--db", db)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {(r["skill"], r["n_mentions"]) for r in lines} == {("Python", 3), ("PyTorch", 1)}
    assert "2 rows of v_skill_index written" in result.stderr


@pytest.mark.parametrize("view", ["documents", "sqlite_master", "v_salaries; drop table documents", "search_index"])
def test_only_public_views_are_exported(db, view):
    result = export("--view", view, "--db", db)
    assert result.exit_code != 0 and "is not a public view" in result.output


def test_parquet_without_pyarrow_is_refused_with_the_reason(db, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    out = tmp_path / "s.parquet"
    result = export("--view", "v_salaries", "--format", "parquet", "--out", str(out), "--db", db)
    assert result.exit_code != 0 and "needs pyarrow" in result.output and not out.exists()


def test_parquet_writes_a_file_when_pyarrow_is_installed(db, tmp_path):
    parquet = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "s.parquet"
    assert export("--view", "v_salaries", "--format", "parquet", "--out", str(out), "--db", db).exit_code == 0
    assert parquet.read_table(out).num_rows == 8


def test_parquet_needs_an_output_file(db):
    result = export("--view", "v_salaries", "--format", "parquet", "--db", db)
    assert result.exit_code != 0 and "--out" in result.output
