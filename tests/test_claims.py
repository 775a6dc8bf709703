"""The claim reader (pipeline.claims): figures, units, ranges, years, direction, region and attribution are read
from a sentence by code; a sentence or a listed phrase without a claim figure is no claim; money is never one."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from db.engine import init_db, make_engine
from pipeline.claims import claim_reading, find_claims, listed_claims, metric_names, read_claims
from pipeline.clean import clean
from pipeline.extract import extract
from pipeline.fetch import read_file
from pipeline.ground import ground
from pipeline.llm import make_client
from pipeline.money import scan_money
from pipeline.save import ExtractorVersion, save
from schemas.records import Claim
from tests.conftest import PAGES
from tests.fakes.openai_server import tool_call_reply
from tests.fakes.reader import answer, claim, excerpt, tool_name


def _one(sentence: str) -> Claim:
    [claim] = read_claims(sentence)
    return claim


@pytest.mark.parametrize(
    "sentence, value, value_max, unit",
    [
        ("Holders of a cloud credential earn about 6.2% more than their peers.", 6.2, None, "percent"),
        ("Between 20-30% of postings now ask for Python.", 20, 30, "percent"),
        ("AI engineers earn a 2x premium over software engineers.", 2, None, "multiple"),
        ("Filling a senior role takes 9 weeks on average.", 9, None, "weeks"),
        ("Job postings for ML roles doubled in a year.", 2, None, "multiple"),
        ("Our survey drew 1,412 answers from employers.", 1412, None, "count"),
    ],
)
def test_figures_and_units_are_read_from_the_sentence(sentence, value, value_max, unit):
    claim = _one(sentence)
    assert (claim.value, claim.value_max, claim.unit) == (value, value_max, unit)
    assert claim.quote == claim.statement == sentence


def test_a_span_of_years_and_its_source_are_read():
    claim = _one("According to LinkedIn, jobs for AI engineers will grow 36% from 2024 to 2034.")
    assert (claim.start_year, claim.end_year) == (2024, 2034)
    assert claim.attribution == "LinkedIn"
    assert (claim.metric, claim.direction.value) == ("job_growth", "up")


@pytest.mark.parametrize(
    "sentence, direction",
    [
        ("Postings for ML engineers were down 4% on 2023.", "down"),
        ("Median pay for entry-level roles rose 4.8% in a year.", "up"),
        ("Toronto | 128,000 | 137,000 | +7.0%", "up"),
        ("About 41% of job briefs mention language models.", "none"),
    ],
)
def test_direction_comes_from_the_nearest_word_or_the_sign(sentence, direction):
    assert _one(sentence).direction.value == direction


def test_every_figure_of_a_sentence_is_its_own_claim_and_years_are_not_figures():
    claims = read_claims("Around 41% of ML engineer briefs in 2024 mentioned language models, against 12% in 2023.")
    assert [c.value for c in claims] == [41, 12]
    assert {c.metric for c in claims} == {"skill_demand"}


@pytest.mark.parametrize(
    "sentence, years",
    [
        ("The median pay rise was 4.5%, down from 5.5% in 2024.", [(None, None), (None, 2024)]),
        ("About 41% of briefs in 2024 mentioned LLMs, against 12% in 2023.", [(None, 2024), (None, 2023)]),
        ("Postings grew 12% and pay rose 4% from 2023 to 2025.", [(2023, 2025), (2023, 2025)]),
    ],
)
def test_a_span_dates_every_figure_of_its_sentence_and_a_single_year_the_figure_nearest_it(sentence, years):
    assert [(c.start_year, c.end_year) for c in read_claims(sentence)] == years


@pytest.mark.parametrize(
    "sentence, region, metric",
    [
        ("In the UK, AI engineers command a 15% salary premium.", "UK", "salary_premium"),
        ("AI engineering roles typically pay 20-40% more than backend roles.", None, "salary_premium"),
        ("Appraisal season: AI staff in India get 9.3% hikes on average.", "India", "salary_growth"),
    ],
)
def test_the_region_and_the_cue_metric_are_read(sentence, region, metric):
    claim = _one(sentence)
    assert (claim.region, claim.metric) == (region, metric)


def test_a_sentence_without_a_figure_or_topic_is_no_claim():
    text = "Best fit. Pay rose sharply last year across every city we track.\nWe met 3 friends for lunch that day."
    assert find_claims(text) == []


def test_a_percentage_needs_no_topic_word_but_a_count_does():
    text = (
        "A bonus target of 12% of base applies to everyone.\n"
        "We met 3 friends for lunch near the station that day. In all, 40 respondents agreed with us."
    )
    assert [(c.value, c.unit) for c in find_claims(text)] == [(12, "percent"), (40, "count")]


@pytest.mark.parametrize(
    "sentence",
    [
        "Most Fortune 500 companies now hire machine learning engineers.",
        "Hiring at the top 10 employers slowed in the spring.",
        "Roles asking for Python 3.12 skills pay the most, our survey says.",
        "Teams building on GPT-4 models are hiring again.",
        "Workers on a Plan 2 loan repay it from their pay.",
        "Hiring for the conference team runs from 16 to 18 October.",
        "Our survey closed on 20 December with every answer counted.",
    ],
)
def test_a_number_in_a_name_a_rank_or_a_date_is_no_count(sentence):
    assert find_claims(sentence) == []


def test_a_count_after_a_sentence_opening_word_or_a_plain_word_stays_a_count():
    text = "Over 1,200 companies answered our survey. Among them, 300 employers said hiring rose."
    assert [(c.value, c.unit) for c in find_claims(text)] == [(1200, "count"), (300, "count")]


def test_money_is_never_a_claim_and_a_decimal_does_not_cut_a_sentence():
    text = "Holders of a cloud credential in the U.S. earn about 6.2% more, e.g. $150,000 at consultancies."
    money = [(m.start, m.end) for m in scan_money(text)]
    claims = find_claims(text, money)
    assert [(c.value, c.unit) for c in claims] == [(6.2, "percent")]
    assert claims[0].quote == text


def test_the_model_says_metric_and_subject_and_code_reads_the_rest():
    text = "Intro line.\nDemand for prompt engineers grew 58% last year, per Indeed. Best fit"
    reading = claim_reading()
    listed = [
        reading(quote="grew 58% last year", metric="adoption_share", subject="prompt engineers"),
        reading(quote="Best fit", metric="other", subject=None),  # a fragment the model listed: no figure
    ]
    [claim] = listed_claims(text, listed)
    assert (claim.metric, claim.subject, claim.value, claim.attribution) == (
        "adoption_share",
        "prompt engineers",
        58,
        "Indeed",
    )
    assert claim.quote == "Demand for prompt engineers grew 58% last year, per Indeed."


def test_the_model_may_name_only_a_metric_of_the_vocabulary():
    assert "other" in metric_names() and "salary_growth" in metric_names()
    with pytest.raises(ValidationError, match="metric"):
        claim_reading()(quote="grew 58%", metric="vibes")


def test_a_claim_refuses_a_range_upside_down():
    with pytest.raises(ValidationError, match="value_max is smaller"):
        Claim(metric="other", value=30, value_max=20, statement="Between 30-20%.", quote="30-20%")


# ---- end to end: the real openai client and instructor against the fake server ---------------------------


def _with_fragments(request: dict):
    """The scripted reader's answer with two claims: a phrase of a sentence stating a figure (said to be
    adoption_share), and a bare phrase of the excerpt without one, as small models list."""
    args = answer(request)
    first_words = " ".join(re.sub(r"\[M\d+\]", "", excerpt(request)).split()[:2])
    figure = {"quote": "tend to sit about 15% lower", "metric": "adoption_share", "subject": "roles outside London"}
    args["claims"] = [figure, claim(first_words)]
    return tool_call_reply(tool_name(request), args)


def test_ingest_stores_typed_claims_and_no_fragments(settings, fake_llm):
    fake_llm.responder = _with_fragments
    doc = clean(read_file(str(PAGES / "ai-engineer-salaries-2026.html"), settings))
    engine = make_engine(settings.database_url)
    init_db(engine)
    extraction = extract(doc, make_client(settings), settings)
    save(engine, doc, ground(doc, extraction), ExtractorVersion(schema_hash="s", prompt_version="p", model="m"))
    with engine.connect() as connection:
        stored = [dict(r._mapping) for r in connection.execute(text("SELECT * FROM v_claims ORDER BY char_start"))]
    engine.dispose()
    figures = {(r["value"], r["value_max"], r["unit"], r["metric"]) for r in stored}
    assert (58, None, "percent", "postings_growth") in figures
    assert (17, None, "percent", "salary_premium") in figures
    assert (40, 70, "percent", "salary_growth") in figures
    # listed by the model: its metric and subject, the numbers and the sentence read by code
    [listed] = [r for r in stored if r["metric"] == "adoption_share"]
    assert (listed["value"], listed["unit"], listed["subject"]) == (15, "percent", "roles outside London")
    assert listed["quote"].startswith("In the UK, London-based AI engineers")
    for row in stored:
        assert row["value"] is not None and row["metric"] in metric_names()
        assert doc.text[row["char_start"] : row["char_end"]] == row["quote"] == row["statement"]
        assert len(row["quote"]) >= 20 and re.search(r"\d", row["quote"])  # a sentence, never a bare phrase
    assert not {r["value"] for r in stored} & {12900, 150, 85_000_000}  # money is not a claim


@pytest.mark.parametrize(
    "sentence, source",
    [
        ("The BLS projects jobs for data scientists to grow 36% by 2034.", "BLS"),
        ("Job postings rose 12% last year, according to LinkedIn.", "LinkedIn"),
        ("Hiring for ML roles fell 9%, per Indeed Hiring Lab data.", "Indeed Hiring Lab"),
        ("A half-finished AI project is worth more than 20 complete tutorial projects.", None),
    ],
)
def test_attribution_names_who_says_so_and_never_a_noun_phrase(sentence, source):
    assert {c.attribution for c in read_claims(sentence)} == {source}


CHANGES = """Pay and postings by role.

| Role | 2024 median | 2025 median | YoY | Postings Δ 2023–25 | Change ($) |
|---|---|---|---|---|---|
| ML engineer | 150,000 | 160,000 | +6.7% | −12% | +10,000 |
| Data scientist | 130,000 | 128,000 | -1.5 | 4% | -2,000 |
"""


def test_a_table_column_of_changes_gives_a_claim_per_row_from_its_header_and_sign():
    claims = find_claims(CHANGES)
    read = [(c.subject, c.metric, c.value, c.unit, c.direction.value, c.start_year, c.end_year) for c in claims]
    assert read == [
        ("ML engineer", "salary_growth", 6.7, "percent", "up", 2024, 2025),
        ("ML engineer", "postings_growth", 12, "percent", "down", 2023, 2025),
        ("Data scientist", "salary_growth", 1.5, "percent", "down", 2024, 2025),  # YoY says percent for the cell
        ("Data scientist", "postings_growth", 4, "percent", "up", 2023, 2025),
    ]  # a column of money changes ("Change ($)") gives none
    assert all(c.quote == c.statement and c.quote in CHANGES and c.subject in c.quote for c in claims)


def test_a_change_cell_the_model_lists_is_read_with_its_table_once():
    row = "| ML engineer | 150,000 | 160,000 | +6.7% | −12% | +10,000 |"
    listed = [claim_reading()(quote=row, metric="other", subject="ML engineers")]
    assert listed_claims(CHANGES, listed) == []
