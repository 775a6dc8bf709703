"""Export a public view as CSV, JSON Lines or Parquet: the views are the only thing that leaves the database.

Only names in `db.views.view_columns()` are accepted (registered record kinds' views too), so an export is
always the documented, stable shape.
Parquet needs pyarrow, which career-kb does not depend on; without it the export is refused with the reason.
"""

from __future__ import annotations

import csv
import json
from typing import Literal, TextIO

from db.query import run_readonly
from db.views import view_columns
from pipeline.errors import KBError

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet")


class ExportError(KBError):
    stage = "export"


def read_view(database_url: str, view: str):
    """Columns and rows of one public view (read-only); ExportError for any other name."""
    public = view_columns()
    if view not in public:
        raise ExportError(f"{view!r} is not a public view; choose one of: {', '.join(public)}")
    return run_readonly(database_url, f'SELECT * FROM "{view}"')


def write_text(columns: list[str], rows: list[tuple], fmt: Format, stream: TextIO) -> None:
    """CSV with a header row, or one JSON object per line; values are written whole, never cut."""
    if fmt == "csv":
        writer = csv.writer(stream)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False) + "\n")
    else:
        raise ExportError(f"{fmt} is not a text format")


def write_parquet(columns: list[str], rows: list[tuple], path: str) -> None:
    """One Parquet file with the view's columns; column types are inferred by pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ExportError("parquet export needs pyarrow, which is not installed; use --format csv or jsonl") from error
    table = pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in rows], schema=None)
    pq.write_table(table, path)
