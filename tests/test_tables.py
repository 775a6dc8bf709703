"""Table reader: bare-number cells take currency, multiplier and period from their header, caption or the
sentence introducing the table; a cell's own marker is left to the money scanner; counts are never money."""

from pipeline.extract import extract
from pipeline.ground import ground
from pipeline.llm import make_client
from pipeline.tables import derive, table_figures
from schemas.documents import Article, MoneyUse
from schemas.records import Period

SURVEY = """Pay by level
Level | Typical experience | Median base (USD) | P75 total pay (USD) | Submissions
Entry | 0–2 yrs | 131,000 | 172,000 | 1,204
Senior | 5–9 yrs | 192,000 | 318,000 | 2,207
London | 7 yrs | £98,000 | £146,000 | 40
"""

CAPTIONED = """All amounts in the table below are gross annual base salaries.
Advertised ranges by country (Range, € thousands) |  |  |
Country | Junior | Senior | Ads
Germany | 52–64 | 80–105 | 3,412
"""

MARKDOWN = """Contractors
Day rates below are quoted before tax and agency margin, and they are
per day, excluding tax.
| Role | Day rate (A$) |
|---|---|
| ML engineer | 950–1,200 |
"""


def _read(text: str) -> list[tuple]:
    return [
        (f.money.text, f.money.amount_min, f.money.amount_max, f.money.currency, f.money.period)
        for f in table_figures(text)
    ]


def test_column_header_gives_currency_and_counts_stay_counts():
    found = _read(SURVEY)
    assert ("131,000", 131000, 131000, "USD", None) in found
    assert ("318,000", 318000, 318000, "USD", None) in found
    assert not any(text in ("1,204", "2,207", "40", "0–2 yrs") for text, *_ in found)


def test_cell_with_its_own_marker_is_left_to_the_scanner():
    assert not any(text.startswith("£") for text, *_ in _read(SURVEY))


def test_caption_multiplier_and_intro_period_apply_to_ranges():
    found = _read(CAPTIONED)
    assert found == [("52–64", 52000, 64000, "EUR", Period.year), ("80–105", 80000, 105000, "EUR", Period.year)]


def test_markdown_table_with_wrapped_intro():
    assert _read(MARKDOWN) == [("950–1,200", 950, 1200, "AUD", Period.day)]


def test_a_currency_cell_gives_its_row_the_currency():
    text = "Country | Currency | Rate (per hour)\nKenya | KES | 420–650\nGermany | EUR | 15–19\n"
    assert [(f.money.amount_min, f.money.currency, f.money.period) for f in table_figures(text)] == [
        (420, "KES", Period.hour),
        (15, "EUR", Period.hour),
    ]


def test_a_caption_speaks_for_the_currency_over_the_paragraph_before_it():
    text = (
        "Oslo is paid in kroner and Helsinki in euros, as each cell says.\n"
        "Median monthly pay (local currency per month) |  |\nCity | Junior | Senior\n"
        "Oslo | 52 000 | 80 500\nHelsinki | €4 300 | €6 250\n"
    )
    assert table_figures(text) == []  # the caption names no currency: no cell is read as euros


def test_no_header_currency_no_figures():
    assert table_figures("Role | Junior | Senior\nData scientist | 52–64 | 80–105\n") == []


def test_header_span_covers_caption_and_header_and_rederives():
    text = CAPTIONED
    figure = table_figures(text)[0]
    assert text[figure.header.start : figure.header.end] == figure.header.text
    assert figure.header.text.startswith("All amounts") and figure.header.text.endswith("Ads")
    row = "Germany | 52–64 | 80–105 | 3,412"
    assert derive(figure.header.text, row) == [52000, 64000, 80000, 105000]
    assert derive("Country | Junior | Senior | Ads", row) == []  # without the header's currency, nothing


SURVEY_PAGE = """Engineer pay by level, 2025
We show the median base salary, which is what offers quote.
Level | Median base (USD) | Offers
Junior | 96,000 | 120
Senior | 164,500 | 88
Methodology
We counted each offer once.
"""


def test_table_cells_become_salaries_with_their_header_span_grounded(settings):
    page = Article(source="survey.txt", text=SURVEY_PAGE, kind="text")
    extraction = extract(page, make_client(settings), settings)
    grounded = ground(page, extraction)
    salaries = [g.record for g in grounded.records if g.kind == "salary"]
    assert sorted((s.amount_min, s.currency) for s in salaries) == [(96000, "USD"), (164500, "USD")]
    for salary in salaries:
        assert SURVEY_PAGE[salary.header_start : salary.header_end] == salary.header_quote
        assert salary.header_quote.endswith("Level | Median base (USD) | Offers")
    uses = {a.text: a.use for a in grounded.amounts}
    assert uses["96,000"] is MoneyUse.salary and "120" not in uses  # a count column is never money


def test_a_header_that_no_longer_gives_the_amount_is_dropped_at_grounding(settings):
    page = Article(source="survey.txt", text=SURVEY_PAGE, kind="text")
    extraction = extract(page, make_client(settings), settings)
    wrong = "We show the median base salary, which is what offers quote."  # in the text, but names no currency
    extraction.salaries = [s.model_copy(update={"header_quote": wrong}) for s in extraction.salaries]
    grounded = ground(page, extraction)
    assert not [g for g in grounded.records if g.kind == "salary"]
    assert grounded.stats.dropped_invalid == len(extraction.salaries) == 2


def test_the_nearest_copy_of_a_repeated_header_is_the_one_stored(settings):
    later = SURVEY_PAGE.replace("96,000", "101,000").replace("164,500", "171,000")  # next year's table
    page = Article(source="two.txt", text=f"{SURVEY_PAGE}\n{later}", kind="text")
    grounded = ground(page, extract(page, make_client(settings), settings))
    second = len(SURVEY_PAGE) + 1
    rows = [g for g in grounded.records if g.kind == "salary" and g.provenance.char_start > second]
    assert rows and all(g.record.header_start > second for g in rows)
