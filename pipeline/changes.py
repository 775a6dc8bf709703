"""What changed when a watched page changed: record-level differences between two extractions of one source.

When a run extracts a source's changed text, the save stage calls `record_changes` in the same transaction: the
records of the source's previous latest extraction are compared with the new ones, kind by kind (`db.kinds`),
and every record added, removed or changed (which fields, before and after) becomes a `record_changes` row, shown
by `v_changes`. Records are paired first when quote and fields are equal (moved text is no change), then by
quote (the fields differ), then by fields (the wording differs), then by similar quotes (both differ: "Junior
engineers earn $80,000" became "... $82,000"); the rest were removed or added. A new source records nothing:
all of its records are new, and `v_runs.new` counts it. Unchanged text is not extracted again: nothing either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher

from sqlalchemy import Connection, DateTime, Engine, Integer, String, bindparam, column, insert, select, table

from db.kinds import RecordKind, kinds
from db.models import Document, ExtractionRow, RecordChange
from db.watchlist import parse_every
from schemas.documents import utcnow

# Two quotes this alike (difflib's ratio: twice the characters in common over both lengths) are one record whose
# words changed: "Junior engineers earn $80,000 to $95,000" and "… $82,000 to $99,000" (0.96), not "SQL" and
# "PyTorch" (0.2) or "LangChain" and "LangGraph" (0.56).
SIMILAR_QUOTE = 0.8
_PREVIOUS = (  # the extraction the public views showed for this source before the new document was saved
    select(ExtractionRow.id, ExtractionRow.document_id)
    .join(Document, Document.id == ExtractionRow.document_id)
    .where(Document.source == bindparam("source"), Document.id != bindparam("document_id"))
    .where(ExtractionRow.status == "ok")
    .order_by(Document.fetched_at.desc(), Document.id.desc(), ExtractionRow.created_at.desc(), ExtractionRow.id.desc())
    .limit(1)
)
_V_CHANGES = table(
    "v_changes",
    *(column(name, Integer) for name in ("change_id", "run_id", "document_id", "char_start", "char_end")),
    *(column(name, String) for name in ("source", "kind", "change", "fields", "before", "after", "quote")),
    column("recorded_at", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class Record:
    """One stored record as the diff sees it: its own fields (quote aside) and its span of a document."""

    values: dict
    quote: str
    char_start: int
    char_end: int

    @property
    def fields(self) -> tuple:
        return tuple(self.values.values())


def record_changes(
    connection: Connection, source: str, document_id: int, extraction_id: int, run_id: int | None
) -> int:
    """Write the record changes from the source's previous latest extraction to `extraction_id` (of the new
    document `document_id`); how many. Nothing when the source had no successful extraction before."""
    previous = connection.execute(_PREVIOUS, {"source": source, "document_id": document_id}).first()
    if previous is None:
        return 0
    place = {"run_id": run_id, "source": source, "recorded_at": utcnow()}
    rows = []
    for k in kinds():
        old, new = _records(connection, k, previous.id), _records(connection, k, extraction_id)
        for change in diff(old, new):
            where = previous.document_id if change["change"] == "removed" else document_id
            rows.append({**change, **place, "kind": k.name, "document_id": where})
    if rows:
        connection.execute(insert(RecordChange), rows)
    return len(rows)


def _records(connection: Connection, k: RecordKind, extraction_id: int) -> list[Record]:
    """The kind's records of one extraction, in text order, with the fields of its model."""
    t = k.table.__table__
    names = [name for name in k.model.model_fields if name != "quote"]
    query = (
        select(t.c.quote, t.c.char_start, t.c.char_end, *(t.c[name] for name in names))
        .where(t.c.extraction_id == extraction_id)
        .order_by(t.c.char_start, t.c.id)
    )
    return [
        Record({name: row._mapping[name] for name in names}, row.quote, row.char_start, row.char_end)
        for row in connection.execute(query)
    ]


def diff(old: list[Record], new: list[Record]) -> list[dict]:
    """The changes from `old` to `new` records of one kind: dicts of change, fields, before, after and span."""
    old, new = list(old), list(new)
    _pair(old, new, lambda r: (r.quote, r.fields))  # the same record, perhaps moved: no change
    pairs = _pair(old, new, lambda r: r.quote) + _pair(old, new, lambda r: r.fields) + _pair_similar(old, new)
    changes = [_changed(before, after) for before, after in pairs]
    changes += [_whole("removed", r, before=r) for r in old] + [_whole("added", r, after=r) for r in new]
    return sorted(changes, key=lambda c: (c["char_start"], c["change"]))


def _pair(old: list[Record], new: list[Record], key: Callable[[Record], Hashable]) -> list[tuple[Record, Record]]:
    """Pairs of an old and a new record with equal keys, in text order; both are taken out of their lists."""
    pairs = []
    for after in list(new):
        before = next((r for r in old if key(r) == key(after)), None)
        if before is not None:
            old.remove(before)
            new.remove(after)
            pairs.append((before, after))
    return pairs


def _pair_similar(old: list[Record], new: list[Record]) -> list[tuple[Record, Record]]:
    """Pairs of an old and a new record whose quotes are SIMILAR_QUOTE alike or more, most alike first; both are
    taken out of their lists."""
    scored = sorted(
        ((_likeness(before.quote, after.quote), i, j) for i, before in enumerate(old) for j, after in enumerate(new)),
        reverse=True,
    )
    pairs, taken_old, taken_new = [], set(), set()
    for score, i, j in scored:
        if score >= SIMILAR_QUOTE and i not in taken_old and j not in taken_new:
            taken_old.add(i)
            taken_new.add(j)
            pairs.append((old[i], new[j]))
    old[:] = [r for i, r in enumerate(old) if i not in taken_old]
    new[:] = [r for j, r in enumerate(new) if j not in taken_new]
    return pairs


def _likeness(a: str, b: str) -> float:
    """difflib's ratio of two quotes (0: nothing in common, 1: equal), skipping the full count when its cheap upper
    bounds are already below SIMILAR_QUOTE."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR_QUOTE or matcher.quick_ratio() < SIMILAR_QUOTE:
        return 0.0
    return matcher.ratio()


def _changed(before: Record, after: Record) -> dict:
    """A paired record whose quote or fields differ: the differing ones, before and after."""
    was, now = {**before.values, "quote": before.quote}, {**after.values, "quote": after.quote}
    names = [name for name in now if now[name] != was[name]]
    return {
        "change": "changed",
        "fields": ",".join(names),
        "before": _json({n: was[n] for n in names}),
        "after": _json({n: now[n] for n in names}),
        **_span(after),
    }


def _whole(change: str, record: Record, before: Record | None = None, after: Record | None = None) -> dict:
    """An added or removed record: all of its fields on the side it is on."""
    return {
        "change": change,
        "fields": None,
        "before": before and _json(before.values),
        "after": after and _json(after.values),
        **_span(record),
    }


def _span(record: Record) -> dict:
    return {"quote": record.quote, "char_start": record.char_start, "char_end": record.char_end}


def _json(values: dict) -> str:
    return json.dumps(values, ensure_ascii=False)


def window(since: str) -> timedelta:
    """How far back `--since` reaches: '30m', '24h', '7d', '2w' (or plain seconds); ValueError naming the value."""
    try:
        return timedelta(seconds=parse_every(since))
    except ValueError:
        raise ValueError(f"{since!r}: use a number with s, m, h, d or w, e.g. 7d") from None


def read_changes(
    engine: Engine, since: timedelta | None = None, source: str | None = None, run_id: int | None = None
) -> list[dict]:
    """Rows of `v_changes`, oldest first, recorded within `since`, of one source or one run when given;
    `before`/`after` parsed back into dicts."""
    query = select(_V_CHANGES).order_by(_V_CHANGES.c.change_id)
    if since is not None:
        query = query.where(_V_CHANGES.c.recorded_at >= utcnow() - since)
    if source is not None:
        query = query.where(_V_CHANGES.c.source == source)
    if run_id is not None:
        query = query.where(_V_CHANGES.c.run_id == run_id)
    with engine.connect() as connection:
        return [_parsed(dict(row._mapping)) for row in connection.execute(query)]


def _parsed(row: dict) -> dict:
    for side in ("before", "after"):
        row[side] = json.loads(row[side]) if row[side] else None
    if isinstance(row["recorded_at"], datetime):
        row["recorded_at"] = row["recorded_at"].isoformat()
    return row


def summary_rows(changes: list[dict]) -> tuple[list[str], list[tuple]]:
    """Columns and rows of `kb changes`' table: before and after as 'field: value' lists."""
    columns = ["run_id", "recorded_at", "source", "kind", "change", "before", "after", "quote"]
    rows = [
        (
            c["run_id"],
            c["recorded_at"],
            c["source"],
            c["kind"],
            c["change"],
            _fields_text(c["before"]),
            _fields_text(c["after"]),
            c["quote"],
        )
        for c in changes
    ]
    return columns, rows


def _fields_text(values: dict | None) -> str:
    return "; ".join(f"{name}: {value}" for name, value in (values or {}).items())
