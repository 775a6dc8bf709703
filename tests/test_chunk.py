"""Chunking: only lines that can hold records are sent, each with its heading or table header."""

from __future__ import annotations

from pipeline.chunk import chunk_text, section_start, split_lines

TEXT = """Our survey
We asked 400 engineers about their week.
Pay by level
Level | Experience | Salary
Entry | 0-2 years | $70K - $90K
Mid | 3-5 years | $90K - $120K
Senior | 5+ years | $120K - $160K
Weather
It rained a lot this spring.
Skills
Most teams want Python and SQL.
"""


def money_starts(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch == "$" and (i == 0 or text[i - 1] == " ")][::2]


def test_lines_keep_their_offsets():
    for line in split_lines(TEXT):
        assert TEXT[line.start : line.end] == line.text


def test_only_money_lines_are_sent_and_table_rows_keep_their_header():
    (chunk,) = chunk_text(TEXT, money_starts(TEXT), max_chars=6000)
    texts = [line.text for line in chunk.lines]
    assert "It rained a lot this spring." not in texts
    assert "Level | Experience | Salary" in texts
    assert texts.index("Level | Experience | Salary") < texts.index("Entry | 0-2 years | $70K - $90K")
    assert "Most teams want Python and SQL." not in texts  # skills are found by code, not sent
    assert "Pay by level" in texts  # the table's heading comes along


def test_a_quoted_line_is_no_heading():
    """A short line quoting an earlier post ("> base went 120 -> 131") gives no meaning to the lines under it."""
    text = "Offer thread\n> my TC is 140\nNice. I'm on $118K base.\nRent\nIt costs $2,100.\n"
    chunk_lines = chunk_text(text, [text.index("$118K"), text.index("$2,100")], max_chars=6000)[0].lines
    texts = [line.text for line in chunk_lines]
    assert texts.index("Offer thread") < texts.index("Nice. I'm on $118K base.")
    assert "> my TC is 140" not in texts and "Rent" in texts


def test_a_boards_quote_line_is_no_heading():
    """A board writes a quote as "name wrote:" and the quoted words: no heading for the reply under it."""
    text = "Offer thread\nmila_k wrote:my TC is 140\nNice offer, I would take it. I'm on $118K base at a bank.\n"
    chunk_lines = chunk_text(text, [text.index("$118K")], max_chars=6000)[0].lines
    assert "mila_k wrote:my TC is 140" not in [line.text for line in chunk_lines]


def test_a_table_split_across_chunks_repeats_its_header():
    chunks = chunk_text(TEXT, money_starts(TEXT), max_chars=90)
    assert len(chunks) > 1
    for chunk in chunks:
        texts = [line.text for line in chunk.lines]
        for i, text in enumerate(texts):
            if text.startswith(("Entry", "Mid", "Senior")):
                assert "Level | Experience | Salary" in texts[:i]


FLAT = """Pay by level
Our survey of 400 engineers found a wide spread between levels this year.
Level
Experience
Salary
Entry
0-2 years
$70K - $90K
Mid
3-5 years
$90K - $120K
Senior
5+ years
$120K - $160K
That is all for pay; the weather was fine.
"""


def line_starts_with_money(text: str) -> list[int]:
    return [line.start for line in split_lines(text) if line.text.startswith("$")]


def test_a_table_flattened_to_one_cell_per_line_keeps_its_header_and_row_labels():
    (chunk,) = chunk_text(FLAT, line_starts_with_money(FLAT), max_chars=6000)
    texts = [line.text for line in chunk.lines]
    assert texts == [
        "Pay by level",
        "Level\nExperience\nSalary",
        "Entry\n0-2 years",
        "$70K - $90K",
        "Mid\n3-5 years",
        "$90K - $120K",
        "Senior\n5+ years",
        "$120K - $160K",
    ]
    for line in chunk.lines:
        assert FLAT[line.start : line.end] == line.text
    context = {line.text: chunk.context[line.start] for line in chunk.lines}
    assert context["$70K - $90K"].text == "Entry\n0-2 years" and context["Mid\n3-5 years"].text.startswith("Level")


def test_short_lines_with_money_at_no_fixed_step_are_not_taken_for_a_table():
    text = "Notes\nA\n$50K\nB\nC\nD\n$60K\nE\n"  # steps of 4 with no room for a header row before
    (chunk,) = chunk_text(text, line_starts_with_money(text), max_chars=6000)
    assert [line.text for line in chunk.lines] == ["A", "$50K", "D", "$60K"]  # each with its nearest heading only


def test_adjacent_lines_with_one_pipe_are_a_two_column_table_and_a_lone_one_is_not():
    text = "Pay guide | Example site\n\nLevel | Net per month\nJunior | ₺55.000\nSenior | ₺135.000\n"
    rows = [line.is_table_row for line in split_lines(text)]
    assert rows == [False, True, True, True]
    [chunk] = chunk_text(text, [text.index("₺135")])
    assert chunk.context[text.index("Senior")].text == "Level | Net per month"


def test_a_numbered_line_in_capitals_is_a_heading_and_a_numbered_sentence_is_not():
    """A plain-text page numbers its headings ("2. WHAT IT COSTS") as a list numbers its items: the capitals
    tell them apart, so the figures under it have their section."""
    text = (
        "Rates in 2026\n\nWe asked forty freelance analysts what they bill and what they spend in a year.\n\n"
        "1. DAY RATES FOR LOCAL CLIENTS\n\nAnalysts bill about $400 a day for short projects and reviews.\n"
        "2. Most of them also teach a course on the side, for extra income.\n"
    )
    heading = text.index("1. DAY RATES")
    assert section_start(text, text.index("$400")) == heading
    assert section_start(text, text.index("teach")) == heading  # the numbered sentence opens no section
