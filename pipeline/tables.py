"""Table reader: the bare-number cells of a table become money figures with the meaning its header gives.

A survey table writes "Median base (USD)" or "Range (€ thousands)" once, in its header, and then only numbers
("131,000", "60–75") in its cells; the money scanner rightly reads no money there, because a number without a
currency is not money. Here each column takes its currency, multiplier, period and statistic from its own
header cells, else from its row's label, else from the table's caption or the sentence that introduces the
table, else from a note under it that writes them as its unit; a cell that writes its own currency is left to
the scanner (its own marker wins). A marker several currencies share ("kr", "¥") names the one of the country
its row or the page names (`pipeline.currencies`). A column's header also says whether its figures are base or
total pay, or money that is not pay (a bonus column), and with the row's label, which level or region a figure
is for (`salary_fields`); a table no words place is pay in the country whose currency it is written in, when
that currency is one country's alone (`currency_region`). Every figure keeps the header span that gave it its
meaning, so its amount can be derived again from the row and that span alone (`derive`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from itertools import pairwise

from babel import Locale

from pipeline.chunk import Line, cell_runs, split_lines
from pipeline.currencies import currency_of, markers, territory_codes
from pipeline.levels import detect_pay_basis, parse_level
from pipeline.mentions import find_region, find_role
from pipeline.money import Money, detect_period, stated_period
from pipeline.vocab import alternation, vocabulary
from schemas.records import FigureKind, Level, PayBasis, Period, Statistic

_TABLES = vocabulary().tables
# A header names a currency with any marker the money scanner knows (pipeline.currencies: every ISO code, CLDR
# symbol and English name) or with one of the tables' own currency words ("pounds", "sterling").
_NAMES = {name.casefold(): code for name, code in _TABLES.currency_names.items()}


@functools.cache
def _currency_word() -> re.Pattern:
    """Any currency marker a header may write. Built on first use, as Babel's locale data takes a moment to
    read. A lone Latin letter ("R" for rand) is left out: in a header it is far more often a word ("R&D") than
    a currency (a lone CJK one, "円" or "원", is a currency); so are the markers tables.toml lists as everyday
    words ("won")."""
    usable = [
        m
        for m in [*markers(), *_TABLES.currency_names]
        if not (len(m) == 1 and m.isascii() and m.isalpha()) and m not in _TABLES.not_currencies
    ]
    # A code or name must not start inside a word ("AUD" in "FRAUD"); a symbol may follow a multiplier
    # letter ("K$", "k€": thousands of dollars, of euros).
    worded = [m for m in usable if m[0].isascii() and m[0].isalpha()]
    symbols = [m for m in usable if m not in worded]
    return re.compile(rf"(?<![A-Za-z])(?:{alternation(worded)})|(?:{alternation(symbols)})")


# Multiplier words a header, caption or note may use: the scanner's spaced ones ("million", "lakh", "triệu") and
# the header-only ones of tables.toml ("'000", "$K", "T€").
_UNIT_WORDS = {**vocabulary().multipliers.spaced, **_TABLES.multipliers}
_MULTIPLIER_WORD = re.compile(
    rf"(?<![\w,.])(?:{alternation(_UNIT_WORDS, edge=False)})(?!\w)",
    re.IGNORECASE,  # "$K", not the K of "Kč"
)
_MULTIPLIER_KEYS = {key.casefold(): value for key, value in _UNIT_WORDS.items()}


def _words(words) -> re.Pattern:
    """Whole words or phrases of the vocabulary, case-insensitively, the longest first."""
    return re.compile(rf"(?<![\w-])(?:{alternation(words, edge=False)})(?![\w-])", re.IGNORECASE)


_COUNT_COLUMN = _words(_TABLES.count_columns)
_COUNT_ROW = _words(_TABLES.count_rows)
_YEARS_COLUMN = _words(_TABLES.years_columns)
_LAST_SPAN = re.compile(r"\d+(?:\s*[-–]\s*\d+|\s*\+)?(?!.*\d)")  # "0–2", "10+": the last span of a cell
_STATISTIC_WORD = _words(_TABLES.statistics)
_STATISTIC_KEYS = {key.casefold(): value for key, value in _TABLES.statistics.items()}
_TOTAL_COLUMN = _words(_TABLES.total_columns)
_BASE_COLUMN = _words(_TABLES.base_columns)
_KIND_WORD = _words(_TABLES.column_kinds)
_KIND_KEYS = {key.casefold(): value for key, value in _TABLES.column_kinds.items()}

_NUMBER = r"\d{1,3}(?:[ ,.'’\u00a0\u202f]\d{3})+(?!\d)|\d+(?:[.,]\d+)?"
# A cell holding only a figure or a range of two: "131,000", "52–64", "38 – 44", "58,000 / 81,000", "120k+".
_CELL = re.compile(
    rf"(?P<low>{_NUMBER})(?P<kl>[kK])?(?:\s*(?:[-–—/]|to)\s*(?P<high>{_NUMBER})(?P<kh>[kK])?)?(?P<plus>\+)?"
)
_HEADING_MAX = 60  # a shorter line before a table is read as a heading, not part of its introducing sentence
_SEPARATOR_ROW = re.compile(r"^[\s|:\-–]+$")


@dataclass(frozen=True)
class Meaning:
    """What a column's bare numbers are, from its header, row label or caption: the currency marker as written
    (the country of the row or page decides a shared one, see `currency`), multiplier, period, statistic, and
    for a column, whether it is base or total pay, or money of a kind that is not pay (a bonus, a change)."""

    marker: str | None = None
    multiplier: float | None = None
    period: Period | None = None
    statistic: Statistic | None = None
    basis: PayBasis = PayBasis.unspecified
    kind: FigureKind | None = None

    def over(self, other: Meaning) -> Meaning:
        """This meaning, with what it leaves open taken from `other` (a column's over its table's)."""
        return replace(
            self,
            marker=self.marker or other.marker,
            multiplier=self.multiplier or other.multiplier,
            period=self.period or other.period,
            statistic=self.statistic or other.statistic,
        )


@dataclass(frozen=True)
class TableFigure:
    """A money figure read from a bare-number cell, its row, the header span that gave it its meaning, and
    the words of its column's header and its row's label (which may name its level or region)."""

    money: Money
    row: Line
    header: Line
    meaning: Meaning = Meaning()
    column: str = ""
    label: str = ""
    experience: str = ""  # the row's cell under a years column, as years ("0–2 years", "Entry (0–2 years)")
    span: Line | None = None  # the header through the note under the table, when that note gave the meaning

    @property
    def governing(self) -> Line:
        """The span that gave the figure its meaning: its header, or the header through the table's note."""
        return self.span or self.header


@dataclass(frozen=True)
class Cell:
    start: int
    end: int
    text: str


def cells(line: Line) -> list[Cell]:
    """The cells of a table row with their offsets (stripped), split at pipes, else at tabs (a row pasted from
    a spreadsheet); outer pipes of a Markdown row are dropped."""
    found, pos = [], line.start
    for raw in line.text.split("|" if "|" in line.text else "\t"):
        stripped = raw.strip()
        lead = len(raw) - len(raw.lstrip())
        found.append(Cell(pos + lead, pos + lead + len(stripped), stripped))
        pos += len(raw) + 1
    text = line.text.strip()
    if text.startswith("|") and text.endswith("|") and len(found) > 2:
        found = found[1:-1]
    return found


def meaning_of(text: str) -> Meaning:
    """The currency marker, multiplier, period and statistic a header cell, caption or sentence names."""
    currency = _currency_word().search(text)
    multiplier = _MULTIPLIER_WORD.search(text)
    statistic = _STATISTIC_WORD.search(text)
    return Meaning(
        marker=currency[0] if currency else None,
        multiplier=_MULTIPLIER_KEYS[multiplier[0].casefold()] if multiplier else None,
        period=detect_period(text),
        statistic=_STATISTIC_KEYS[statistic[0].casefold()] if statistic else None,
    )


def currency(marker: str, text: str, pos: int) -> str | None:
    """The ISO code a header's marker names for the cell at `pos`: a shared one ("kr", "¥") by the country
    its row names, else the nearest one named before it (pipeline.currencies)."""
    return currency_of(marker, text, pos) if marker in markers() else _NAMES[marker.casefold()]


def read_cell(cell: Cell, meaning: Meaning, text: str) -> Money | None:
    """The Money of a bare-number cell of `text` under `meaning`, or None when the cell is not one figure or
    range or nothing names a currency; its currency is None when the marker names none there."""
    found = _CELL.fullmatch(cell.text)
    if found is None or meaning.marker is None:
        return None
    scale = meaning.multiplier or 1.0
    low = _number(found["low"]) * (1e3 if found["kl"] else scale)
    high = _number(found["high"]) * (1e3 if found["kh"] else scale) if found["high"] else low
    if low > high:
        return None
    plus = bool(found["plus"])
    return Money(
        cell.start,
        cell.end,
        cell.text,
        round(low, 6),
        None if plus and low == high else round(high, 6),
        currency(meaning.marker, text, cell.start),
        meaning.period,
        plus,
    )


def _number(raw: str) -> float:
    """A written number: digit groups of three after a separator are thousands, else a comma is a decimal."""
    if re.fullmatch(r"\d{1,3}(?:[ ,.'’\u00a0\u202f]\d{3})+", raw):
        return float(re.sub(r"\D", "", raw))
    return float(raw.replace(",", "."))


def _is_caption(row: Line) -> bool:
    """A caption kept as a table row: text in the first cell only ("Table 1. … ('000 SEK) |  |  |")."""
    parts = cells(row)
    return bool(parts[0].text) and not any(c.text for c in parts[1:])


def _has_figure(row: Line) -> bool:
    """Whether a row holds a bare figure or a range written with its marker on both bounds: a data row."""
    return any(_CELL.fullmatch(_unmarked(c.text)) for c in cells(row)[1:])


def blocks(lines: list[Line]) -> list[list[Line]]:
    """Runs of adjacent table rows (no blank line between), Markdown separator rows left out."""
    runs: list[list[Line]] = []
    previous: Line | None = None
    for line in lines:
        if not line.is_table_row:
            previous = None
            continue
        if previous is None or previous.end + 1 != line.start:
            runs.append([])
        previous = line
        if not _SEPARATOR_ROW.match(line.text):
            runs[-1].append(line)
    return [run for run in runs if run]


def _intro(text: str, lines: list[Line], first: Line) -> Line | None:
    """The sentence right before a table, which often says its units: the lines back to the end of the
    previous sentence or a heading (a wrapped Markdown paragraph spans several lines)."""
    before = [line for line in lines if line.end < first.start and not line.is_table_row]
    if not before or text[before[-1].end : first.start].count("\n") > 2:
        return None
    para = [before[-1]]
    for line in reversed(before[:-1]):
        if line.end + 1 != para[0].start or _ends_sentence(line):
            break
        para.insert(0, line)
    return Line(para[0].start, para[-1].end, text[para[0].start : para[-1].end])


def _note(text: str, lines: list[Line], last: Line) -> Line | None:
    """The paragraph right under a table, which may be its footnote ("All figures above are in thousands of
    …"): the lines after its last row up to the end of a sentence, with no more than one blank line between;
    none when a table follows that paragraph (it is that table's introducing sentence)."""
    after = [line for line in lines if line.start > last.end]
    if not after or after[0].is_table_row or text[last.end : after[0].start].count("\n") > 2:
        return None
    para = [after[0]]
    for line in after[1:]:
        if line.start != para[-1].end + 1 or line.is_table_row or para[-1].text.strip().endswith((".", "!", "?")):
            break
        para.append(line)
    following = after[len(para)] if len(para) < len(after) else None
    if following is not None and following.is_table_row and text[para[-1].end : following.start].count("\n") <= 2:
        return None
    return Line(para[0].start, para[-1].end, text[para[0].start : para[-1].end])


def _ends_sentence(line: Line) -> bool:
    """A line that closes a sentence or is a heading: an introducing sentence does not reach back past it."""
    stripped = line.text.strip()
    return stripped.endswith((".", "!", "?")) or stripped.startswith("#") or len(stripped) < _HEADING_MAX


def _column_texts(heads: list[Line]) -> dict[int, str]:
    """Each column's header words over all header rows; an empty cell right of a heading shares it (colspan)."""
    texts: dict[int, list[str]] = {}
    rows = [[cell.text for cell in cells(row)] for row in heads]
    for row in [rows[0], *(_under_group(rows[0], row) for row in rows[1:])] if rows else []:
        last = ""
        for j, cell in enumerate(row):
            last = cell or (last if j > 1 else "")
            texts.setdefault(j, []).append(last)
    return {j: " ".join(words) for j, words in texts.items()}


def _under_group(top: list[str], row: list[str]) -> list[str]:
    """A lower header row with fewer cells than the top one, its cells set under the top's spanning heading
    of as many columns ("Gross pay (000s) |  |  |" over "P25 | Median | P75"): the page's columns that span
    both rows (Role, Experience) leave no cell in it."""
    named = [text for text in row if text]
    if len(row) >= len(top) or not named:
        return row
    for j, text in enumerate(top):
        if text and top[j + 1 : j + len(named)] == [""] * (len(named) - 1) and j + len(named) <= len(top):
            return [""] * j + named + [""] * (len(top) - j - len(named))
    return row


def _table_meaning(captions: list[Line], intro: Line | None, columns: dict[int, str]) -> Meaning:
    """The meaning that holds for the whole table: its caption's, else its introducing paragraph's. A table
    with a caption takes its currency and multiplier from there only (a paragraph may name other currencies
    than the table's own); the currency may also be the one currency that all the header cells naming one
    agree on."""
    found = [meaning_of(line.text) for line in [*captions, *([intro] if intro else [])]]
    own = found[: len(captions) or len(found)]
    marker = next((m.marker for m in own if m.marker), None)
    multiplier = next((m.multiplier for m in own if m.multiplier), None) if captions else _intro_multiplier(intro)
    if marker is None:
        named = {meaning_of(words).marker for words in columns.values()} - {None}
        marker = named.pop() if len(named) == 1 else None
    return Meaning(
        marker,
        multiplier,
        next((p for line in [*captions, *([intro] if intro else [])] if (p := stated_period(line.text))), None),
        next((m.statistic for m in found if m.statistic), None),
    )


def _intro_multiplier(intro: Line | None) -> float | None:
    """The multiplier an introducing sentence states as the table's unit ("in thousands of Swiss francs"), not
    one of its prose ("a few thousand lower", "dots between thousands")."""
    found = _unit_phrase().search(intro.text) if intro else None
    return meaning_of(found["unit"]).multiplier if found else None


@functools.cache
def _unit_phrase() -> re.Pattern:
    """A multiplier written as a unit: after "in", an opening parenthesis or a currency marker, perhaps with a
    currency between ("in thousands of Swiss francs", "(€ thousands)", "CHF '000"); not the multiplier of an
    amount ("E£1.5 million a year", "in 2 million homes")."""
    unit = alternation(_UNIT_WORDS, edge=False)
    before = rf"\bin\s+|\(\s*|(?:{_currency_word().pattern})[\s,]*"
    return re.compile(rf"(?:{before})(?:[^\s()\d]+\s+)?(?P<unit>{unit})(?!\w)", re.IGNORECASE)


def _column_meaning(words: str, table: Meaning) -> Meaning | None:
    """A column's own header words first, then the table's; None for a column of counts or years ("Years"),
    not for one of a level or a span of years ("Senior (7+ yrs)"). A column of total pay stays pay whatever
    else it names; one of bonuses or changes is marked with that kind."""
    if _COUNT_COLUMN.search(words) and parse_level(words) == (Level.unspecified, None, None):
        return None  # "Years" holds counts; "Senior (7+ yrs)" and "Professional (3-7 yrs)" hold pay
    basis = _column_basis(words)
    kind = None if basis is PayBasis.total else _KIND_WORD.search(words)
    own = replace(meaning_of(words), basis=basis, kind=_KIND_KEYS[kind[0].casefold()] if kind else None)
    return own.over(table)


def _column_basis(words: str) -> PayBasis:
    """Total pay ("Total comp", "Base + bonus", "OTE"), else base pay ("Median base"), else what the pay-basis
    cues say of the header's words."""
    if _TOTAL_COLUMN.search(words):
        return PayBasis.total
    return PayBasis.base if _BASE_COLUMN.search(words) else detect_pay_basis(words)


def read_block(text: str, rows: list[Line], intro: Line | None, note: Line | None = None) -> list[TableFigure]:
    """The figures of one table: header rows are those before the first row holding a bare figure; one of them
    with text in its first cell only speaks for the whole table, as a caption does. What its caption,
    introducing sentence and header leave open, a note under it may state (`_notes_meaning`)."""
    captions = []
    while len(captions) < len(rows) and _is_caption(rows[len(captions)]):
        captions.append(rows[len(captions)])
    body = rows[len(captions) :]
    n_heads = next((i for i, row in enumerate(body) if _has_figure(row)), len(body))
    if n_heads == 0:
        return []  # no header row: nothing says what the numbers are
    heads, data = body[:n_heads], body[n_heads:]
    spanning = [row for row in heads[1:] if _is_caption(row)]  # "**Annual gross (T€)** |  |  |" under the header
    columns = _column_texts([row for row in heads if row not in spanning])
    table = _table_meaning([*captions, *spanning], intro, columns)
    first = intro if intro and meaning_of(intro.text) != Meaning() else rows[0]
    header = Line(first.start, heads[-1].end, text[first.start : heads[-1].end])
    noted, last = _notes_meaning([*_note_rows(data), *([note] if note else [])])
    span = Line(first.start, last.end, text[first.start : last.end]) if last and table.over(noted) != table else None
    figures = [figure for row in data for figure in _row_figures(text, row, header, columns, table.over(noted))]
    return [replace(figure, span=span) for figure in figures]


def _note_rows(data: list[Line]) -> list[Line]:
    """The rows that close a table with a note in its first cell only ("Notes: … |  |  |")."""
    count = 0
    while count < len(data) and _is_caption(data[len(data) - 1 - count]):
        count += 1
    return data[len(data) - count :]


def _notes_meaning(notes: list[Line]) -> tuple[Meaning, Line | None]:
    """What the notes under a table state as its unit, and the last note that states any: a note speaks only
    where it writes the currency or multiplier as a unit ("in thousands of quetzales", "(€ '000)"), and then
    for the period too (it is the table's footnote, not prose after it that names other money)."""
    found, last = Meaning(), None
    for note in notes:
        marker = _unit_marker().search(note.text)
        multiplier = _intro_multiplier(note)
        if marker or multiplier:
            said = Meaning(marker["marker"] if marker else None, multiplier, stated_period(note.text))
            found, last = found.over(said), note
    return found, last


@functools.cache
def _unit_marker() -> re.Pattern:
    """A currency written as a unit: after "in", perhaps after a multiplier ("in thousands of Czech koruna",
    "in GTQ"), or after an opening parenthesis ("(€ '000)")."""
    unit = alternation(_UNIT_WORDS, edge=False)
    lead = rf"(?i:\bin\s+(?:(?:{unit})\s+of\s+)?)|\(\s*"  # the marker itself keeps its case ("won", "Won")
    return re.compile(rf"(?:{lead})(?:[^\s()]+\s+)??(?P<marker>{_currency_word().pattern})")  # the name first


def _row_figures(text: str, row: Line, header: Line, columns: dict[int, str], table: Meaning) -> list[TableFigure]:
    """The figures of a data row's cells after the first (the row's label)."""
    return _cell_figures(text, row, cells(row), header, columns, table)


def _cell_figures(
    text: str, row: Line, parts: list[Cell], header: Line, columns: dict[int, str], table: Meaning
) -> list[TableFigure]:
    """The figures of a row's cells `parts` after the first (its label). The column's header words speak
    first, then the label's ("Median (USD) | 96,000 | …"), then the table's; a cell holding only a currency
    ("| Kenya | KES | 420–650 |") gives the row's figures that currency, over the header's."""
    label = parts[0].text
    if _COUNT_ROW.search(label):
        return []  # "Billable hours | 1,200": a count, whatever the table's currency
    own = next((c.text for c in parts if _is_marker(c.text)), None)
    experience = _experience(parts, columns)
    found = []
    for j, cell in enumerate(parts[1:], 1):
        meaning = _column_meaning(columns.get(j, ""), meaning_of(label).over(table))
        if meaning is None:
            continue
        meaning = replace(meaning, marker=own or meaning.marker)
        money = read_cell(cell, meaning, text) or _marked_range(cell, meaning, text)
        if money is not None:
            line = row if row.start <= cell.start < row.end else _line_of(text, cell)  # flattened: own line
            found.append(TableFigure(money, line, header, meaning, columns.get(j, ""), label, experience))
    return _ranges(text, found)


def _experience(parts: list[Cell], columns: dict[int, str]) -> str:
    """The row's cell under a column of years ("Years", "Level (years)"), its last span written as years
    ("0–2" → "0–2 years", "Entry (0–2)" → "Entry (0–2 years)"); empty when the table has no such column."""
    j = next((j for j, words in columns.items() if j and _YEARS_COLUMN.search(words)), None)
    cell = parts[j].text if j is not None and j < len(parts) else ""
    if parse_level(cell)[1:] != (None, None):
        return cell  # it says years already ("0–2 yrs")
    return _LAST_SPAN.sub(lambda m: f"{m[0]} years", cell, count=1)


def _marked_range(cell: Cell, meaning: Meaning, text: str) -> Money | None:
    """A cell that writes both bounds of a range with one currency marker ("€72k / €95k"): one range in that
    currency, as a bare "72 / 95" would be (the money scanner reads two amounts there, see `table_money`)."""
    bare = _unmarked(cell.text)
    if bare == cell.text:
        return None
    marker = _currency_word().search(cell.text)[0]
    money = read_cell(Cell(cell.start, cell.end, bare), replace(meaning, marker=marker), text)
    ranged = money is not None and money.amount_max is not None and money.amount_min < money.amount_max
    return replace(money, text=cell.text) if ranged else None


def _unmarked(text: str) -> str:
    """A cell's text without its currency markers when it writes the same one twice ("€72k / €95k" → "72k /
    95k"), else as written."""
    found = [m[0] for m in _currency_word().finditer(text)]
    return _currency_word().sub("", text).strip() if len(found) == 2 and found[0] == found[1] else text


def _ranges(text: str, found: list[TableFigure]) -> list[TableFigure]:
    """A row's figures with each one under a low statistic and the next under its high one made one range
    ("P25 | Median | P75": the P25-P75 range and the median), as tables.toml range_columns says."""
    out = list(found)
    for low in found:
        pair = _TABLES.range_columns.get(low.meaning.statistic)
        high = next((f for f in out if pair and f.meaning.statistic is pair[0] and _bounds(low, f)), None)
        if high is None or low not in out:
            continue
        money = replace(
            low.money,
            end=high.money.end,
            text=text[low.money.start : high.money.end],
            amount_max=high.money.amount_max,
        )
        meaning = replace(low.meaning, statistic=pair[1])
        out[out.index(low)] = replace(low, money=money, meaning=meaning, column=f"{low.column} / {high.column}")
        out.remove(high)
    return out


def _bounds(low: TableFigure, high: TableFigure) -> bool:
    """Whether two one-value figures of a row, in order, can be the bounds of one range."""
    a, b = low.money, high.money
    single = a.amount_min == a.amount_max and b.amount_min == b.amount_max and not (a.open_ended or b.open_ended)
    same = (a.currency, a.period) == (b.currency, b.period)
    return single and same and a.end <= b.start and (a.amount_min or 0) <= (b.amount_min or 0)


def _is_marker(text: str) -> bool:
    """Whether a whole cell is a currency marker ("KES", "kr", "euros")."""
    return _currency_word().fullmatch(text) is not None


def table_figures(text: str) -> list[TableFigure]:
    """Every bare-number money figure of every table in `text`, in text order: tables written as rows of
    cells, and tables flattened to one cell or one "label: value" per line."""
    lines = split_lines(text)
    found = [
        figure
        for rows in blocks(lines)
        for figure in read_block(text, rows, _intro(text, lines, rows[0]), _note(text, lines, rows[-1]))
    ]
    for run in (part for cells_run in cell_runs(lines) for part in _paragraphs(cells_run)):
        found += read_flattened(text, run, _intro(text, lines, run[0]))
    return sorted(found, key=lambda figure: figure.money.start)


# ---- tables flattened to one cell per line (a PDF's text export) ---------------------------------------------


def flat_cell(line: Line) -> Cell | None:
    """The bare figure a flattened table's line holds: the whole line ("85 - 100", or a placeholder such
    as "n/a"), else what follows its label ("Data Engineer: 95 - 125"); None for a line of words."""
    stripped = line.text.strip()
    lead = line.start + len(line.text) - len(line.text.lstrip())
    if _CELL.fullmatch(stripped) or stripped.casefold() in _EMPTY_CELLS:
        return Cell(lead, lead + len(stripped), stripped)
    label, colon, value = stripped.rpartition(":")
    if colon and label and _CELL.fullmatch(value.strip()):
        start = lead + len(label) + 1 + len(value) - len(value.lstrip())
        return Cell(start, start + len(value.strip()), value.strip())
    return None


_EMPTY_CELLS = {word.casefold() for word in _TABLES.empty_cells}


def read_flattened(text: str, run: list[Line], intro: Line | None) -> list[TableFigure]:
    """The figures of a run of short lines that is a flattened table: rows of a label line and the same
    number of figure lines (the column headers are that many lines before the first row, the lines before
    those its caption), or "label: figure" lines under a caption. Nothing when the caption or introducing
    sentence names no currency: a list of bare numbers is not money by itself."""
    found = _cell_rows(run) or _labelled_rows(run)
    if found is None:
        return []
    captions, heads, rows = found
    columns = {j: head.text.strip() for j, head in enumerate(heads, 1)}
    table = _table_meaning(captions, intro, columns if heads else {})
    first = captions[0] if captions else heads[0]  # either reader finds one of the two
    last = heads[-1] if heads else captions[-1]
    header = Line(first.start, last.end, text[first.start : last.end])
    return [figure for line, parts in rows for figure in _cell_figures(text, line, parts, header, columns, table)]


def _cell_rows(run: list[Line]) -> tuple[list[Line], list[Line], list[tuple[Line, list[Cell]]]] | None:
    """(captions, column heads, rows) of a table flattened to one cell per line, each row a label line and
    the same number of figure lines; None when the run is not one."""
    holds = [flat_cell(line) is not None and ":" not in line.text for line in run]
    start = next((i for i in range(1, len(run)) if holds[i] and not holds[i - 1]), None)
    if start is None:
        return None
    width = next((n for n in range(len(run) - start) if not holds[start + n]), len(run) - start)
    label = start - 1
    if label < width:
        return None  # no header lines above the first row
    rows = []
    while label + width < len(run) and not holds[label] and all(holds[label + 1 : label + width + 1]):
        parts = [_whole(run[label]), *(flat_cell(line) for line in run[label + 1 : label + width + 1])]
        rows.append((run[label], parts))
        label += width + 1
    heads = run[start - 1 - width : start - 1]
    return run[: start - 1 - width], heads, rows


def _labelled_rows(run: list[Line]) -> tuple[list[Line], list[Line], list[tuple[Line, list[Cell]]]] | None:
    """(captions, no column heads, rows) of "label: figure" lines after caption lines; None when the run
    holds fewer than two such lines in a row after its captions."""
    cells_of = [flat_cell(line) if ":" in line.text else None for line in run]
    start = next((i for i, cell in enumerate(cells_of) if cell is not None), None)
    if not start:
        return None  # no caption line before them
    end = next((i for i in range(start, len(run)) if cells_of[i] is None), len(run))
    if end - start < 2:
        return None
    rows = [(line, [_label(line, cell), cell]) for line, cell in zip(run[start:end], cells_of[start:end], strict=True)]
    return run[:start], [], rows


def _paragraphs(run: list[Line]) -> list[list[Line]]:
    """A run of short lines cut at its blank lines: a flattened table and its caption are one paragraph (a
    section heading above, or the next table below, is not part of it)."""
    parts: list[list[Line]] = [[run[0]]]
    for previous, line in pairwise(run):
        if previous.end + 1 != line.start:
            parts.append([])
        parts[-1].append(line)
    return [part for part in parts if len(part) >= 3]


def _whole(line: Line) -> Cell:
    """A whole line as one cell (a flattened row's label)."""
    stripped = line.text.strip()
    lead = line.start + len(line.text) - len(line.text.lstrip())
    return Cell(lead, lead + len(stripped), stripped)


def _label(line: Line, cell: Cell) -> Cell:
    """The label part of a "label: figure" line."""
    label = line.text[: cell.start - line.start].rstrip().rstrip(":").strip()
    lead = line.start + len(line.text) - len(line.text.lstrip())
    return Cell(lead, lead + len(label), label)


def _line_of(text: str, cell: Cell) -> Line:
    """The line of `text` holding `cell`."""
    start = text.rfind("\n", 0, cell.start) + 1
    end = text.find("\n", cell.start)
    end = len(text) if end < 0 else end
    return Line(start, end, text[start:end])


def table_money(text: str, scanned: list[Money]) -> list[TableFigure]:
    """The table figures of `text` that the money scan did not find already (a cell's own marker wins), the
    ranges a cell writes as two marked bounds ("€72k / €95k"), which the scan reads as two amounts, and the
    marked cells whose column says more than the scan read (`_says_more`): such a figure stands for what the
    scan read there (`without_paired`)."""
    found = []
    for figure in table_figures(text):
        inside = [m for m in scanned if m.start < figure.money.end and figure.money.start < m.end]
        paired = len(inside) == 2 and all(_within(m, figure.money) for m in inside)
        if not inside or paired or (len(inside) == 1 and _says_more(inside[0], figure)):
            found.append(figure)
    return found


def _says_more(scanned: Money, figure: TableFigure) -> bool:
    """Whether a table figure is the amount the scan read in its cell, with what only its column says: the
    period ("$25 – $40" under "Hourly rate (USD/h)") or a kind of money that is not pay ("$15,000 – $30,000"
    under "Annual refresher (RSU grant value)")."""
    cell = figure.money
    same = (scanned.amount_min, scanned.amount_max, scanned.currency) == (
        cell.amount_min,
        cell.amount_max,
        cell.currency,
    )
    adds = (scanned.period is None and cell.period is not None) or figure.meaning.kind is not None
    return same and adds and _within(scanned, cell)


def without_paired(scanned: list[Money], figures: list[TableFigure]) -> list[Money]:
    """The scanned amounts that no table range of `figures` stands for (see `table_money`)."""
    return [m for m in scanned if not any(_within(m, figure.money) for figure in figures)]


def _within(inner: Money, outer: Money) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def derive(header: str, row: str) -> list[float]:
    """The amounts a table row states under its header span, read again from those two texts alone: what
    makes a stored table figure checkable against its quote (the row) and its header. A row of a flattened
    table may be one line holding one figure ("95 - 125", "Data Engineer: 95 - 125"), read under the
    header's meaning."""
    text = f"{header}\n{row}"
    figures = _row_in_span(header, row) or [f.money for f in table_figures(text)] or _under_header(header, text)
    return [bound for money in figures for bound in (money.amount_min, money.amount_max) if bound is not None]


def _row_in_span(span: str, row: str) -> list[Money]:
    """The figures of `row` read where it stands inside `span`: a span that runs on through the table to the
    note under it (`TableFigure.span`) holds the row itself."""
    return [figure.money for figure in table_figures(span) if figure.row.text.strip() == row.strip()]


def _under_header(header: str, text: str) -> list[Money]:
    """The one figure of the line after `header` in `text`, read under the meaning the header names."""
    row = Line(len(header) + 1, len(text), text[len(header) + 1 :])
    cell = flat_cell(row) if "\n" not in row.text else None
    money = read_cell(cell, meaning_of(header), text) if cell else None
    return [money] if money else []


def salary_fields(figure: TableFigure) -> dict:
    """What the table itself says of a salary read from one of its cells: the header span, the column's
    statistic and pay basis, and the level, years, role and region its column header, row label or years
    cell names (a flattened table's quote is the cell alone, so these are not in it)."""
    fields: dict = {"header_quote": figure.governing.text, "statistic": figure.meaning.statistic}
    if figure.meaning.basis is not PayBasis.unspecified:
        fields["pay_basis"] = figure.meaning.basis
    levels = [parse_level(words) for words in (figure.column, figure.label, figure.experience)]
    level = next((lv for lv, *_ in levels if lv is not Level.unspecified), None)
    if level is not None:
        fields["level"] = level
    years = next(((y0, y1) for _, y0, y1 in levels if (y0, y1) != (None, None)), None)
    if years is not None:
        fields["years_min"], fields["years_max"] = years
    if role := find_role(figure.label, figure.column):
        fields["role"] = role
    if region := find_region(figure.column, figure.label):
        fields["region"] = region
    return fields


@functools.cache
def _sole_countries() -> dict[str, str]:
    """Each currency tendered in one country only → that country's English name (CLDR): MKD is North
    Macedonia's alone, while EUR, USD, GBP or XOF are tendered in several."""
    where: dict[str, set[str]] = {}
    for territory, codes in territory_codes().items():
        for code in codes:
            where.setdefault(code, set()).add(territory)
    names = Locale("en").territories
    return {code: names[next(iter(places))] for code, places in where.items() if len(places) == 1}


def currency_region(code: str | None) -> str | None:
    """The region a table figure's currency places it in, when that currency is one country's alone: a survey
    table in a national currency is pay in that country where neither the table nor the page names a region."""
    country = _sole_countries().get(code or "")
    return find_region(country) if country else None
