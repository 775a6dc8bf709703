"""The as_of reader: the year (and month) a salary or claim figure refers to, and where that was read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.asof import dated
from pipeline.claims import read_claims
from schemas.documents import Article, Grounded, GroundedExtraction, MoneyAmount, MoneyUse, Provenance
from schemas.records import Claim, Salary, Skill

FETCHED = datetime(2026, 11, 20, tzinfo=UTC)


def as_of(text: str, published: str | None = "2025-06-10", title: str | None = None) -> tuple:
    """(year, month, source) of a salary quoted as the line holding the text's first "$"."""
    start = text.index("$")
    end = text.find("\n", start) if "\n" in text[start:] else len(text)
    salary = Salary(currency="USD", amount_min=150000, quote=text[start:end])
    where = Provenance(quote=text[start:end], char_start=start, char_end=end)
    article = Article(source="s", text=text, published=published, title=title, fetched_at=FETCHED)
    record = dated(article, GroundedExtraction(records=[Grounded(kind="salary", record=salary, provenance=where)]))
    got = record.records[0].record
    return got.as_of_year, got.as_of_month, got.as_of_source.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In 2024, a senior engineer earned $150,000.", (2024, None, "text")),
        ("By April 2025 the median reached $150,000.", (2025, 4, "text")),
        ("As of Sept. 2024, offers averaged $150,000.", (2024, 9, "text")),
        ("Last year the median engineer made $150,000.", (2024, None, "text")),
        ("This year the median engineer makes $150,000.", (2025, None, "text")),
        ("The 2023 survey puts the median at $150,000.", (2023, None, "text")),
    ],
)
def test_a_date_in_the_figures_own_sentence_dates_it(text, expected):
    assert as_of(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Jobs will grow from 2024 to 2034, and engineers earn $150,000.",
        "Between 2024 and 2034 the field grows; engineers earn $150,000.",
        "Founded in 2015, the startup pays $150,000 to engineers with 10 years of experience.",
        "In 2030 engineers will earn $150,000.",
        "Pay for the 2020s: engineers earn $150,000.",
        "All 2,024 engineers surveyed earn $150,000.",
    ],
)
def test_spans_founding_years_forecasts_and_counts_are_no_date(text):
    assert as_of(text) == (2025, 6, "published")


def test_the_figures_own_year_wins_over_its_sections():
    text = "Pay in 2023\nIn 2024, a senior engineer earned $150,000."
    assert as_of(text) == (2024, None, "text")


def test_a_section_heading_dates_the_figures_under_it():
    text = "AI engineer pay in 2024\n\nA senior engineer earns $150,000 a year in the US."
    assert as_of(text) == (2024, None, "text")


def test_a_table_caption_dates_its_rows():
    text = "Median pay by level (2023 data)\n| Level | Pay |\n| Senior | $150,000 |"
    assert as_of(text) == (2023, None, "text")


def test_the_title_dates_a_figure_when_the_page_body_does_not():
    assert as_of("Engineers earn $150,000.", title="AI Engineer Salary Guide 2024") == (2024, None, "text")


def test_without_a_date_in_the_text_the_published_date_then_the_fetch_date():
    assert as_of("Engineers earn $150,000.") == (2025, 6, "published")
    assert as_of("Engineers earn $150,000.", published=None) == (2026, 11, "fetched")
    assert as_of("Engineers earn $150,000.", published="last spring") == (2026, 11, "fetched")


def test_relative_years_are_read_against_the_fetch_date_without_a_published_one():
    assert as_of("Last year engineers earned $150,000.", published=None) == (2025, None, "text")


def amount(text: str, figure: str, record: int | None) -> MoneyAmount:
    start = text.index(figure)
    return MoneyAmount(char_start=start, char_end=start + len(figure), text=figure, use=MoneyUse.salary, record=record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pay rose from $120,000 in 2022 to $150,000 in 2024.", [2022, 2024]),
        ("In 2023 juniors made $120,000; in 2024 seniors made $150,000.", [2023, 2024]),
        ("In 2024, juniors made $120,000 and seniors $150,000.", [2024, 2024]),
    ],
)
def test_each_figure_of_a_sentence_takes_the_date_nearest_it(text, expected):
    figures = ["$120,000", "$150,000"]
    records = [
        Grounded(
            kind="salary",
            record=Salary(currency="USD", amount_min=float(figure[1:].replace(",", "")), quote=text),
            provenance=Provenance(quote=text, char_start=0, char_end=len(text)),
        )
        for figure in figures
    ]
    grounded = GroundedExtraction(records=records, amounts=[amount(text, f, i) for i, f in enumerate(figures)])
    article = Article(source="s", text=text, published="2025-01-01", fetched_at=FETCHED)
    assert [r.record.as_of_year for r in dated(article, grounded).records] == expected


def test_claims_are_dated_and_kinds_without_an_as_of_are_left_as_they_are():
    text = "In 2024, AI job postings grew 25% over the year before. Python is required."
    claim = Claim(metric="postings_growth", value=25, unit="percent", statement=text[:55], quote=text[:55])
    skill = Skill(name="Python", category="language", quote="Python")
    records = [
        Grounded(kind="claim", record=claim, provenance=Provenance(quote=text[:55], char_start=0, char_end=55)),
        Grounded(kind="skill", record=skill, provenance=Provenance(quote="Python", char_start=56, char_end=62)),
    ]
    article = Article(source="s", text=text, published="2025-01-01", fetched_at=FETCHED)
    out = dated(article, GroundedExtraction(records=records)).records
    assert (out[0].record.as_of_year, out[0].record.as_of_source.value) == (2024, "text")
    assert out[1].record == skill


def test_a_page_without_a_published_date_in_its_markup_is_dated_by_its_byline():
    text = "# My rates\n\n*Lena · 11 February 2024 · freelancing*\n\nA full day is CHF 1,350."
    assert as_of(text.replace("CHF ", "$"), published=None) == (2024, 2, "published")


def test_the_paragraphs_around_a_table_date_it_before_the_pages_heading():
    text = (
        "Pay by city (2024 edition)\n\nThe figures below come from placements we made in 2023.\n"
        "| City | Pay |\n| Leeds | $50,000 |\nSource: our placements, January–December 2023.\n"
    )
    assert as_of(text) == (2023, None, "text")


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Postings for ML roles rose 12% from 2023 to 2024.", (2024, None, "text")),
        ("Median pay grew 9% between 2022 and 2025, our panel says.", (2025, None, "text")),
        ("Median pay grew 9% over the year, our panel says.", (2021, None, "text")),  # no span: the heading dates it
    ],
)
def test_a_claim_over_a_span_of_years_is_dated_by_the_spans_end_not_its_heading(sentence, expected):
    text = f"## The 2021 review\n\n{sentence}"
    start = text.index(sentence)
    [claim] = read_claims(sentence)
    where = Provenance(quote=sentence, char_start=start, char_end=start + len(sentence))
    article = Article(source="s", text=text, published="2025-06-01", fetched_at=FETCHED)
    [out] = dated(article, GroundedExtraction(records=[Grounded(kind="claim", record=claim, provenance=where)])).records
    assert (out.record.as_of_year, out.record.as_of_month, out.record.as_of_source.value) == expected
