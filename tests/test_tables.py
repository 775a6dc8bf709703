"""Table reader: bare-number cells take currency, multiplier and period from their header, caption or the
sentence introducing the table; a cell's own marker is left to the money scanner; counts are never money."""

from db.engine import init_db
from pipeline.clean import clean
from pipeline.extract import extract
from pipeline.ground import ground
from pipeline.llm import make_client
from pipeline.money import scan_money
from pipeline.save import ExtractorVersion, save
from pipeline.tables import (
    currency_region,
    derive,
    meaning_of,
    salary_fields,
    table_figures,
    table_money,
    without_paired,
)
from schemas.documents import Article, MoneyUse, Page
from schemas.records import FigureKind, Level, PayBasis, Period, Statistic

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


SPANNING = """Die Werte sind Spannen vom 25. bis zum 75. Perzentil. Alle Angaben in Tausend Euro.
| Level | München | Wien |
|---|---|---|
| **Jahresbrutto (T€)** |  |  |
| Senior ML Engineer (6–9 J.) | 88–102 | 71–84 |
"""

LOCAL_CAPTION = """Bảng 1. Lương gộp hằng tháng — Vietnam, Q1 2025 (triệu VND/tháng) |  |  |
Vai trò / Role | P25 | Median
AI/ML Engineer | 50 | 62
"""


def test_a_row_under_the_header_with_text_in_its_first_cell_only_speaks_for_the_whole_table():
    """Issue 15.2: "**Jahresbrutto (T€)** |  |" under the header gives every column its multiplier and period,
    in German as in English."""
    assert _read(SPANNING) == [
        ("88–102", 88000, 102000, "EUR", Period.year),
        ("71–84", 71000, 84000, "EUR", Period.year),
    ]


def test_a_caption_in_another_language_gives_its_multiplier_and_period():
    """Millions and months written the local way: "triệu" and "/tháng" (tables.toml, periods.toml)."""
    assert _read(LOCAL_CAPTION) == [
        ("50", 50_000_000, 50_000_000, "VND", Period.month),
        ("62", 62_000_000, 62_000_000, "VND", Period.month),
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


def test_the_first_sentence_of_an_intro_that_names_a_period_gives_the_tables_period():
    text = (
        "Every figure is in złoty per month, gross. Employers also pay an annual bonus, not shown.\n"
        "| Role | Junior | Senior |\n|---|---|---|\n| Analyst | 7 500 – 9 800 | 14 000 – 18 500 |\n"
    )
    assert [(f.money.amount_min, f.money.currency, f.money.period) for f in table_figures(text)] == [
        (7500, "PLN", Period.month),
        (14000, "PLN", Period.month),
    ]


def test_a_caption_speaks_for_the_multiplier_over_the_paragraph_before_it():
    text = (
        "Engineers in Tampere earn a few thousand euros less than in Helsinki.\n"
        "Monthly gross pay, Finland (€ per month) |  |\nLevel | Helsinki | Tampere\n"
        "Senior | 5 900 – 7 100 | 5 200 – 6 300\n"
    )
    assert [(f.money.amount_min, f.money.amount_max) for f in table_figures(text)] == [(5900, 7100), (5200, 6300)]


def test_an_intro_gives_a_multiplier_only_as_the_tables_unit():
    rows = "| Level | Monthly gross (Kč) |\n|---|---|\n| Senior | 95 000 – 120 000 |\n"
    prose = "Czech ads write thousands with a space, and offers in Brno run a few thousand lower.\n"
    assert [f.money.amount_min for f in table_figures(prose + rows)] == [95000]
    for unit in ("Figures are in thousands of koruna per month.\n", "Table 3  Monthly gross, Kč '000, Prague\n"):
        assert [f.money.amount_min for f in table_figures(unit + rows.replace("95 000 – 120 000", "95 – 120"))] == [
            95000
        ]


def test_a_row_of_counts_is_not_money_under_a_table_currency():
    text = (
        "A contractor's year (amounts in pounds) |\nItem | Amount\n"
        "Billable hours (35 a week) | 1,540\nInvoiced at £85 an hour | 130,900\n"
    )
    assert [f.money.amount_min for f in table_figures(text)] == [130900]


def test_east_asian_headers_count_in_ten_thousands_with_a_one_character_currency():
    japan = "役職 | Base per year (万円)\nSenior engineer | 900–1,200\n"
    korea = "| Level | 연봉 (만 원) |\n|---|---|\n| Senior | 7,000–9,500 |\n"
    assert [(f.money.amount_min, f.money.amount_max, f.money.currency) for f in table_figures(japan)] == [
        (9_000_000, 12_000_000, "JPY")
    ]
    assert [(f.money.amount_min, f.money.currency) for f in table_figures(korea)] == [(70_000_000, "KRW")]


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


FOOTNOTED = """Survey of 140 studios, spring 2026
Role | Level | Median | Upper quartile | Responses
Game programmer | Mid (3–6 yrs) | 41.5 | 47.0 | 52
Technical artist | Senior (7+ yrs) | 55.0 | 63.5 | 18
Figures above are in thousands of Czech koruna a month, gross, before social insurance.
Studios also paid a Christmas bonus of 30,000 Kč on average.
"""


def test_a_note_under_a_table_gives_its_bare_cells_currency_multiplier_and_period():
    found = [(f.money.amount_min, f.money.currency, f.money.period) for f in table_figures(FOOTNOTED)]
    assert found == [(41500, "CZK", Period.month), (47000, "CZK", Period.month)] + [
        (55000, "CZK", Period.month),
        (63500, "CZK", Period.month),
    ]


def test_a_notes_row_closing_the_table_states_its_unit_too():
    text = (
        "Hourly rates\nRole | Typical | Top\nTranslator | 1.8 | 2.6\n"
        "Note: all rates in thousands of Hungarian forints per hour. |  |\n"
    )
    assert [(f.money.amount_min, f.money.currency, f.money.period) for f in table_figures(text)] == [
        (1800, "HUF", Period.hour),
        (2600, "HUF", Period.hour),
    ]


def test_a_note_naming_a_shared_currency_by_its_full_name_gives_that_one():
    text = "Role | Median\nAnalyst | 85\nSource: our 2025 survey; amounts in Tanzanian shillings ('000) a month.\n"
    assert [(f.money.amount_min, f.money.currency) for f in table_figures(text)] == [(85000, "TZS")]


def test_the_stored_header_span_runs_through_the_note_and_rederives_only_its_row():
    first, *_, last = table_figures(FOOTNOTED)
    span = first.governing
    assert FOOTNOTED[span.start : span.end] == span.text
    assert span.text.startswith("Role | Level") and span.text.endswith("before social insurance.")
    assert first.header.text.endswith("Responses")  # what the model reads over the row stays the header
    assert derive(span.text, last.row.text) == [55000, 55000, 63500, 63500]
    assert derive(first.header.text, last.row.text) == []  # without the note, nothing says what 55.0 is


def test_prose_after_a_table_that_merely_names_money_does_not_price_it():
    text = FOOTNOTED.replace(
        "Figures above are in thousands of Czech koruna a month, gross, before social insurance.\n", ""
    )
    assert table_figures(text) == []


def test_an_amount_in_millions_next_to_a_table_is_no_unit_of_its_cells():
    table = "Role | Monthly gross (PLN)\nData analyst | 9,000 – 12,500\n"
    story = "One founder said her stake is worth zł 2.5 million a year."
    for text in (f"{story}\n{table}", f"{table}{story}\n"):
        assert [(f.money.amount_min, f.money.amount_max) for f in table_figures(text)] == [(9000, 12500)]


def test_a_paragraph_between_two_tables_introduces_the_second_and_is_no_note_of_the_first():
    text = (
        "Role | Median | Responses\nGame programmer | 41.5 | 52\n"
        "The next table is in thousands of Czech koruna a month.\n"
        "Role | Median | Responses\nTechnical artist | 55.0 | 18\n"
    )
    assert [(f.money.text, f.money.amount_min) for f in table_figures(text)] == [("55.0", 55000)]


def test_a_footnoted_table_is_stored_with_its_note_as_the_grounded_header(settings):
    page = Article(source="studios.txt", text=FOOTNOTED, kind="text")
    grounded = ground(page, extract(page, make_client(settings), settings))
    salaries = [g.record for g in grounded.records if g.kind == "salary"]
    assert sorted(s.amount_min for s in salaries) == [41500, 47000, 55000, 63500]
    for salary in salaries:
        assert FOOTNOTED[salary.header_start : salary.header_end] == salary.header_quote
        assert salary.header_quote.endswith("before social insurance.")


# --- statistic, pay basis, kind, level and region per column ------------------------------------------------

COMP = """Offers accepted in 2025, by level.
Level | Median base (USD) | P90 (USD) | Range ($K) | P25 – P75 ($K) | Bonus (USD) | Total comp (USD)
Junior | 96,000 | 130,000 | 60–75 | 88–104 | 10,000 | 110,000
"""


def _by_text(text: str) -> dict:
    return {f.money.text: f for f in table_figures(text)}


def test_each_column_names_its_statistic():
    found = {text: f.meaning.statistic for text, f in _by_text(COMP).items()}
    assert found == {
        "96,000": Statistic.median,
        "130,000": Statistic.p90,
        "60–75": Statistic.range,
        "88–104": Statistic.p25_p75,
        "10,000": None,
        "110,000": None,
    }


def test_thousands_columns_and_range_cells():
    found = _by_text(COMP)
    assert (found["60–75"].money.amount_min, found["60–75"].money.amount_max) == (60000, 75000)
    assert (found["88–104"].money.amount_min, found["88–104"].money.currency) == (88000, "USD")


def test_bonus_column_is_not_pay_and_total_comp_is_total_pay():
    found = _by_text(COMP)
    assert found["10,000"].meaning.kind is FigureKind.bonus
    assert found["110,000"].meaning.kind is None and found["110,000"].meaning.basis is PayBasis.total
    assert found["96,000"].meaning.basis is PayBasis.base
    assert _by_text(COMP.replace("Total comp", "Base + bonus"))["110,000"].meaning.kind is None


QUARTILES = """Monthly base pay, in thousands of pesos (MXN '000), 2026.
Role | P25 | Median | P75 | Answers
Data engineer | 38 | 45 | 54 | 61
ML engineer | 52 | 60 | 71 | 40
"""


def test_p25_and_p75_columns_make_one_range_beside_the_median_and_rederive_from_the_row():
    """tables.toml range_columns: a row's P25 and P75 cells are the bounds of one salary; the median its own."""
    found = table_figures(QUARTILES)
    read = [(f.money.amount_min, f.money.amount_max, f.meaning.statistic) for f in found]
    assert read == [
        (38000, 54000, Statistic.p25_p75),
        (45000, 45000, Statistic.median),
        (52000, 71000, Statistic.p25_p75),
        (60000, 60000, Statistic.median),
    ]
    first = found[0]
    assert derive(first.header.text, first.row.text) == [38000, 54000, 45000, 45000]


def test_low_and_high_cells_stay_apart_when_they_cannot_bound_one_range():
    swapped = QUARTILES.replace("| 38 | 45 | 54 |", "| 58 | 45 | 54 |")
    found = [(f.money.amount_min, f.money.amount_max) for f in table_figures(swapped)][:3]
    assert found == [(58000, 58000), (45000, 45000), (54000, 54000)]


def test_level_columns_and_city_columns_give_each_salary_its_level_and_region():
    levels = "Pay in 2025 (GBP per year)\nRole | Junior | Mid | Senior\nData scientist | 45,000 | 60,000 | 80,000\n"
    assert [salary_fields(f)["level"] for f in table_figures(levels)] == [Level.junior, Level.mid, Level.senior]
    cities = "Median annual pay in euros.\nLevel | London | Berlin\nSenior | 90,000 | 75,000\n"
    fields = [salary_fields(f) for f in table_figures(cities)]
    assert [(f["level"], f["region"]) for f in fields] == [(Level.senior, "UK"), (Level.senior, "Germany")]


def test_a_row_header_table_takes_currency_and_statistic_from_the_row_label():
    text = "Statistic | Junior | Senior\nMedian (USD) | 96,000 | 150,000\nP90 ($K) | 130 | 210\n"
    found = [(f.money.amount_min, f.money.currency, f.meaning.statistic) for f in table_figures(text)]
    assert found == [
        (96000, "USD", Statistic.median),
        (150000, "USD", Statistic.median),
        (130000, "USD", Statistic.p90),
        (210000, "USD", Statistic.p90),
    ]


def test_a_years_column_gives_its_rows_years_and_a_level_column_written_with_years_too():
    bare = "Grade | Years | Median (NOK '000)\nJunior | 0–3 | 560\nStaff | 12+ | 1,020\n"
    assert [(salary_fields(f)["years_min"], salary_fields(f).get("years_max")) for f in table_figures(bare)] == [
        (0, 3),
        (12, None),
    ]
    leveled = "Team | Level (years) | Median (NOK '000)\nPlatform | Senior (7–10) | 890\n"
    fields = salary_fields(table_figures(leveled)[0])
    assert (fields["level"], fields["years_min"], fields["years_max"]) == (Level.senior, 7, 10)
    no_column = "Team | Level | Median (NOK '000)\nPlatform | Senior (7–10) | 890\n"
    assert "years_min" not in salary_fields(table_figures(no_column)[0])  # "(7–10)" alone says no unit


# --- currencies through pipeline.currencies -----------------------------------------------------------------


def test_kr_takes_the_currency_of_the_country_in_its_row():
    text = (
        "Median monthly pay by country\nCountry | Role | Median (kr/month)\n"
        "Sweden | ML engineer | 52 000\nNorway | ML engineer | 61 000\nDenmark | ML engineer | 48 500\n"
    )
    assert [(f.money.currency, f.money.period) for f in table_figures(text)] == [
        ("SEK", Period.month),
        ("NOK", Period.month),
        ("DKK", Period.month),
    ]


def test_yen_is_yuan_in_china_and_yen_elsewhere():
    china = "Pay in China this year\nCity | Role | Median (¥)\nShanghai | ML engineer | 420,000\n"
    japan = "Pay in Japan this year\nCity | Role | Median (¥)\nTokyo | ML engineer | 8,200,000\n"
    assert [f.money.currency for f in table_figures(china)] == ["CNY"]
    assert [f.money.currency for f in table_figures(japan)] == ["JPY"]


def test_local_symbols_and_apostrophe_thousands():
    swiss = "Swiss salaries\nRole | Level | Median (CHF)\nML engineer | Senior | 120'000\n"
    czech = "Platy v Česku\nObor | Level | Medián (Kč)\nData | Senior | 85 000\n"
    assert [(f.money.amount_min, f.money.currency) for f in table_figures(swiss)] == [(120000, "CHF")]
    assert [(f.money.amount_min, f.money.currency) for f in table_figures(czech)] == [(85000, "CZK")]  # K of Kč


def test_a_multiplier_letter_before_or_after_a_symbol_is_thousands_of_that_currency():
    """A header's "K$", "k€", "€k" and "(£000s)": thousands of dollars, euros, pounds."""
    text = (
        "Offers by band\nBand | Experience | Base (k€ per year) | On-target (£000s) | Day rate (K$)\n"
        "B2 | 4–6 years | 62–70 | 58–66 | 0.9–1.1\n"
    )
    found = [(f.money.amount_min, f.money.amount_max, f.money.currency) for f in table_figures(text)]
    assert found == [(62000, 70000, "EUR"), (58000, 66000, "GBP"), (900, 1100, "USD")]


BRANCHES = """Branch pay, 2025
Branch | P25 / P75 base | Median base
Lyon | €41k / €52k | €46k
Geneva (in francs) | CHF 88k / CHF 104k | CHF 95k
"""


def test_a_cell_writing_both_bounds_with_its_marker_is_one_range_that_stands_for_the_two_scanned():
    scanned = scan_money(BRANCHES)
    figures = table_money(BRANCHES, scanned)
    read = [(f.money.text, f.money.amount_min, f.money.amount_max, f.money.currency) for f in figures]
    assert read == [("€41k / €52k", 41000, 52000, "EUR"), ("CHF 88k / CHF 104k", 88000, 104000, "CHF")]
    assert all(f.meaning.statistic is Statistic.p25_p75 for f in figures)
    left = {m.text for m in without_paired(scanned, figures)}
    assert {"€46k", "CHF 95k"} <= left and not left & {"€41k", "€52k", "CHF 88k", "CHF 104k"}
    assert derive(figures[0].header.text, figures[0].row.text) == [41000, 52000]


def test_a_marked_range_the_scanner_reads_whole_stays_the_scanners():
    text = "Branch pay, 2025\nBranch | Range\nLyon | €41k–€52k\n"
    assert table_money(text, scan_money(text)) == []


def test_a_code_inside_a_word_is_still_no_currency_and_a_digit_group_is_no_multiplier():
    assert table_figures("Claims handled\nTeam | FRAUDulent | Cleared\nNorth | 1,200 | 940\n") == []
    assert meaning_of("10,000s of answers").multiplier is None


def test_a_lone_letter_in_a_header_is_no_currency():
    assert table_figures("R&D pay\nTeam | Level | Median\nR&D | Senior | 85,000\n") == []


def test_a_markdown_table_under_a_sentence_naming_its_currency():
    text = (
        "Salaries below are in SEK per month.\n\n"
        "| Role | Median | P90 |\n|---|---|---|\n| ML engineer | 52 000 | 71 000 |\n"
    )
    found = [(f.money.amount_min, f.money.currency, f.money.period, f.meaning.statistic) for f in table_figures(text)]
    assert found == [(52000, "SEK", Period.month, Statistic.median), (71000, "SEK", Period.month, Statistic.p90)]


# --- the whole path: extract, ground, save, views ----------------------------------------------------------

LEVELS_PAGE = """<html><body><article>
<h1>Machine learning pay in Germany, 2025</h1>
<p>We asked 600 engineers what they earn. The table gives yearly gross pay in euros.</p>
<table>
<tr><th>Role</th><th>Junior median</th><th>Mid median</th><th>Senior median</th><th>Sign-on bonus</th></tr>
<tr><td>ML engineer</td><td>58,000</td><td>72,000</td><td>91,000</td><td>5,000</td></tr>
<tr><td>Data scientist</td><td>54,000</td><td>67,000</td><td>84,000</td><td>4,000</td></tr>
</table>
<p>Bonuses were paid once, at signing.</p>
</article></body></html>"""


def test_a_table_page_is_stored_with_levels_statistics_and_bonuses_apart(settings, blank_engine):
    page = clean(Page(source="de.html", body=LEVELS_PAGE.encode(), content_type="text/html"))
    grounded = ground(page, extract(page, make_client(settings), settings))
    assert grounded.stats.dropped_invalid == 0  # every amount re-derived from its row and header span
    init_db(blank_engine)
    save(blank_engine, page, grounded, ExtractorVersion(schema_hash="s", prompt_version="p", model="test"))
    with blank_engine.connect() as connection:
        salaries = connection.exec_driver_sql(
            "SELECT amount_min, currency, level, statistic, header_quote FROM v_salaries"
            " ORDER BY char_start, amount_min"
        ).fetchall()
        money = dict(
            connection.exec_driver_sql("SELECT amount_min, kind FROM v_money WHERE use = 'not_pay'").fetchall()
        )
    assert [(s[0], s[1], s[2], s[3]) for s in salaries] == [
        (58000, "EUR", "junior", "median"),
        (72000, "EUR", "mid", "median"),
        (91000, "EUR", "senior", "median"),
        (54000, "EUR", "junior", "median"),
        (67000, "EUR", "mid", "median"),
        (84000, "EUR", "senior", "median"),
    ]
    assert all(s[4] in page.text for s in salaries)
    assert money == {5000: "bonus", 4000: "bonus"}


def test_an_everyday_word_that_is_also_a_currency_does_not_price_a_table():
    text = "Engineers who won offers in 2025.\nRole | Level | Median\nML engineer | Senior | 85,000\n"
    assert table_figures(text) == []
    assert [f.money.currency for f in table_figures(text.replace("Median", "Median (KRW)"))] == ["KRW"]


def test_a_tab_separated_table_is_read_like_a_piped_one():
    text = "Pay in 2025 (GBP per year)\nRole\tJunior\tSenior\nData scientist\t45,000\t80,000\n"
    found = [(f.money.text, f.money.amount_min, f.money.currency, f.column) for f in table_figures(text)]
    assert found == [("45,000", 45000, "GBP", "Junior"), ("80,000", 80000, "GBP", "Senior")]


FLATTENED = """Pay survey 2024

Chart 4 Yearly base pay, NOK thousands, Oslo
Job
Entry (0-2 yrs)
Mid (3-6 yrs)
Lead (7+ yrs)
Data engineer
610 - 690
700 - 820
n/a
Analytics engineer
580 - 650
660 - 760
850 - 990

Chart 5 Daily rates, EUR per day
Data engineer: 620 - 780
Analytics engineer: 560 - 700
"""


def test_a_table_flattened_to_one_cell_per_line_is_read_under_its_caption():
    found = [
        (f.money.text, f.money.amount_min, f.money.amount_max, f.money.currency, f.money.period, f.column, f.label)
        for f in table_figures(FLATTENED)
    ]
    assert found[:3] == [
        ("610 - 690", 610_000, 690_000, "NOK", Period.year, "Entry (0-2 yrs)", "Data engineer"),
        ("700 - 820", 700_000, 820_000, "NOK", Period.year, "Mid (3-6 yrs)", "Data engineer"),
        ("580 - 650", 580_000, 650_000, "NOK", Period.year, "Entry (0-2 yrs)", "Analytics engineer"),
    ]
    assert [(f[0], f[5]) for f in found[3:5]] == [("660 - 760", "Mid (3-6 yrs)"), ("850 - 990", "Lead (7+ yrs)")]
    assert found[5:] == [
        ("620 - 780", 620, 780, "EUR", Period.day, "", "Data engineer"),
        ("560 - 700", 560, 700, "EUR", Period.day, "", "Analytics engineer"),
    ]


def test_a_flattened_figure_rederives_from_its_cell_line_and_header_span():
    for figure in table_figures(FLATTENED):
        header = FLATTENED[figure.header.start : figure.header.end]
        assert header == figure.header.text and header.startswith("Chart")  # not the page heading above
        bounds = [figure.money.amount_min, figure.money.amount_max]
        assert derive(header, figure.row.text) == bounds, figure.row.text
    assert derive("Job\nEntry (0-2 yrs)", "610 - 690") == []  # without the caption's currency, nothing


def test_short_lines_of_bare_numbers_without_a_currency_are_no_table():
    text = "Results\n\nTeam\nQ1\nQ2\nAlpha\n12\n14\nBeta\n9\n11\n\nScores: see below\nAlpha: 12\nBeta: 9\n"
    assert table_figures(text) == []


def test_a_column_of_a_level_with_years_holds_pay_and_a_years_column_counts():
    text = "Pay (EUR per year)\nRole | Mid (3-6 yrs) | Years\nDeveloper | 61,000 | 4\n"
    assert [(f.money.amount_min, f.column) for f in table_figures(text)] == [(61000, "Mid (3-6 yrs)")]


def test_a_flattened_cell_salary_takes_role_and_years_from_its_row_and_column(settings):
    page = Article(source="flat.txt", text=FLATTENED, kind="text")
    grounded = ground(page, extract(page, make_client(settings), settings))
    salaries = {(g.record.amount_min, g.record.amount_max): g.record for g in grounded.records if g.kind == "salary"}
    entry = salaries[(610_000, 690_000)]
    assert (entry.role, entry.years_min, entry.years_max) == ("data engineer", 0, 2)
    assert FLATTENED[entry.header_start : entry.header_end] == entry.header_quote
    assert salaries[(660_000, 760_000)].years_min == 3
    assert salaries[(560, 700)].period is Period.day


# --- the region of a table no words place -------------------------------------------------------------------

STUDIO_PAY = """Studio pay, spring 2026
Role | Median monthly ({code})
QA engineer | 38,000
Backend developer | 61,000
"""


def _regions(settings, text: str) -> list:
    page = Article(source="studios.txt", text=text, kind="text")
    grounded = ground(page, extract(page, make_client(settings), settings))
    return [g.record.region for g in grounded.records if g.kind == "salary"]


def test_a_table_in_one_countrys_currency_is_pay_in_that_country(settings):
    assert currency_region("UAH") == "Ukraine" and currency_region("JPY") == "Japan"
    assert currency_region("EUR") is None and currency_region("USD") is None  # tendered in many countries
    assert _regions(settings, STUDIO_PAY.format(code="UAH")) == ["Ukraine", "Ukraine"]
    assert _regions(settings, STUDIO_PAY.format(code="EUR")) == [None, None]


def test_a_region_the_page_names_wins_over_the_tables_currency(settings):
    text = "Poland\n" + STUDIO_PAY.format(code="UAH")
    assert _regions(settings, text) == ["Poland", "Poland"]


TWO_ROW_HEADER = """Monthly base pay, Lusaka, 2026
Role | Years | Base pay per month (ZMW 000s) |  |  | Answers
|  | P25 | Median | P75 |
Analyst | 0–2 | 9 | 11 | 14 | 40
Engineer | 3–5 | 15 | 18 | 22 | 25
"""


def test_a_second_header_row_under_a_spanning_heading_names_that_headings_columns():
    """A two-row header whose lower row holds only the spanned columns' words ("P25 | Median | P75" under
    "Base pay per month (ZMW 000s)") gives them to the spanned columns, not to the first ones: P25 and P75
    make one range beside the median, in thousands."""
    found = sorted((f.money.amount_min, f.money.amount_max) for f in table_figures(TWO_ROW_HEADER))
    assert found == [(9000, 14000), (11000, 11000), (15000, 22000), (18000, 18000)]


RATES_BY_CHANNEL = """Rates by channel, 2026
Role | Marketplace hourly rate (USD/h) | Direct day rate (EUR/day) | Annual refresher (RSU grant value)
Data engineer | $40 – $65 | €350 – €520 | $15,000 – $30,000
"""


def test_a_marked_cell_takes_the_period_and_the_kind_only_its_column_states():
    """A cell with its own marker keeps the scanner's amount and currency, but its column's period (hour, day)
    or kind (a grant column) is what the scan could not see: the table figure stands for the scanned one."""
    scanned = scan_money(RATES_BY_CHANNEL)
    figures = table_money(RATES_BY_CHANNEL, scanned)
    read = [(f.money.text, f.money.amount_min, f.money.currency, f.money.period, f.meaning.kind) for f in figures]
    assert read == [
        ("$40 – $65", 40, "USD", Period.hour, None),
        ("€350 – €520", 350, "EUR", Period.day, None),
        ("$15,000 – $30,000", 15000, "USD", Period.year, FigureKind.bonus),
    ]
    assert not {m.text for m in without_paired(scanned, figures)} & {"$40 – $65", "€350 – €520"}


def test_a_header_in_lakhs_multiplies_its_cells():
    """South Asian tables count in lakhs ("Salary (₹ LPA)"): a cell of "18–30" is ₹1.8–3 million a year."""
    text = "MLOps pay in India, 2026\nLevel | Salary (₹ LPA)\nMid-level | 18–30\n"
    assert _read(text) == [("18–30", 1_800_000, 3_000_000, "INR", Period.year)]


def test_a_row_label_gives_the_period_of_every_cell_of_its_row(settings):
    """ "Basic salary (per month) | AED … | SAR …": the label speaks for each cell, not only the one beside it."""
    text = (
        "Compensation\n| Dubai | Riyadh\n"
        "Basic salary (per month) | AED 32,000 – 40,000 | SAR 31,000 – 39,000\n"
        "Revenue at €100 per hour | €120,000 | €96,000\n"
    )
    extraction = extract(Article(source="posting.txt", text=text, kind="text"), make_client(settings), settings)
    periods = {(s.currency, s.amount_min): s.period for s in extraction.salaries}
    assert periods[("AED", 32000)] is periods[("SAR", 31000)] is Period.month
    assert periods.get(("EUR", 120000)) is not Period.hour  # a figure in the label is no word of the label's
