"""Reviews: accept, reject and correct are rows of their own that the public views and aggregates apply, they
re-attach to the new records when a source is extracted again (changed text, another extractor), and the CLI
writes and lists them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from db import kinds as registry
from db.engine import init_db, make_engine
from db.models import GroundedRow
from db.viewsql import record_view
from flows.ingest import Runtime, run_sources
from pipeline.cli import main
from pipeline.review import ReviewError, accept, correct, document_text, mark_salary, queue, reject
from pipeline.save import ExtractorVersion, save
from schemas.documents import Article, ExtractionStats, Grounded, GroundedExtraction, MoneyAmount, MoneyUse, Provenance

SOURCE = "https://example.com/pay"
TEXT = (
    "Junior engineers earn $80,000 to $95,000 a year. Senior engineers earn $150,000 to $190,000 a year. "
    "Most teams want Python."
)
V1 = ExtractorVersion(schema_hash="s1", prompt_version="p1", model="test-model")
V2 = ExtractorVersion(schema_hash="s1", prompt_version="p2", model="other-model")


def grounded(body: str, kind: str, quote: str, **fields) -> Grounded:
    start = body.index(quote)
    record = registry.kind(kind).model(quote=quote, **fields)
    return Grounded(
        kind=kind, record=record, provenance=Provenance(quote=quote, char_start=start, char_end=start + len(quote))
    )


def extraction(body: str = TEXT) -> GroundedExtraction:
    records = [
        grounded(
            body,
            "salary",
            "$80,000 to $95,000 a year",
            level="junior",
            currency="USD",
            amount_min=80000,
            amount_max=95000,
        ),
        grounded(
            body,
            "salary",
            "$150,000 to $190,000 a year",
            level="senior",
            currency="USD",
            amount_min=150000,
            amount_max=190000,
        ),
        grounded(body, "skill", "Python", name="Python", category="language"),
    ]
    return GroundedExtraction(records=records, stats=ExtractionStats())


def article(body: str = TEXT, day: int = 1) -> Article:
    return Article(source=SOURCE, url=SOURCE, title="Pay", text=body, fetched_at=datetime(2026, 1, day, tzinfo=UTC))


@pytest.fixture
def engine(blank_engine):
    init_db(blank_engine)
    save(blank_engine, article(), extraction(), V1)
    return blank_engine


def rows(engine, sql: str) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text(sql))]


def salary_id(engine, level: str) -> int:
    [row] = rows(engine, f"SELECT salary_id FROM v_salaries WHERE level = '{level}'")
    return row["salary_id"]


def test_reviews_are_rows_of_their_own_and_the_views_apply_them(engine):
    before = rows(engine, "SELECT * FROM salaries ORDER BY id")
    junior, senior = salary_id(engine, "junior"), salary_id(engine, "senior")
    reject(engine, "salary", junior, "ana")
    correct(engine, "salary", senior, {"amount_min": 155000, "currency": "EUR"}, "ana")
    [skill] = rows(engine, "SELECT mention_id FROM v_skills")
    accept(engine, "skill", skill["mention_id"], "bo")
    assert rows(engine, "SELECT * FROM salaries ORDER BY id") == before  # extraction rows untouched
    [shown] = rows(engine, "SELECT salary_id, amount_min, amount_max, currency, review_status FROM v_salaries")
    assert shown == {
        "salary_id": senior,
        "amount_min": 155000,
        "amount_max": 190000,
        "currency": "EUR",
        "review_status": "corrected",
    }
    assert rows(engine, "SELECT review_status FROM v_skills") == [{"review_status": "accepted"}]
    reviews = rows(engine, "SELECT kind, action, reviewer, record_id, attached, quote FROM v_reviews ORDER BY 1, 2")
    assert [(r["kind"], r["action"], r["reviewer"], r["record_id"], bool(r["attached"])) for r in reviews] == [
        ("salary", "correct", "ana", senior, True),
        ("salary", "reject", "ana", junior, True),
        ("skill", "accept", "bo", skill["mention_id"], True),
    ]
    assert reviews[1]["quote"] == "$80,000 to $95,000 a year"


def test_aggregates_follow_the_reviews(engine):
    reject(engine, "salary", salary_id(engine, "junior"), "ana")
    correct(engine, "salary", salary_id(engine, "senior"), {"level": "staff"}, "ana")
    by_level = rows(engine, "SELECT level, n_figures, low, high FROM v_salary_by_level")
    assert by_level == [{"level": "staff", "n_figures": 1, "low": 150000, "high": 190000}]
    assert [r["level"] for r in rows(engine, "SELECT level FROM v_salary_evidence")] == ["staff"]
    [skill] = rows(engine, "SELECT mention_id FROM v_skills")
    reject(engine, "skill", skill["mention_id"], "ana")
    assert rows(engine, "SELECT * FROM v_skill_index") == []


def test_the_latest_review_of_a_record_decides(engine):
    junior = salary_id(engine, "junior")
    correct(engine, "salary", junior, {"amount_max": 99000}, "ana")
    accept(engine, "salary", junior, "bo")
    [shown] = rows(engine, f"SELECT amount_max, review_status FROM v_salaries WHERE salary_id = {junior}")
    assert shown == {"amount_max": 95000, "review_status": "accepted"}


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda e: accept(e, "salaries", 1, "ana"), "not a kind of record"),
        (lambda e: accept(e, "salary", 999, "ana"), "no salary with salary_id 999"),
        (lambda e: accept(e, "salary", 1, " "), "reviewer"),
        (lambda e: correct(e, "salary", 1, {"quote": "x"}, "ana"), "cannot correct quote"),
        (lambda e: correct(e, "salary", 1, {"currency": "XYZ"}, "ana"), "not an ISO 4217 currency"),
        (lambda e: correct(e, "salary", 1, {"amount_min": 500000}, "ana"), "amount_min is larger than amount_max"),
        (lambda e: correct(e, "salary", 1, {}, "ana"), "at least one changed field"),
        (lambda e: document_text(e, 999), "no document with id 999"),
    ],
)
def test_bad_reviews_are_refused_with_the_reason_and_write_nothing(engine, call, message):
    with pytest.raises(ReviewError, match=message):
        call(engine)
    assert rows(engine, "SELECT * FROM reviews") == []


def test_the_queue_lists_unreviewed_records_before_reviewed_ones(engine):
    junior = salary_id(engine, "junior")
    accept(engine, "salary", junior, "ana")
    items = queue(engine, "salary")
    assert [(i.record_id, i.review_status) for i in items] == [
        (salary_id(engine, "senior"), "unreviewed"),
        (junior, "accepted"),
    ]
    first = items[0]
    assert document_text(engine, first.document_id)[first.char_start : first.char_end] == first.quote
    assert first.values["amount_min"] == 150000
    assert queue(engine, limit=1)[0].review_status == "unreviewed"


def test_reviews_reattach_when_the_text_changes_and_orphan_when_the_quote_is_gone(engine):
    reject(engine, "salary", salary_id(engine, "junior"), "ana")
    correct(engine, "salary", salary_id(engine, "senior"), {"amount_max": 200000}, "ana")
    changed = "Updated in 2026. " + TEXT
    save(engine, article(changed, day=2), extraction(changed), V1)
    assert [r["level"] for r in rows(engine, "SELECT level FROM v_salaries")] == ["senior"]
    assert rows(engine, "SELECT amount_max, review_status FROM v_salaries") == [
        {"amount_max": 200000, "review_status": "corrected"}
    ]
    assert {bool(r["attached"]) for r in rows(engine, "SELECT attached FROM v_reviews")} == {True}
    gone = changed.replace("Junior engineers earn $80,000 to $95,000 a year. ", "")
    result = save(engine, article(gone, day=3), _without_junior(gone), V1)
    orphans = rows(engine, "SELECT review_id, action, attached FROM v_reviews WHERE NOT attached")
    assert [r["action"] for r in orphans] == ["reject"] and result.orphaned_reviews == [orphans[0]["review_id"]]


def _without_junior(body: str) -> GroundedExtraction:
    records = [
        grounded(
            body,
            "salary",
            "$150,000 to $190,000 a year",
            level="senior",
            currency="USD",
            amount_min=150000,
            amount_max=190000,
        )
    ]
    return GroundedExtraction(records=records, stats=ExtractionStats())


def test_equal_quotes_reattach_by_their_surroundings(blank_engine):
    init_db(blank_engine)
    body = "In London: $90,000 a year. In Austin: $90,000 a year."
    first = [grounded(body, "salary", "$90,000 a year", currency="USD", amount_min=90000, region="London")]
    second = body.index("$90,000", body.index("Austin"))
    first.append(
        Grounded(
            kind="salary",
            record=registry.kind("salary").model(
                quote="$90,000 a year", currency="USD", amount_min=90000, region="Austin"
            ),
            provenance=Provenance(quote="$90,000 a year", char_start=second, char_end=second + 14),
        )
    )
    save(blank_engine, article(body), GroundedExtraction(records=first, stats=ExtractionStats()), V1)
    [austin] = rows(blank_engine, "SELECT salary_id FROM v_salaries WHERE region = 'Austin'")
    reject(blank_engine, "salary", austin["salary_id"], "ana")
    # another extractor reads the same text without regions: only the surroundings tell the figures apart
    plain = [
        Grounded(
            kind="salary",
            record=registry.kind("salary").model(quote=g.provenance.quote, currency="USD", amount_min=90000),
            provenance=g.provenance,
        )
        for g in first
    ]
    save(blank_engine, article(body, day=2), GroundedExtraction(records=plain, stats=ExtractionStats()), V2)
    assert [r["char_start"] for r in rows(blank_engine, "SELECT char_start FROM v_salaries")] == [body.index("$90,000")]


def test_reviews_survive_re_extraction_through_the_ingest_path(settings, tmp_path, monkeypatch):
    page = tmp_path / "pay.md"
    page.write_text(
        "# Pay\nJunior engineers earn $80,000 to $95,000 a year.\nSenior engineers earn $150,000 to $190,000 a year.\n",
        encoding="utf-8",
    )
    run_sources([str(page)], Runtime.create(settings), "test")
    engine = make_engine(settings.database_url)
    junior, senior = salary_id(engine, "junior"), salary_id(engine, "senior")
    reject(engine, "salary", junior, "ana")
    correct(engine, "salary", senior, {"amount_min": 155000}, "ana")
    page.write_text(
        "# Pay in 2026\nJunior engineers earn $80,000 to $95,000 a year.\n"
        "Senior engineers earn $150,000 to $190,000 a year.\n",
        encoding="utf-8",
    )
    run_sources([str(page)], Runtime.create(settings), "test")  # changed text
    monkeypatch.setenv("KB_LLM_MODEL", "another-fake-model")
    run_sources(
        [str(page)], Runtime.create(settings.__class__.from_env().with_database(settings.database_url)), "test"
    )  # same text, another extractor
    assert rows(engine, "SELECT COUNT(*) AS n FROM extractions") == [{"n": 3}]
    assert rows(engine, "SELECT level, amount_min, review_status FROM v_salaries") == [
        {"level": "senior", "amount_min": 155000, "review_status": "corrected"}
    ]
    assert rows(engine, "SELECT COUNT(*) AS n FROM v_reviews WHERE attached") == [{"n": 2}]
    engine.dispose()


def test_the_cli_writes_and_lists_reviews(engine):
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    junior, senior = salary_id(engine, "junior"), salary_id(engine, "senior")
    for args in (
        ["reject", "salary", str(junior)],
        ["correct", "salary", str(senior), "--amount-min", "151000", "--currency", "gbp", "--level", "staff"],
    ):
        result = runner.invoke(main, ["review", *args, "--db", url, "--reviewer", "ana"])
        assert result.exit_code == 0, result.output
    [shown] = rows(engine, "SELECT amount_min, currency, level, review_status FROM v_salaries")
    assert shown == {"amount_min": 151000, "currency": "GBP", "level": "staff", "review_status": "corrected"}
    listed = runner.invoke(main, ["review", "list", "--kind", "salary", "--json", "--db", url])
    statuses = [json.loads(line)["review_status"] for line in listed.output.splitlines()]
    assert statuses == ["rejected", "corrected"]  # a rejected record stays listed, so it can be accepted again
    bad = runner.invoke(main, ["review", "correct", "salary", str(senior), "--period", "fortnight", "--db", url])
    assert bad.exit_code != 0 and "period" in bad.output
    missing = runner.invoke(main, ["review", "accept", "claim", "42", "--db", url])
    assert missing.exit_code != 0 and "no claim with claim_id 42" in missing.output


def test_a_money_amount_marked_as_pay_becomes_a_salary_that_lasts(blank_engine):
    init_db(blank_engine)
    body = "Our bootcamp costs $12,000. Graduates earn $70,000 a year."
    fee = body.index("$12,000")
    amounts = [
        MoneyAmount(
            text="$12,000",
            char_start=fee,
            char_end=fee + 7,
            currency="USD",
            amount_min=12000,
            amount_max=12000,
            use=MoneyUse.not_pay,
            reason="tuition",
        )
    ]
    save(blank_engine, article(body), GroundedExtraction(records=[], amounts=amounts, stats=ExtractionStats()), V1)
    [amount] = rows(blank_engine, "SELECT amount_id FROM v_money")
    with pytest.raises(ReviewError, match="invalid correction"):
        mark_salary(blank_engine, amount["amount_id"], {"period": "fortnight"}, "ana")
    review_id = mark_salary(blank_engine, amount["amount_id"], {"level": "entry"}, "ana")
    assert [i.kind for i in queue(blank_engine)] == ["salary"]  # the amount is no longer waiting
    expected = {
        "salary_id": -review_id,
        "currency": "USD",
        "amount_min": 12000,
        "amount_max": 12000,
        "period": "year",
        "level": "entry",
        "quote": "$12,000",
        "review_status": "corrected",
    }
    shown = rows(blank_engine, f"SELECT {', '.join(expected)} FROM v_salaries")
    assert shown == [expected]
    correct(blank_engine, "salary", -review_id, {"amount_max": 13000}, "bo")
    moved = "Updated. " + body
    fee = moved.index("$12,000")
    amounts = [amounts[0].model_copy(update={"char_start": fee, "char_end": fee + 7})]
    save(
        blank_engine,
        article(moved, day=2),
        GroundedExtraction(records=[], amounts=amounts, stats=ExtractionStats()),
        V1,
    )
    assert rows(blank_engine, "SELECT salary_id, amount_max, char_start FROM v_salaries") == [
        {"salary_id": -review_id, "amount_max": 13000, "char_start": fee}
    ]
    assert {bool(r["attached"]) for r in rows(blank_engine, "SELECT attached FROM v_reviews")} == {True}
    save(blank_engine, article(moved.replace("$12,000", "a lot"), day=3), extraction_without_money(), V1)
    assert rows(blank_engine, "SELECT * FROM v_salaries") == []
    assert {bool(r["attached"]) for r in rows(blank_engine, "SELECT attached FROM v_reviews")} == {False}


def extraction_without_money() -> GroundedExtraction:
    return GroundedExtraction(records=[], stats=ExtractionStats())


def test_the_queue_says_why_a_record_needs_attention(blank_engine):
    init_db(blank_engine)
    body = "Junior engineers earn $80,000 a year."
    pay = body.index("$80,000")
    salary = grounded(body, "salary", "$80,000 a year", currency="USD", amount_min=80000)
    amount = MoneyAmount(
        text="$80,000",
        char_start=pay,
        char_end=pay + 7,
        currency="USD",
        amount_min=80000,
        amount_max=80000,
        use=MoneyUse.salary,
        kind="fee",
        record=0,
    )
    save(
        blank_engine, article(body), GroundedExtraction(records=[salary], amounts=[amount], stats=ExtractionStats()), V1
    )
    [item] = queue(blank_engine, "salary")
    assert item.reasons == ["the model read its amount as fee, the rules as pay", "new since the last review"]
    skill = grounded(TEXT, "skill", "Python", name="Python", category="language")
    save(
        blank_engine,
        article(TEXT, day=1).model_copy(update={"source": "other"}),
        GroundedExtraction(records=[skill], stats=ExtractionStats()),
        V1,
    )
    [mention] = rows(blank_engine, "SELECT mention_id FROM v_skills")
    accept(blank_engine, "skill", mention["mention_id"], "ana")
    [item] = queue(blank_engine, "salary")
    assert "new since the last review" not in item.reasons
    save(
        blank_engine,
        article(body, day=2),
        GroundedExtraction(records=[salary], amounts=[amount], stats=ExtractionStats()),
        V2,
    )
    assert "new since the last review" in queue(blank_engine, "salary")[0].reasons


def test_the_queue_lists_each_reason_to_look_first(blank_engine):
    init_db(blank_engine)
    body = "Interns earn $6,000 a year. Visas need $38,000 a year. Teams spend $9,000,000. Seniors earn $200,000."
    near = grounded(body, "salary", "$6,000 a year", currency="USD", amount_min=6000, period="year")
    loose = grounded(body, "salary", "$200,000", currency="USD", amount_min=200000)
    loose.provenance.match = "normalized"
    far = grounded(body, "salary", "Seniors earn", currency="USD", amount_min=200000)  # written elsewhere
    visa, spend = (body.index(figure) for figure in ("$38,000", "$9,000,000"))
    amounts = [
        MoneyAmount(
            text="$38,000",
            char_start=visa,
            char_end=visa + 7,
            currency="USD",
            amount_min=38000,
            period="year",
            kind="threshold",
            use=MoneyUse.not_pay,
            reason="a threshold or cut-off",
        ),
        MoneyAmount(text="$9,000,000", char_start=spend, char_end=spend + 10, currency="USD", amount_min=9e6),
    ]
    extracted = GroundedExtraction(records=[near, loose, far], amounts=amounts, stats=ExtractionStats())
    save(blank_engine, article(body), extracted, V1)
    reasons = {item.quote: item.reasons for item in queue(blank_engine)}
    assert "6,000 a year is near the smallest yearly salary the rules take as pay (5,000)" in reasons["$6,000 a year"]
    assert not any("near the smallest" in reason for reason in reasons["$200,000"])  # far above the threshold
    assert any("normalising" in reason for reason in reasons["$200,000"])  # low confidence in its span
    assert "an amount is not written in its quote" in reasons["Seniors earn"]
    assert "decided on a threshold cue: a limit or cut-off, not pay" in reasons["$38,000"]
    assert reasons["$9,000,000"][0].startswith("unaccounted money")
    assert all("new since the last review" in reasons[quote] for quote in ("$6,000 a year", "$200,000"))
    accept(blank_engine, "salary", salary_id_of(blank_engine, "$6,000 a year"), "ana")
    ordered = queue(blank_engine)
    assert [item.review_status for item in ordered][-1] == "accepted"  # reviewed records last
    weighty = [len([r for r in item.reasons if r != "new since the last review"]) for item in ordered[:-1]]
    assert weighty == sorted(weighty, reverse=True)  # being new weighs least


def salary_id_of(engine, quote: str) -> int:
    [row] = rows(engine, f"SELECT salary_id FROM v_salaries WHERE quote = '{quote}'")
    return row["salary_id"]


def test_a_rejected_record_stays_in_the_queue_and_can_be_accepted_again(engine):
    junior = salary_id(engine, "junior")
    reject(engine, "salary", junior, "ana")
    assert not rows(engine, f"SELECT * FROM v_salaries WHERE salary_id = {junior}")
    [item] = [item for item in queue(engine, "salary") if item.record_id == junior]
    assert item.review_status == "rejected" and queue(engine, "salary")[-1].record_id == junior  # reviewed: last
    accept(engine, "salary", junior, "ana")  # changed their mind
    [back] = rows(engine, f"SELECT review_status FROM v_salaries WHERE salary_id = {junior}")
    assert back["review_status"] == "accepted"
    assert [r["action"] for r in rows(engine, "SELECT action FROM v_reviews ORDER BY review_id")] == [
        "reject",
        "accept",
    ]


def test_every_correctable_field_of_a_salary_can_be_corrected_but_not_its_spans(engine):
    senior = salary_id(engine, "senior")
    fields = {
        "amount_min": 140000,
        "amount_max": 200000,
        "currency": "GBP",
        "period": "month",
        "level": "staff",
        "pay_basis": "total",
    }
    correct(engine, "salary", senior, fields, "ana")
    [shown] = rows(engine, f"SELECT * FROM v_salaries WHERE salary_id = {senior}")
    assert {field: shown[field] for field in fields} == fields
    for span in ("header_quote", "header_start", "quote"):
        with pytest.raises(ReviewError, match=f"cannot correct {span}"):
            correct(engine, "salary", senior, {span: "x"}, "ana")


class MeteredClaim(BaseModel):
    """A toy kind: a statement and the metric its figure measures."""

    statement: str = Field(min_length=5)
    quote: str
    metric: str | None = Field(None, description="What the figure measures")


class MeteredClaimRow(GroundedRow, table=True):
    __tablename__ = "metered_claims"

    id: int | None = Column(default=None, primary_key=True)
    statement: str
    metric: str | None = None


SQLModel.metadata.remove(MeteredClaimRow.__table__)  # made by ensure_kinds, not the migrations (see test_kinds)
METERED = registry.RecordKind(
    name="metered_claim",
    plural="metered_claims",
    model=MeteredClaim,
    table=MeteredClaimRow,
    view=record_view("v_metered_claims", "metered_claims", "claim_id", ("statement", "metric")),
    label="claim",
    colour="#eeeeee",
    search_code=7,
)


def test_corrections_cover_whatever_fields_a_kind_declares(blank_engine):
    """A kind whose model and view gain a field (as the claim's metric will) is correctable in it with no other
    edit: the fields come from db.kinds."""
    registry.register(METERED)
    try:
        assert METERED.correctable == {"statement": "statement", "metric": "metric"}
        init_db(blank_engine)
        body = TEXT + " Hiring rose 12% in 2025."
        claim = grounded(body, "metered_claim", "Hiring rose 12% in 2025", statement="Hiring rose 12%", metric="growth")
        save(blank_engine, article(body), GroundedExtraction(records=[claim], stats=ExtractionStats()), V1)
        [row] = rows(blank_engine, "SELECT claim_id FROM v_metered_claims")
        correct(blank_engine, "metered_claim", row["claim_id"], {"metric": "hiring"}, "ana")
        [shown] = rows(blank_engine, "SELECT metric, review_status FROM v_metered_claims")
        assert shown == {"metric": "hiring", "review_status": "corrected"}
    finally:
        registry.unregister("metered_claim")


def test_being_new_alone_does_not_put_a_record_before_one_with_a_weightier_reason(blank_engine):
    init_db(blank_engine)
    body = "Python is asked for everywhere. Teams spend $9,000,000 on it."
    skill = grounded(body, "skill", "Python", name="Python", category="language")
    at = body.index("$9,000,000")
    money = MoneyAmount(text="$9,000,000", char_start=at, char_end=at + 10, currency="USD", amount_min=9e6)
    extracted = GroundedExtraction(records=[skill], amounts=[money], stats=ExtractionStats())
    save(blank_engine, article(body), extracted, V1)
    assert [item.kind for item in queue(blank_engine)] == [
        "amount",
        "skill",
    ]  # though the skill comes first in the text


def test_a_claim_metric_correction_must_name_a_metric_of_the_vocabulary(blank_engine):
    init_db(blank_engine)
    body = TEXT + " Hiring rose 12% in 2025."
    fields = dict(statement="Hiring rose 12% in 2025.", metric="job_growth", value=12, unit="percent")
    claim = grounded(body, "claim", "Hiring rose 12% in 2025.", **fields)
    save(blank_engine, article(body), GroundedExtraction(records=[claim], stats=ExtractionStats()), V1)
    [row] = rows(blank_engine, "SELECT claim_id FROM v_claims")
    url = blank_engine.url.render_as_string(hide_password=False)
    refused = CliRunner().invoke(
        main, ["review", "correct", "claim", str(row["claim_id"]), "--set", "metric=hiring_growth", "--db", url]
    )
    assert refused.exit_code != 0
    [line] = [line for line in refused.output.splitlines() if "hiring_growth" in line]
    assert "metric 'hiring_growth' is not one of" in line and "postings_growth" in line and "other" in line
    assert rows(blank_engine, "SELECT metric, review_status FROM v_claims") == [
        {"metric": "job_growth", "review_status": "unreviewed"}
    ]
    correct(blank_engine, "claim", row["claim_id"], {"metric": "postings_growth"}, "ana")
    assert rows(blank_engine, "SELECT metric, review_status FROM v_claims") == [
        {"metric": "postings_growth", "review_status": "corrected"}
    ]
