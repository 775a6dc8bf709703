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
    group_by: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(column for column, _ in self.select)

    def create_sql(self) -> str:
        select_list = ",\n    ".join(f'{expression} AS "{column}"' for column, expression in self.select)
        group_by = f"\nGROUP BY {self.group_by}" if self.group_by else ""
        return f"CREATE VIEW {self.name} AS\n{self.with_}SELECT\n    {select_list}\nFROM {self.from_}{group_by}"


def _cols(prefix: str, *names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, f'{prefix}."{name}"') for name in names)


_SPAN = _cols("r", "quote", "char_start", "char_end")

# The aggregate views below read the same latest rows as the record views. Every aggregate row can be traced
# back to its quotes by joining on its grouping columns: v_salary_by_level to v_salary_evidence on (level, region,
# currency, period), v_certification_index to v_certifications on certification, v_skill_index to v_skills on
# (skill, category). A missing region reads 'unspecified' (like level), so those joins are plain equalities.
_PAY_GROUP = "level, region, currency, period"
_PAY = f"""pay AS (
    SELECT d.id AS document_id, d.source AS source, r.id AS salary_id, r.level AS level,
        COALESCE(r.region, 'unspecified') AS region, r.currency AS currency, r.period AS period,
        r.amount_min AS amount_min, r.amount_max AS amount_max,
        COALESCE(r.amount_min, r.amount_max) AS lower_bound, COALESCE(r.amount_max, r.amount_min) AS upper_bound,
        r.quote AS quote, r.char_start AS char_start, r.char_end AS char_end
    FROM {_records_of("salaries")}
)"""
# A portable median: rank the bounds within each group; the middle row (odd n) or the mean of the two middle rows
# (even n) are ranks (n + 1) / 2 and (n + 2) / 2 in integer division, on SQLite and PostgreSQL alike.
_RANKED_PAY = f"""ranked_pay AS (
    SELECT pay.*,
        ROW_NUMBER() OVER (PARTITION BY {_PAY_GROUP} ORDER BY lower_bound, salary_id) AS lower_rank,
        ROW_NUMBER() OVER (PARTITION BY {_PAY_GROUP} ORDER BY upper_bound, salary_id) AS upper_rank,
        COUNT(*) OVER (PARTITION BY {_PAY_GROUP}) AS n
    FROM pay
)"""
_ENTITY = "\nLEFT JOIN entities e ON e.id = r.entity_id"  # mentions stored before entities existed show their own name
_CERTS = f"""certs AS (
    SELECT d.source AS source, COALESCE(e.name, r.name) AS name, COALESCE(e.issuer, r.issuer) AS issuer,
        r.cost_amount AS cost_amount, r.cost_currency AS cost_currency
    FROM {_records_of("certification_mentions")}{_ENTITY}
),
cert_currency AS (SELECT name, MIN(cost_currency) AS currency FROM certs GROUP BY name)"""


def _median(bound: str) -> str:
    rank = f"{bound}_rank"
    return f"AVG(CASE WHEN p.{rank} IN ((p.n + 1) / 2, (p.n + 2) / 2) THEN p.{bound}_bound END)"


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
        (("mention_id", "r.id"), ("document_id", "d.id"), ("source", "d.source"),
         ("certification", "COALESCE(e.name, r.name)"), ("as_written", "r.name"), ("entity_id", "r.entity_id"),
         ("issuer", "COALESCE(e.issuer, r.issuer)"))
        + _cols("r", "cost_amount", "cost_currency")
        + _SPAN,
        _records_of("certification_mentions") + _ENTITY,
        _LATEST,
    ),
    View(
        "v_skills",
        (("mention_id", "r.id"), ("document_id", "d.id"), ("source", "d.source"), ("skill", "COALESCE(e.name, r.name)"),
         ("as_written", "r.name"), ("entity_id", "r.entity_id"), ("category", "COALESCE(e.category, r.category)"))
        + _SPAN,
        _records_of("skill_mentions") + _ENTITY,
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
    View(
        "v_salary_by_level",
        _cols("p", "level", "region", "currency", "period")
        + (
            ("n_sources", "COUNT(DISTINCT p.source)"),
            ("n_figures", "COUNT(*)"),
            ("low", "MIN(p.lower_bound)"),
            ("median_low", _median("lower")),
            ("median_high", _median("upper")),
            ("high", "MAX(p.upper_bound)"),
        ),
        "ranked_pay p",
        f"{_LATEST.rstrip()},\n{_PAY},\n{_RANKED_PAY}\n",
        "p.level, p.region, p.currency, p.period",
    ),
    View(
        "v_salary_evidence",
        _cols(
            "p", "level", "region", "currency", "period", "salary_id", "document_id", "source", "amount_min",
            "amount_max", "quote", "char_start", "char_end",
        ),
        "pay p",
        f"{_LATEST.rstrip()},\n{_PAY}\n",
    ),
    View(
        "v_certification_index",
        (
            ("certification", "c.name"),
            ("issuer", "MAX(c.issuer)"),
            ("n_sources", "COUNT(DISTINCT c.source)"),
            # Costs in one currency only (the alphabetically first named for that certification), never mixed.
            ("cost_low", "MIN(CASE WHEN c.cost_currency = k.currency THEN c.cost_amount END)"),
            ("cost_high", "MAX(CASE WHEN c.cost_currency = k.currency THEN c.cost_amount END)"),
            ("cost_currency", "k.currency"),
        ),
        "certs c JOIN cert_currency k ON k.name = c.name",
        f"{_LATEST.rstrip()},\n{_CERTS}\n",
        "c.name, k.currency",
    ),
    View(
        "v_skill_index",
        (
            ("skill", "COALESCE(e.name, r.name)"),
            ("category", "COALESCE(e.category, r.category)"),
            ("n_sources", "COUNT(DISTINCT d.source)"),
            ("n_mentions", "COUNT(*)"),
        ),
        _records_of("skill_mentions") + _ENTITY,
        _LATEST,
        "COALESCE(e.name, r.name), COALESCE(e.category, r.category)",
    ),
    View(
        "v_entity_aliases",
        (("entity_id", "e.id"),) + _cols("e", "kind") + (("entity", "e.name"),) + _cols("e", "category", "issuer")
        + (("alias", "a.alias"),),
        "entities e JOIN entity_aliases a ON a.entity_id = e.id",
    ),
    View(
        "v_money",
        (("amount_id", "r.id"), ("document_id", "d.id"), ("source", "d.source"))
        + _cols("r", "currency", "amount_min", "amount_max", "period", "kind", "use", "reason", "salary_id")
        + (("certification_mention_id", "r.certification_id"),)
        + _SPAN,
        _records_of("money_amounts"),
        _LATEST,
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
