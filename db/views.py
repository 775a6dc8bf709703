"""The public SQL API: views that show, per source, the latest document and its latest successful extraction.

Each view is declared once here as (column, expression) pairs, so `VIEW_COLUMNS` (used by tests and the
README) can never disagree with the SQL. The SQL is plain enough for SQLite, PostgreSQL and Datasette alike:
no custom functions, only CTEs, joins and ROW_NUMBER().
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from db.session import write_connection

# "Latest document" = the most recent fetch of any text of that source (ties: the newest row).
_LATEST_DOCUMENTS = """latest_documents AS (
    SELECT * FROM (
        SELECT d.*, ROW_NUMBER() OVER (PARTITION BY d.source ORDER BY d.fetched_at DESC, d.id DESC) AS recency
        FROM documents d
    ) ranked WHERE recency = 1
)"""
_LATEST_EXTRACTIONS = """latest_extractions AS (
    SELECT * FROM (
        SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.document_id ORDER BY e.created_at DESC, e.id DESC) AS recency
        FROM extractions e WHERE e.status = 'ok'
    ) ranked WHERE recency = 1
)"""
_LATEST = f"WITH {_LATEST_DOCUMENTS},\n{_LATEST_EXTRACTIONS}\n"


def _records_of(table: str) -> str:
    return (
        f"{table} r\n"
        "JOIN latest_extractions x ON x.id = r.extraction_id\n"
        "JOIN latest_documents d ON d.id = x.document_id"
    )


@dataclass(frozen=True)
class View:
    """One view: its name, its columns with the expression for each, its FROM clause and any CTEs before."""

    name: str
    select: tuple[tuple[str, str], ...]
    from_: str
    with_: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(column for column, _ in self.select)

    def create_sql(self) -> str:
        select_list = ",\n    ".join(f'{expression} AS "{column}"' for column, expression in self.select)
        return f"CREATE VIEW {self.name} AS\n{self.with_}SELECT\n    {select_list}\nFROM {self.from_}"


def _cols(prefix: str, *names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, f'{prefix}."{name}"') for name in names)


_SPAN = _cols("r", "quote", "char_start", "char_end")

VIEWS: tuple[View, ...] = (
    View(
        "v_documents",
        (("document_id", "d.id"),)
        + _cols("d", "source", "url", "title", "author", "published", "fetched_at", "content_hash", "text"),
        "latest_documents d",
        f"WITH {_LATEST_DOCUMENTS}\n",
    ),
    View(
        "v_salaries",
        (("salary_id", "r.id"), ("document_id", "d.id"), ("source", "d.source"))
        + _cols(
            "r", "role", "level", "years_min", "years_max", "region", "employer", "currency", "period",
            "amount_min", "amount_max", "open_ended", "pay_basis",
        )
        + _SPAN,
        _records_of("salaries"),
        _LATEST,
    ),
    View(
        "v_certifications",
        (("mention_id", "r.id"), ("document_id", "d.id"), ("source", "d.source"), ("certification", "r.name"))
        + _cols("r", "issuer", "cost_amount", "cost_currency")
        + _SPAN,
        _records_of("certification_mentions"),
        _LATEST,
    ),
    View(
        "v_skills",
        (("mention_id", "r.id"), ("document_id", "d.id"), ("source", "d.source"), ("skill", "r.name"))
        + _cols("r", "category")
        + _SPAN,
        _records_of("skill_mentions"),
        _LATEST,
    ),
    View(
        "v_claims",
        (("claim_id", "r.id"), ("document_id", "d.id"), ("source", "d.source")) + _cols("r", "statement") + _SPAN,
        _records_of("claims"),
        _LATEST,
    ),
    View(
        "v_runs",
        (("run_id", "r.id"),)
        + _cols(
            "r", "trigger", "started", "finished", "status", "sources_seen", "new", "changed", "unchanged",
            "failed", "prompt_tokens", "completion_tokens", "llm_seconds",
        ),
        "runs r",
    ),
    View(
        "v_attempts",
        _cols(
            "a", "run_id", "source", "status", "stage", "error", "attempts", "prompt_tokens", "completion_tokens",
            "started", "finished",
        ),
        "attempts a",
    ),
)

VIEW_COLUMNS: dict[str, tuple[str, ...]] = {view.name: view.columns for view in VIEWS}
RECORD_VIEWS: dict[str, str] = {
    "salary": "v_salaries",
    "skill": "v_skills",
    "certification": "v_certifications",
    "claim": "v_claims",
}


def ensure_views(engine: Engine) -> None:
    """Drop and recreate every view in one transaction: idempotent, and safe to run on every start."""
    with write_connection(engine) as connection:
        for view in VIEWS:
            connection.exec_driver_sql(f"DROP VIEW IF EXISTS {view.name}")
            connection.exec_driver_sql(view.create_sql())
