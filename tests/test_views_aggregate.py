"""The aggregate views (salary by level, certification and skill indexes) and their way back to the quotes.

The database is built with `pipeline.save.save` from hand-made grounded records, so every expected median is
known. Runs on SQLite; set KB_TEST_POSTGRES_URL (a scratch database: its public schema is dropped) for PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from db import kinds as registry
from db.engine import init_db
from db.views import VIEW_COLUMNS
from pipeline.save import ExtractorVersion, save
from schemas.documents import Article, ExtractionStats, Grounded, GroundedExtraction, Provenance

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
V1 = ExtractorVersion(schema_hash="s1", prompt_version="p1", model="test-model")
A, B = "https://a.example/pay", "notes/pay.md"
TEXT_A = (
    "Senior AI engineers in the US earn $180,000 to $250,000 a year. Mid-level engineers in the US earn "
    "$120,000 to $150,000. In London a senior engineer gets £80,000 to £100,000. Python first, then Python again. "
    "The AWS Certified Machine Learning Specialty exam costs $300."
)
TEXT_B = (
    "Senior pay in the US runs from $200,000 to $300,000. A senior ML engineer in the US makes $160,000+. "
    "Some senior roles in the US pay up to $400,000. UK seniors: £90,000, or £70,000 to £95,000. "
    "Learn Python and PyTorch. The AWS Certified Machine Learning Specialty costs $150 with a voucher. "
    "Also the Google Cloud Professional ML Engineer."
)
SENIOR_US = dict(role="AI engineer", level="senior", region="US", currency="USD")
SENIOR_UK = dict(role="AI engineer", level="senior", currency="GBP")  # no region: reads 'unspecified'
AWS = "AWS Certified Machine Learning Specialty"
AWS_ENTITY = "AWS Certified Machine Learning – Specialty"  # the canonical name both mentions resolve to
RECORDS = {
    A: [
        ("salary", dict(SENIOR_US, amount_min=180000, amount_max=250000, quote="$180,000 to $250,000")),
        ("salary", dict(SENIOR_US, level="mid", amount_min=120000, amount_max=150000, quote="$120,000 to $150,000")),
        ("salary", dict(SENIOR_UK, amount_min=80000, amount_max=100000, quote="£80,000 to £100,000")),
        ("skill", dict(name="Python", category="language", quote="Python first")),
        ("skill", dict(name="Python", category="language", quote="Python again")),
        (
            "certification",
            dict(name=AWS, issuer="AWS", cost_amount=300, cost_currency="USD", quote=f"{AWS} exam costs $300"),
        ),
    ],
    B: [
        ("salary", dict(SENIOR_US, amount_min=200000, amount_max=300000, quote="$200,000 to $300,000")),
        ("salary", dict(SENIOR_US, amount_min=160000, open_ended=True, quote="$160,000+")),
        ("salary", dict(SENIOR_US, amount_max=400000, quote="up to $400,000")),
        ("salary", dict(SENIOR_UK, amount_min=90000, amount_max=90000, quote="£90,000")),
        ("salary", dict(SENIOR_UK, amount_min=70000, amount_max=95000, quote="£70,000 to £95,000")),
        ("skill", dict(name="Python", category="language", quote="Python and")),
        ("skill", dict(name="PyTorch", category="framework", quote="PyTorch")),
        ("certification", dict(name=AWS, quote=f"{AWS} costs $150", cost_amount=150, cost_currency="USD")),
        (
            "certification",
            dict(
                name="Google Cloud Professional ML Engineer",
                issuer="Google Cloud",
                quote="Google Cloud Professional ML Engineer",
            ),
        ),
    ],
}

# The README's example queries for these views; each is run below.
SALARY_BY_LEVEL_EXAMPLE = (
    "select level, region, n_sources, n_figures, low, median_low, median_high, high from v_salary_by_level "
    "where currency = 'USD' and period = 'year' order by median_low desc"
)
EVIDENCE_EXAMPLE = (
    "select e.source, e.amount_min, e.amount_max, e.quote from v_salary_by_level a "
    "join v_salary_evidence e on e.level = a.level and e.region = a.region and e.currency = a.currency "
    "and e.period = a.period where a.level = 'senior' and a.currency = 'USD' order by e.salary_id"
)
CERT_EXAMPLE = (
    "select certification, issuer, n_sources, cost_low, cost_high, cost_currency from v_certification_index "
    "order by n_sources desc, certification"
)
SKILL_EXAMPLE = "select skill, category, n_sources, n_mentions from v_skill_index order by n_sources desc, skill"


@pytest.fixture
def engine(blank_engine):
    init_db(blank_engine)
    for offset, source in enumerate(RECORDS):
        save(blank_engine, article(source, T0 + timedelta(minutes=offset)), extraction(source), V1)
    return blank_engine


def article(source: str, fetched_at: datetime, body: str | None = None) -> Article:
    body = body or (TEXT_A if source == A else TEXT_B)
    return Article(
        source=source, url=source if source.startswith("http") else None, title="pay", fetched_at=fetched_at, text=body
    )


def extraction(source: str, body: str | None = None) -> GroundedExtraction:
    body = body or (TEXT_A if source == A else TEXT_B)
    records = []
    for kind, fields in RECORDS[source]:
        if fields["quote"] not in body:
            continue
        start = body.index(fields["quote"])
        span = Provenance(quote=fields["quote"], char_start=start, char_end=start + len(fields["quote"]))
        records.append(Grounded(kind=kind, record=registry.kind(kind).model(**fields), provenance=span))
    return GroundedExtraction(records=records, stats=ExtractionStats())


def rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(_plain(v) for v in row) for row in connection.execute(text(sql))]


def _plain(value):
    return float(value) if hasattr(value, "as_integer_ratio") and not isinstance(value, (bool, int)) else value


def test_salary_by_level_has_known_ranges_and_medians(engine):
    assert rows(engine, SALARY_BY_LEVEL_EXAMPLE) == [
        # lower bounds 160k 180k 200k 400k, upper bounds 160k 250k 300k 400k: even n, mean of the middle two
        ("senior", "US", 2, 4, 160000.0, 190000.0, 275000.0, 400000.0),
        ("mid", "US", 1, 1, 120000.0, 120000.0, 150000.0, 150000.0),
    ]
    # odd n: lower bounds 70k 80k 90k -> 80k; upper bounds 90k 95k 100k -> 95k; no region reads 'unspecified'
    assert rows(
        engine,
        "select region, n_sources, n_figures, low, median_low, median_high, high "
        "from v_salary_by_level where currency = 'GBP'",
    ) == [("unspecified", 2, 3, 70000.0, 80000.0, 95000.0, 100000.0)]


def test_every_aggregate_row_traces_back_to_its_quotes(engine):
    assert [r[3] for r in rows(engine, EVIDENCE_EXAMPLE)] == [
        "$180,000 to $250,000",
        "$200,000 to $300,000",
        "$160,000+",
        "up to $400,000",
    ]
    per_group = rows(
        engine,
        (
            "select a.n_figures, count(e.salary_id) from v_salary_by_level a "
            "join v_salary_evidence e on e.level = a.level and e.region = a.region and e.currency = a.currency "
            "and e.period = a.period group by a.level, a.region, a.currency, a.period, a.n_figures"
        ),
    )
    assert len(per_group) == 3 and all(n == found for n, found in per_group)
    evidence = rows(
        engine,
        "select e.quote, e.char_start, e.char_end, d.text from v_salary_evidence e "
        "join v_documents d on d.document_id = e.document_id",
    )
    assert len(evidence) == 8 and all(body[start:end] == quote for quote, start, end, body in evidence)


def test_certification_index_counts_sources_and_keeps_one_currency(engine):
    assert rows(engine, CERT_EXAMPLE) == [
        (AWS_ENTITY, "AWS", 2, 150.0, 300.0, "USD"),
        ("Google Cloud Professional Machine Learning Engineer", "Google Cloud", 1, None, None, None),
    ]
    quotes = rows(
        engine,
        "select c.quote from v_certification_index i join v_certifications c "
        f"on c.certification = i.certification where i.certification = '{AWS_ENTITY}' order by c.quote",
    )
    assert quotes == [(f"{AWS} costs $150",), (f"{AWS} exam costs $300",)]


def test_skill_index_counts_sources_and_mentions(engine):
    assert rows(engine, SKILL_EXAMPLE) == [("Python", "language", 2, 3), ("PyTorch", "framework", 1, 1)]


def test_aggregates_follow_the_latest_document_of_a_source(engine):
    newer = TEXT_A.replace("$180,000 to $250,000", "$190,000 to $260,000")
    save(engine, article(A, T0 + timedelta(days=1), newer), extraction(A, newer), V1)
    senior = rows(
        engine, "select n_figures, low, median_low from v_salary_by_level where level = 'senior' and currency = 'USD'"
    )
    assert senior == [(3, 160000.0, 200000.0)]  # the old figure and its document version are gone


@pytest.mark.parametrize("view", ["v_salary_by_level", "v_salary_evidence", "v_certification_index", "v_skill_index"])
def test_aggregate_views_have_the_documented_columns(engine, view):
    with engine.connect() as connection:
        result = connection.execute(text(f"select * from {view}"))
        assert tuple(result.keys()) == VIEW_COLUMNS[view]


def test_the_salary_trend_gives_medians_per_year_and_joins_back_to_its_quotes(blank_engine):
    init_db(blank_engine)
    texts = {A: "In 2024 seniors made $100,000 to $120,000. In 2025, $150,000 to $170,000.", B: "$110,000 to $130,000"}
    dated = {A: [(2024, "$100,000 to $120,000"), (2025, "$150,000 to $170,000")], B: [(2024, "$110,000 to $130,000")]}
    for offset, (source, body) in enumerate(texts.items()):
        records = []
        for year, quote in dated[source]:
            low, high = (float(v.strip("$").replace(",", "")) for v in quote.split(" to "))
            salary = registry.kind("salary").model(
                **SENIOR_US, amount_min=low, amount_max=high, quote=quote, as_of_year=year, as_of_source="text"
            )
            start = body.index(quote)
            span = Provenance(quote=quote, char_start=start, char_end=start + len(quote))
            records.append(Grounded(kind="salary", record=salary, provenance=span))
        grounded = GroundedExtraction(records=records, stats=ExtractionStats())
        save(blank_engine, article(source, T0 + timedelta(minutes=offset), body), grounded, V1)
    trend = rows(
        blank_engine,
        "select as_of_year, n_sources, n_figures, median_low, median_high from v_salary_trend "
        "where level = 'senior' and region = 'US' and currency = 'USD' and period = 'year' order by as_of_year",
    )
    assert trend == [(2024, 2, 2, 105000.0, 125000.0), (2025, 1, 1, 150000.0, 170000.0)]
    behind = rows(
        blank_engine,
        "select e.quote from v_salary_trend t join v_salary_evidence e on e.level = t.level and e.region = t.region "
        "and e.currency = t.currency and e.period = t.period and e.as_of_year = t.as_of_year "
        "where t.as_of_year = 2024 order by e.amount_min",
    )
    assert behind == [("$100,000 to $120,000",), ("$110,000 to $130,000",)]
    assert rows(blank_engine, "select as_of_year, as_of_source from v_salaries order by amount_min")[0] == (
        2024,
        "text",
    )
