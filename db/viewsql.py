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

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(column for column, _ in self.select)

    def create_sql(self) -> str:
        select_list = ",\n    ".join(f'{expression} AS "{column}"' for column, expression in self.select)
        group_by = f"\nGROUP BY {self.group_by}" if self.group_by else ""
        return f"CREATE VIEW {self.name} AS\n{self.with_}SELECT\n    {select_list}\nFROM {self.from_}{group_by}"


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
