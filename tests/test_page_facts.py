"""Who a page's pay is for when the page says it once (title, fields, headings); strings written for these tests."""

from __future__ import annotations

import pytest

from pipeline.chunk import Line
from pipeline.figures import Figure
from pipeline.money import scan_money
from pipeline.page_facts import PageFacts, labelled_fields, page_facts, requirements, section_regions, with_page_facts
from schemas.records import Level, Period, Salary

POSTING = """\
Lead Engineer, Computer Vision – Porto
Orchard Optics · Experience: 6-9 years · Hybrid
**Location:** Porto (2 days a week on site)
Company: Orchard Optics Lda.
The pay for this role is €70,000–€82,000 a year.
"""


def salary(**fields) -> Salary:
    base = dict(currency="EUR", period=Period.year, amount_min=70000, amount_max=82000, quote="€70,000–€82,000")
    return Salary(**(base | fields))


def test_labelled_fields_are_read_at_line_starts_and_between_separators():
    fields = labelled_fields(POSTING)
    assert fields["years"] == ["6-9 years"]
    assert fields["region"] == ["Porto (2 days a week on site)"]
    assert fields["employer"] == ["Orchard Optics Lda."]
    assert labelled_fields("We asked about experience: most had five years.")["years"] == []


def test_a_posting_names_its_level_years_region_and_employer_once():
    facts = page_facts("Lead Engineer, Computer Vision – Porto", POSTING)
    assert (facts.level, facts.years, facts.region) == (Level.lead, (6, 9), "Portugal")
    assert facts.employer == "Orchard Optics Lda."


@pytest.mark.parametrize(
    "title, text, attribute",
    [
        ("AI salaries in Spain, Italy and Greece", "Pay is €40,000 a year.", "region"),
        ("ML pay in Madrid", "Location: Lisbon\nPay is €40,000 a year.", "region"),
        ("Junior to senior ML pay in Madrid", "Pay is €40,000 a year.", "level"),
        ("Senior ML engineer", "Seniority: Staff\nPay is €40,000 a year.", "level"),
        ("ML engineer (3+ years)", "Experience: 5 years or more", "years"),
        ("ML engineer", "Company: Orchard Optics\nEmployer: Quayside Labs", "employer"),
    ],
)
def test_a_page_naming_several_gives_none(title, text, attribute):
    assert getattr(page_facts(title, text), attribute) == getattr(PageFacts(), attribute)


def test_a_title_naming_three_countries_gives_no_region_and_one_country_gives_it():
    assert page_facts("AI salaries in Spain, Italy and Greece", "").region is None
    assert page_facts("AI salaries in Spain", "").region == "Spain"
    assert page_facts("Junior to senior ML pay", "").level is Level.unspecified


def figure(line: str, context: str | None = None) -> Figure:
    """The figure of a one-line text, with a context line above it when given."""
    text = f"{context}\n{line}" if context else line
    (money,) = scan_money(text)
    start = text.index(line)
    above = Line(0, len(context), context) if context else None
    return Figure("M1", money, Line(start, start + len(line), line), above)


def test_the_salarys_own_words_win_and_the_page_fills_only_blanks():
    facts = PageFacts(level=Level.lead, years=(6, 9), region="Portugal", employer="Orchard Optics")
    fig = figure("Pay: €70,000–€82,000 a year")
    blank = with_page_facts(salary(), facts, fig)
    assert (blank.level, blank.years_min, blank.years_max) == (Level.lead, 6, 9)
    assert (blank.region, blank.employer) == ("Portugal", "Orchard Optics")
    own = salary(level=Level.junior, region="Spain", employer="startups", quote="Junior pay: €70,000–€82,000")
    own = with_page_facts(own, facts, fig)
    assert (own.level, own.years_min, own.region, own.employer) == (Level.junior, None, "Spain", "startups")
    other_years = with_page_facts(salary(years_min=2, years_max=4), facts, fig)
    assert (other_years.level, other_years.years_min) == (Level.unspecified, 2)
    same_years = with_page_facts(salary(years_min=6, years_max=9), facts, fig)
    assert same_years.level is Level.lead


def test_a_models_level_guess_for_words_naming_no_level_yields_to_the_pages():
    facts = PageFacts(level=Level.mid, years=(3, None))
    guessed = salary(level=Level.entry, years_min=3, quote="Salary: €70,000–€82,000")
    assert with_page_facts(guessed, facts, figure(guessed.quote, "Experience: 3+ years")).level is Level.mid
    under_a_header = salary(level=Level.entry, quote="Analyst | €70,000–€82,000")
    fig = figure(under_a_header.quote, "Role | Entry | Senior")
    assert with_page_facts(under_a_header, facts, fig).level is Level.entry


def test_a_figure_said_to_cover_every_level_takes_no_level_from_the_page():
    facts = PageFacts(level=Level.senior)
    quote = "€70,000 across all levels"
    assert with_page_facts(salary(quote=quote), facts, figure(quote)).level is Level.unspecified


def test_a_figure_takes_its_sections_region_over_the_pages():
    facts = PageFacts(region="Spain", sections=((0, "Portugal"),))
    assert with_page_facts(salary(), facts, figure("Porto: €70,000–€82,000", "Portugal")).region == "Portugal"


REQUIREMENTS = """\
Forecasting Engineer
Some of us started here eight years ago as analysts.
## What you'll bring

- 4+ years of time-series modelling in production.
- Comfort with SQL and one of Python or R.
Benefits
- Paid for 3 years of rail travel to the office.
"""


def test_years_come_from_the_requirements_list_only_when_no_title_or_field_names_any():
    assert requirements(REQUIREMENTS) == [
        "- 4+ years of time-series modelling in production.",
        "- Comfort with SQL and one of Python or R.",
    ]
    assert page_facts("Forecasting Engineer", REQUIREMENTS).years == (4, None)
    assert page_facts("Forecasting Engineer (6-8 years)", REQUIREMENTS).years == (6, 8)
    two = REQUIREMENTS.replace("- Comfort with", "- 2+ years with")
    assert page_facts("Forecasting Engineer", two).years == (None, None)


@pytest.mark.parametrize(
    "title, text, employer",
    [
        ("Data Engineer", "Data Engineer\nFjordline Freight · Oslo · Posted 3 May\nWe move fish.", None),
        (
            "Data Engineer",
            "Data Engineer\nFjordline Freight ASA · Oslo · Posted 3 May\nWe move fish.",
            "Fjordline Freight ASA",
        ),
        ("Salary guide 2026", "QUAYSIDE SEARCH AG\nSalary guide 2026\nPay rose 4% this year.", None),
        ("What hedge funds pay quants", "Pay rose 4% this year.", "hedge funds"),
        ("Hedge funds cut their GPU budgets", "Pay rose 4% this year.", None),
        ("What hedge funds pay quants", "Company: Lowmoor Capital LLP\nPay rose 4% this year.", "Lowmoor Capital LLP"),
    ],
)
def test_the_employer_is_labelled_a_company_in_a_header_field_or_the_one_kind_a_pay_title_names(title, text, employer):
    assert page_facts(title, text).employer == employer


GUIDE = """\
ML pay in two markets
Chile
How offers are written
Offers state a monthly gross salary.
Level | Monthly gross
Senior | CLP 4,100,000
Colombia: salary or contractor?
Senior | COP 19,000,000
Pay in Bogotá and Medellín
Berlin: €70,000
"""


def test_a_heading_naming_one_region_gives_it_to_the_figures_after_it():
    headings = (("Chile\n", "Chile"), ("Colombia:", "Colombia"), ("Pay in Bogotá", "Colombia"))
    assert section_regions(GUIDE) == [(GUIDE.index(line), region) for line, region in headings]
    facts = page_facts("ML pay in two markets", GUIDE)
    assert facts.region_at(GUIDE.index("CLP")) == "Chile"
    assert facts.region_at(GUIDE.index("COP")) == "Colombia"
    assert facts.region_at(0) is None
    assert page_facts("ML pay in Chile", "Pay is CLP 4,100,000 a month.").region_at(10) == "Chile"
