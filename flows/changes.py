"""A run's record changes shown in Prefect: a table artifact on the flow run, its description the count.

The ingest flow calls `publish_changes` once at its end, so a scheduled run's page in the Prefect UI says how many
records its changed pages added, removed or changed, and lists them (see pipeline.changes).
"""

from __future__ import annotations

import json
from collections import Counter

from prefect.artifacts import create_table_artifact
from prefect.context import FlowRunContext
from sqlalchemy import Engine

from pipeline.changes import read_changes

ARTIFACT_KEY = "record-changes"  # Prefect keeps one artifact per key and flow run, with its history across runs
MAX_ROWS = 500  # a run that changed more shows the first ones; `kb changes` and v_changes have them all
_SHOWN = ("source", "kind", "change", "fields", "before", "after", "quote")


def publish_changes(engine: Engine, run_id: int) -> int:
    """How many record changes run `run_id` made; inside a Prefect flow run they also become its artifact."""
    changes = read_changes(engine, run_id=run_id)
    if FlowRunContext.get() is not None:
        create_table_artifact(
            table=[_row(c) for c in changes[:MAX_ROWS]], key=ARTIFACT_KEY, description=describe(changes, run_id)
        )
    return len(changes)


def describe(changes: list[dict], run_id: int) -> str:
    """'3 record changes in run 7: 1 added, 1 removed, 1 changed'."""
    counts = Counter(c["change"] for c in changes)
    detail = ", ".join(f"{counts[name]} {name}" for name in ("added", "removed", "changed") if counts[name])
    noun = "record change" if len(changes) == 1 else "record changes"
    return f"{len(changes)} {noun} in run {run_id}" + (f": {detail}" if detail else "")


def _row(change: dict) -> dict:
    """A change as the artifact's table shows it: before and after as JSON text."""
    return {
        name: json.dumps(change[name], ensure_ascii=False)
        if name in ("before", "after") and change[name]
        else change[name]
        for name in _SHOWN
    }
