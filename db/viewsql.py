"""How a public view is declared: (column, expression) pairs plus FROM and CTEs, and the SQL pieces views share.

Kept apart from `db.views` (which lists the views) so that `db.kinds` can declare each record kind's view next to
its table without an import cycle. The SQL is plain enough for SQLite, PostgreSQL and Datasette alike.
"""

from __future__ import annotations

from dataclasses import dataclass

# "Latest document" = the most recent fetch of any text of that source (ties: the newest row).
LATEST_DOCUMENTS = """latest_documents AS (
    SELECT * FROM (
        SELECT d.*, ROW_NUMBER() OVER (PARTITION BY d.source ORDER BY d.fetched_at DESC, d.id DESC) AS recency
        FROM documents d
    ) ranked WHERE recency = 1
)"""
LATEST_EXTRACTIONS = """latest_extractions AS (
    SELECT * FROM (
        SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.document_id ORDER BY e.created_at DESC, e.id DESC) AS recency
        FROM extractions e WHERE e.status = 'ok'
    ) ranked WHERE recency = 1
)"""
LATEST = f"WITH {LATEST_DOCUMENTS},\n{LATEST_EXTRACTIONS}\n"
ENTITY = "\nLEFT JOIN entities e ON e.id = r.entity_id"  # mentions stored before entities existed show their own name


@dataclass(frozen=True)
class View:
    """One view: its name, its columns with the expression for each, its FROM clause and any CTEs before."""

    name: str
    select: tuple[tuple[str, str], ...]
    from_: str
    with_: str = ""
    group_by: str = ""
    where: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(column for column, _ in self.select)

    def create_sql(self) -> str:
        return f"CREATE VIEW {self.name} AS\n{self.query()}"

    def query(self) -> str:
        """The view's SELECT (with its CTEs), to run without creating the view."""
        select_list = ",\n    ".join(f'{expression} AS "{column}"' for column, expression in self.select)
        where = f"\nWHERE {self.where}" if self.where else ""
        group_by = f"\nGROUP BY {self.group_by}" if self.group_by else ""
        return f"{self.with_}SELECT\n    {select_list}\nFROM {self.from_}{where}{group_by}"


def records_of(table: str) -> str:
    """FROM clause of a record table's rows that belong to the latest extraction of the latest documents."""
    return (
        f"{table} r\n"
        "JOIN latest_extractions x ON x.id = r.extraction_id\n"
        "JOIN latest_documents d ON d.id = x.document_id"
    )


def cols(prefix: str, *names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, f'{prefix}."{name}"') for name in names)


SPAN = cols("r", "quote", "char_start", "char_end")


def record_view(name: str, table: str, id_column: str, fields: tuple[str, ...]) -> View:
    """The usual view of a record table: its id, document and source, its own `fields`, then the quote's span."""
    head = ((id_column, "r.id"), ("document_id", "d.id"), ("source", "d.source"))
    return View(name, head + cols("r", *fields) + SPAN, records_of(table), LATEST)


# The review that decides how a record shows: the latest one attached to it (pipeline.review re-attaches reviews
# when a document is extracted again, so `attached_id` always names a record of the latest extraction or none).
# An 'add' review is attached to a money amount instead, and makes a record of its own (with_added).
REVIEW_NOW = """review_now AS (
    SELECT * FROM (
        SELECT v.*, ROW_NUMBER() OVER (PARTITION BY v.kind, v.attached_id ORDER BY v.created_at DESC, v.id DESC)
            AS recency
        FROM reviews v WHERE v.attached_id IS NOT NULL AND v.action <> 'add'
    ) ranked WHERE recency = 1
)"""
# A negative id is a record a person added (see with_added): corrected, as its values are the person's.
REVIEW_STATUS = (
    "CASE WHEN rv.action = 'accept' THEN 'accepted' WHEN rv.action = 'correct' OR r.id < 0 "
    "THEN 'corrected' WHEN rv.action = 'reject' THEN 'rejected' ELSE 'unreviewed' END"
)  # 'rejected' only where rejected records are kept (the review queue's query, not the public views)
SQL_CASTS = {"FLOAT": "DOUBLE PRECISION", "INTEGER": "INTEGER", "BOOLEAN": "BOOLEAN"}  # else the text as it is


def reviewed(view: View, kind: str, corrections: dict[str, str], keep_rejected: bool = False) -> View:
    """`view` with reviews applied: rejected records left out (kept with `keep_rejected`, for the review queue),
    corrected columns (view column → SQL type name) read from the correction, and a `review_status` column."""
    rejected_out = None if keep_rejected else "(rv.action IS NULL OR rv.action <> 'reject')"
    select = tuple(
        (column, _corrected(column, expression, corrections[column]) if column in corrections else expression)
        for column, expression in view.select
    )
    return View(
        view.name,
        select + (("review_status", REVIEW_STATUS),),
        f"{view.from_}\nLEFT JOIN review_now rv ON rv.kind = '{kind}' AND rv.attached_id = r.id",
        f"{(view.with_ or 'WITH ').rstrip()}{',' if view.with_ else ''}\n{REVIEW_NOW}\n",
        view.group_by,
        " AND ".join(filter(None, (view.where, rejected_out))),
    )


def with_added(view: View, table: str, kind: str, types: dict[str, str]) -> View:
    """`view` reading its table's rows plus the records people added by marking a money amount as this kind
    (reviews with action 'add'): such a record has the amount's span, the review's values and id minus the review's.

    `types` names every column of the table the view reads besides the span (column → SQL type name)."""
    names = ", ".join(f't."{column}"' for column in types)
    values = ", ".join(_cast(f"v.corrected ->> '{column}'", sql_type) for column, sql_type in types.items())
    rows = f"""{table}_with_added AS (
    SELECT t.id, t.extraction_id, t.quote, t.char_start, t.char_end, {names} FROM {table} t
    UNION ALL
    SELECT -v.id, m.extraction_id, m.quote, m.char_start, m.char_end, {values}
    FROM reviews v JOIN money_amounts m ON m.id = v.attached_id WHERE v.action = 'add' AND v.kind = '{kind}'
)"""
    from_ = view.from_.replace(f"{table} r\n", f"{table}_with_added r\n", 1)
    return View(view.name, view.select, from_, f"{view.with_.rstrip()},\n{rows}\n", view.group_by, view.where)


def _cast(value: str, sql_type: str) -> str:
    cast = SQL_CASTS.get(sql_type.upper())
    return f"CAST({value} AS {cast})" if cast else value


def _corrected(column: str, expression: str, sql_type: str) -> str:
    value = _cast(f"rv.corrected ->> '{column}'", sql_type)
    return f"CASE WHEN rv.action = 'correct' THEN {value} ELSE {expression} END"
