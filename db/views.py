"""The public SQL API: views that show, per source, the latest document and its latest successful extraction.

Each view is declared once as (column, expression) pairs (`db.viewsql.View`), so `view_columns()` (used by tests,
export and the README) can never disagree with the SQL. Record kinds' views are declared with their kind in
`db.kinds`; the documents, runs, aggregate and money views are declared here. The SQL is plain enough for
SQLite, PostgreSQL and Datasette alike: no custom functions, only CTEs, joins and ROW_NUMBER().
"""

from __future__ import annotations

from sqlalchemy import Engine

from db.kinds import ensure_kinds, kinds
from db.session import write_connection
from db.viewsql import LATEST, LATEST_DOCUMENTS, SPAN, View, cols, records_of

# The aggregate views below read the same latest rows as the record views. Every aggregate row can be traced
# back to its quotes by joining on its grouping columns: v_salary_by_level to v_salary_evidence on (level, region,
# currency, period), v_salary_trend to v_salary_evidence on (level, region, currency, period, as_of_year),
# v_certification_index to v_certifications on certification, v_skill_index to v_skills on (skill, category),
# v_claim_index to v_claim_evidence on (metric, subject, region, unit). A missing region (or claim subject)
# reads 'unspecified' (like level), so those joins are plain equalities.
_PAY_GROUP = "level, region, currency, period"
_PAY = """pay AS (
    SELECT s.document_id AS document_id, s.source AS source, s.salary_id AS salary_id, s.level AS level,
        COALESCE(s.region, 'unspecified') AS region, s.currency AS currency, s.period AS period,
        s.amount_min AS amount_min, s.amount_max AS amount_max,
        COALESCE(s.amount_min, s.amount_max) AS lower_bound, COALESCE(s.amount_max, s.amount_min) AS upper_bound,
        s.as_of_year AS as_of_year, s.quote AS quote, s.char_start AS char_start, s.char_end AS char_end
    FROM v_salaries s
)"""


# A portable median: rank the bounds within each group; the middle row (odd n) or the mean of the two middle rows
# (even n) are ranks (n + 1) / 2 and (n + 2) / 2 in integer division, on SQLite and PostgreSQL alike.
def _ranked(name: str, group: str, where: str = "") -> str:
    """A CTE of the pay rows ranked by each bound within `group`, for the medians."""
    return f"""{name} AS (
    SELECT pay.*,
        ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY lower_bound, salary_id) AS lower_rank,
        ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY upper_bound, salary_id) AS upper_rank,
        COUNT(*) OVER (PARTITION BY {group}) AS n
    FROM pay{where}
)"""


_RANKED_PAY = _ranked("ranked_pay", _PAY_GROUP)
# The trend: the same medians per year the figures refer to (a record a person added may have no as_of).
_TREND_GROUP = f"{_PAY_GROUP}, as_of_year"
_RANKED_TREND = _ranked("ranked_trend", _TREND_GROUP, " WHERE as_of_year IS NOT NULL")
_CERTS = """certs AS (
    SELECT c.source AS source, c.certification AS name, c.issuer AS issuer,
        c.cost_amount AS cost_amount, c.cost_currency AS cost_currency
    FROM v_certifications c
),
cert_currency AS (SELECT name, MIN(cost_currency) AS currency FROM certs GROUP BY name)"""


# Typed claims (claims stored before claims were typed have no metric and are left out). A range's ends both count.
_CLAIM_GROUP = ("metric", "subject", "region", "unit")
_CLAIMS = """claim_facts AS (
    SELECT c.claim_id AS claim_id, c.document_id AS document_id, c.source AS source, c.metric AS metric,
        COALESCE(c.subject, 'unspecified') AS subject, COALESCE(c.region, 'unspecified') AS region,
        COALESCE(c.unit, 'unspecified') AS unit, c.value AS value, c.value_max AS value_max,
        c.as_of_year AS as_of_year, c.quote AS quote, c.char_start AS char_start, c.char_end AS char_end
    FROM v_claims c WHERE c.metric IS NOT NULL AND c.value IS NOT NULL
)"""


def _median(bound: str) -> str:
    rank = f"{bound}_rank"
    return f"AVG(CASE WHEN p.{rank} IN ((p.n + 1) / 2, (p.n + 2) / 2) THEN p.{bound}_bound END)"


_OTHER_VIEWS: tuple[View, ...] = (
    View(
        "v_documents",
        (("document_id", "d.id"),)
        + cols("d", "source", "url", "title", "author", "published", "fetched_at", "content_hash", "text"),
        "latest_documents d",
        f"WITH {LATEST_DOCUMENTS}\n",
    ),
    View(
        "v_runs",
        (("run_id", "r.id"),)
        + cols(
            "r",
            "trigger",
            "started",
            "finished",
            "status",
            "sources_seen",
            "new",
            "changed",
            "unchanged",
            "failed",
            "prompt_tokens",
            "completion_tokens",
            "llm_seconds",
        )
        + (("changes", "(SELECT COUNT(*) FROM record_changes c WHERE c.run_id = r.id)"),),
        "runs r",
    ),
    View(
        "v_attempts",
        cols(
            "a",
            "run_id",
            "source",
            "status",
            "stage",
            "error",
            "attempts",
            "prompt_tokens",
            "completion_tokens",
            "started",
            "finished",
        ),
        "attempts a",
    ),
    View(
        "v_salary_by_level",
        cols("p", "level", "region", "currency", "period")
        + (
            ("n_sources", "COUNT(DISTINCT p.source)"),
            ("n_figures", "COUNT(*)"),
            ("low", "MIN(p.lower_bound)"),
            ("median_low", _median("lower")),
            ("median_high", _median("upper")),
            ("high", "MAX(p.upper_bound)"),
        ),
        "ranked_pay p",
        f"WITH {_PAY},\n{_RANKED_PAY}\n",
        "p.level, p.region, p.currency, p.period",
    ),
    View(
        "v_salary_trend",
        cols("p", "level", "region", "currency", "period", "as_of_year")
        + (
            ("n_sources", "COUNT(DISTINCT p.source)"),
            ("n_figures", "COUNT(*)"),
            ("median_low", _median("lower")),
            ("median_high", _median("upper")),
        ),
        "ranked_trend p",
        f"WITH {_PAY},\n{_RANKED_TREND}\n",
        "p.level, p.region, p.currency, p.period, p.as_of_year",
    ),
    View(
        "v_salary_evidence",
        cols(
            "p",
            "level",
            "region",
            "currency",
            "period",
            "as_of_year",
            "salary_id",
            "document_id",
            "source",
            "amount_min",
            "amount_max",
            "quote",
            "char_start",
            "char_end",
        ),
        "pay p",
        f"WITH {_PAY}\n",
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
        f"WITH {_CERTS}\n",
        "c.name, k.currency",
    ),
    View(
        "v_skill_index",
        (
            ("skill", "s.skill"),
            ("category", "s.category"),
            ("n_sources", "COUNT(DISTINCT s.source)"),
            ("n_mentions", "COUNT(*)"),
        ),
        "v_skills s",
        "",
        "s.skill, s.category",
    ),
    View(
        "v_claim_index",
        cols("f", *_CLAIM_GROUP)
        + (
            ("n_sources", "COUNT(DISTINCT f.source)"),
            ("n_claims", "COUNT(*)"),
            ("value_low", "MIN(f.value)"),
            ("value_high", "MAX(COALESCE(f.value_max, f.value))"),
            ("latest_as_of_year", "MAX(f.as_of_year)"),
        ),
        "claim_facts f",
        f"WITH {_CLAIMS}\n",
        ", ".join(f"f.{column}" for column in _CLAIM_GROUP),
    ),
    View(
        "v_claim_evidence",
        cols("f", *_CLAIM_GROUP, "claim_id", "document_id", "source", "value", "value_max", "as_of_year")
        + cols("f", "quote", "char_start", "char_end"),
        "claim_facts f",
        f"WITH {_CLAIMS}\n",
    ),
    View(
        "v_entity_aliases",
        (("entity_id", "e.id"),)
        + cols("e", "kind")
        + (("entity", "e.name"),)
        + cols("e", "category", "issuer")
        + (("alias", "a.alias"),),
        "entities e JOIN entity_aliases a ON a.entity_id = e.id",
    ),
    View(
        "v_money",
        (("amount_id", "r.id"), ("document_id", "d.id"), ("source", "d.source"))
        + cols("r", "currency", "amount_min", "amount_max", "period", "kind", "use", "reason", "salary_id")
        + (("certification_mention_id", "r.certification_id"),)
        + SPAN,
        records_of("money_amounts"),
        LATEST,
    ),
    View(  # every record change ever recorded (pipeline.changes), not only the latest documents'
        "v_changes",
        (("change_id", "c.id"),)
        + cols(
            "c",
            "run_id",
            "source",
            "document_id",
            "kind",
            "change",
            "fields",
            "before",
            "after",
            "quote",
            "char_start",
            "char_end",
            "recorded_at",
        ),
        "record_changes c",
    ),
)


def views() -> tuple[View, ...]:
    """Every public view: documents, each registered record kind's view (reviews applied), then runs, aggregates,
    money, changes and reviews. A view comes after the views it reads."""
    return (_OTHER_VIEWS[0], *(k.public_view for k in kinds()), *_OTHER_VIEWS[1:], _reviews_view())


def _reviews_view() -> View:
    """v_reviews: every review with its record's quote, and whether it is attached to a record shown today."""
    current = "\n    UNION ALL ".join(
        f"SELECT '{k.name}' AS kind, r.id AS id FROM {records_of(k.table_name)}" for k in kinds()
    )
    current += f"\n    UNION ALL SELECT 'amount' AS kind, r.id AS id FROM {records_of('money_amounts')}"
    # a record a person added (id: minus its 'add' review's id) is there while that review's amount is
    added = "a.action = 'add' AND k.kind = 'amount' AND k.id = a.attached_id"
    return View(
        "v_reviews",
        (("review_id", "v.id"),)
        + cols("v", "kind", "action", "reviewer", "created_at", "source", "document_id", "record_id", "attached_id")
        + (
            (
                "attached",
                f"c.id IS NOT NULL OR EXISTS (SELECT 1 FROM reviews a JOIN current_records k ON {added} "
                "WHERE a.id = -v.attached_id)",
            ),
        )
        + cols("v", "quote", "char_start", "char_end", "record", "corrected"),
        "reviews v LEFT JOIN current_records c ON c.id = v.attached_id "
        "AND c.kind = CASE WHEN v.action = 'add' THEN 'amount' ELSE v.kind END",
        f"{LATEST.rstrip()},\ncurrent_records AS (\n    {current}\n)\n",
    )


def view_columns() -> dict[str, tuple[str, ...]]:
    """Each public view's columns, by view name (registered kinds' views included)."""
    return {view.name: view.columns for view in views()}


# The built-in views as the module is loaded, for tests and the README; `views()` also has kinds registered since.
VIEWS: tuple[View, ...] = views()
VIEW_COLUMNS: dict[str, tuple[str, ...]] = view_columns()
RECORD_VIEWS: dict[str, str] = {k.name: k.view.name for k in kinds()}


def ensure_views(engine: Engine) -> None:
    """Drop and recreate every view in one transaction: idempotent, and safe to run on every start.

    Registered record kinds whose table is missing get it first (with its search triggers), so their views work."""
    with write_connection(engine) as connection:
        ensure_kinds(connection)
        for view in reversed(views()):  # views read views: PostgreSQL drops none that another still reads
            connection.exec_driver_sql(f"DROP VIEW IF EXISTS {view.name}")
        for view in views():
            connection.exec_driver_sql(view.create_sql())
