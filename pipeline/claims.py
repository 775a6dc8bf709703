"""Typed claims: the market figures an article states (growth, premiums, demand, shares, hiring time), read by code.

A claim is one figure of a sentence that names a market topic: its number (or range), unit, direction, the
years it spans, region and who says so are read here from the sentence, with the word lists of
pipeline/vocabulary/claims.toml. What it measures comes from the vocabulary's cue words, or from the model when
the model listed the claim (with whom it is about): the model never gives a number. A sentence without a claim
figure, or a phrase the model listed that states none ("Best fit"), is no claim; nor is a number in a name or a
rank ("Fortune 500", "GPT-4"). A table column of changes ("Change (%)", "YoY") gives a claim per row, read from
its header and the cell's sign. Money amounts are salaries or not pay, never claims. Sentences are cut by
pipeline.sentences, like every other stage's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, create_model

from pipeline.chunk import Line, split_lines
from pipeline.ground import locate
from pipeline.mentions import find_region, find_role
from pipeline.sentences import sentence_around, split_line
from pipeline.tables import blocks, cells
from pipeline.vocab import alternation, any_of, vocabulary
from schemas.records import Claim, Direction

_VOCAB = vocabulary().claims
_LIMITS = vocabulary().thresholds
_YEARS = range(vocabulary().thresholds.year_min, vocabulary().thresholds.year_max + 1)

_UNIT_OF = {spelling.casefold(): unit for unit, spellings in _VOCAB.units.items() for spelling in spellings}
_WORD_FIGURES = {w.word.casefold(): w for w in _VOCAB.word_figure}
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_UNITS = alternation(_UNIT_OF)
# A figure: an optional sign, a number, optionally "to"/"-" and a second number, then a unit or a counted word.
_FIGURE = re.compile(
    rf"(?<![\w.,])(?P<sign>[+\-−](?=\d))?(?P<low>{_NUMBER})"
    rf"(?:\s?(?:{_UNITS})?\s?(?:-|–|—|to)\s?(?P<high>{_NUMBER}))?"
    rf"(?:\s?(?P<unit>{_UNITS})|(?P<count>(?![.,]\d)(?!\s?(?:{any_of(_VOCAB.counts.not_before)}))\s+[A-Za-z]))"
    rf"|\b(?P<word>{alternation(_WORD_FIGURES)})",
    re.I,
)
# What stands right before a counted number that is part of a name or rank (see claims.toml, [counts]): a listed
# word, a word the number is joined to by a hyphen, or a capitalised word inside the sentence.
_NAMED = re.compile(
    rf"(?:(?<![\w&.#-])(?:{alternation(_VOCAB.counts.names_before)})\s?|[A-Za-z]-|(?<=[\w,] )(?-i:[A-Z][\w.&]*) )$",
    re.I,
)
_TOPIC = re.compile(any_of(_VOCAB.topics), re.I)
_MAY_HOLD_FIGURE = re.compile(rf"\d|\b(?:{alternation(_WORD_FIGURES)})", re.I)
_METRICS = [(m.name, re.compile(any_of(m.cues), re.I)) for m in _VOCAB.metric if m.cues]
_UP = re.compile(rf"(?<!\w){any_of(_VOCAB.direction.up)}(?!\w)", re.I)
_DOWN = re.compile(rf"(?<!\w){any_of(_VOCAB.direction.down)}(?!\w)", re.I)
_ATTRIBUTION = [re.compile(p, re.I) for p in _VOCAB.attribution.patterns]
_YEAR_SPANS = [re.compile(p, re.I) for p in _VOCAB.years.spans]
_CHANGES = _VOCAB.change_columns
_CHANGE_COLUMN = re.compile(rf"(?<!\w)(?:{alternation(_CHANGES.words)})", re.I)
_PERCENT_HEADER = re.compile(rf"(?<!\w)(?:{alternation(_CHANGES.percent)})", re.I)
_CHANGE_METRICS = [
    (name, re.compile(rf"(?<!\w)(?:{alternation(words)})", re.I)) for name, words in _CHANGES.metrics.items()
]
_CHANGE_CELL = re.compile(r"(?P<sign>[+\-−–])?\s?(?P<value>\d+(?:\.\d+)?)\s?(?P<percent>%)?")
# A year in a header, or a span of them whose end may be written with two digits ("2024–25").
_HEADER_YEARS = re.compile(r"(?<!\d)(?P<start>(?:19|20)\d\d)(?:\s?[-–—/]\s?(?P<end>(?:19|20)?\d\d))?(?!\d)")


@dataclass(frozen=True)
class ChangeColumn:
    """A table column of changes: its position in the row, what it measures, whether its header says percent,
    and the years its header names."""

    index: int
    metric: str
    percent: bool
    years: tuple[int | None, int | None]


@dataclass(frozen=True)
class Figure:
    """One claim figure of a sentence: where it is (offsets in the sentence), its numbers and unit."""

    start: int
    end: int
    value: float
    value_max: float | None
    unit: str
    sign: str = ""


def metric_names() -> list[str]:
    """Every metric a claim may have (the vocabulary's, `other` included)."""
    return _VOCAB.metric_names()


def figures(sentence: str) -> list[Figure]:
    """The claim figures of one sentence: percentages, multiples, durations and counts; never a year."""
    found = []
    for match in _FIGURE.finditer(sentence):
        if match.group("word"):
            word = _WORD_FIGURES[match.group("word").casefold()]
            found.append(Figure(match.start(), match.end(), word.value, None, word.unit))
            continue
        low, high = _number(match.group("low")), match.group("high") and _number(match.group("high"))
        unit = _UNIT_OF[match.group("unit").casefold()] if match.group("unit") else "count"
        if unit == "count" and (high or _is_year(match.group("low")) or _NAMED.search(sentence[: match.start()])):
            continue  # "2024 to 2034" and "2025 salaries" are years, "Fortune 500" and "GPT-4" names, not counts
        end = match.end() if match.group("unit") else match.end("low")
        found.append(Figure(match.start(), end, low, high or None, unit, match.group("sign") or ""))
    return found


def _number(written: str) -> float:
    return float(written.replace(",", ""))


def _is_year(written: str) -> bool:
    return written.isdigit() and len(written) == 4 and int(written) in _YEARS


def metric_of(sentence: str, figure: Figure | None = None) -> str:
    """The metric whose cue words stand nearest the figure in its sentence ("rose 58%, and a 17% premium": two
    metrics), the vocabulary's order breaking ties; `other` when no cue is there."""
    at = figure.start if figure else 0
    found = [
        (0 if m.start() <= at < m.end() else min(abs(m.start() - at), abs(m.end() - at)), order, name)
        for order, (name, cue) in enumerate(_METRICS)
        for m in cue.finditer(sentence)
    ]
    return min(found)[2] if found else "other"


def direction_of(sentence: str, figure: Figure) -> Direction:
    """Up or down by the figure's sign, else by the direction word nearest it in the sentence; none without one."""
    if figure.sign:
        return Direction.up if figure.sign == "+" else Direction.down
    words = [(abs(m.start() - figure.start), Direction.up) for m in _UP.finditer(sentence)]
    words += [(abs(m.start() - figure.start), Direction.down) for m in _DOWN.finditer(sentence)]
    return min(words)[1] if words else Direction.none


def years_of(
    sentence: str, figure: Figure | None = None, others: Iterable[Figure] = ()
) -> tuple[int | None, int | None]:
    """(start_year, end_year) of the span a sentence names for `figure`: "from 2024 to 2034" for every figure of
    it, a single year ("by 2030", "since 2023", "in 2024") only for the figure of `others` it stands nearest."""
    start = end = None
    for pattern in _YEAR_SPANS:
        for match in pattern.finditer(sentence):
            found = match.groupdict()
            if not (found.get("start") and found.get("end")) and not _nearest(match.span(), figure, others):
                continue  # "4.5%, down from 5.5% in 2024": 2024 is the 5.5%'s year
            start = start or (int(found["start"]) if found.get("start") else None)
            end = end or (int(found["end"]) if found.get("end") else None)
    if start is not None and end is not None and start > end:
        start, end = end, start
    return start, end


def _nearest(span: tuple[int, int], figure: Figure | None, others: Iterable[Figure]) -> bool:
    """Whether no figure of `others` stands nearer the text at `span` than `figure` does (any, without one)."""
    if figure is None:
        return True

    def gap(f: Figure) -> int:
        return max(0, span[0] - f.end, f.start - span[1])

    return all(gap(figure) <= gap(other) for other in others)


def attribution_of(sentence: str) -> str | None:
    """Who the sentence says the figure comes from ("according to LinkedIn": LinkedIn), if it says."""
    for pattern in _ATTRIBUTION:
        if match := pattern.search(sentence):
            who = re.sub(r"^the\s+", "", match.group("who").strip().rstrip("."), flags=re.I)
            return who or None
    return None


def read_claims(
    sentence: str, metric: str | None = None, subject: str | None = None, skip: Iterable[tuple[int, int]] = ()
) -> list[Claim]:
    """Every claim of one sentence, one per figure outside the `skip` spans (offsets in the sentence: its money);
    `metric` and `subject` as the model said, else read here."""
    skip = list(skip)
    found = [f for f in figures(sentence) if not any(s < f.end and f.start < e for s, e in skip)]
    if not found:
        return []
    shared = {
        "subject": subject or find_role(sentence),
        "region": find_region(sentence),
        "attribution": attribution_of(sentence),
        "statement": sentence,
        "quote": sentence,
    }
    claims = []
    for f in found:
        start_year, end_year = years_of(sentence, f, found)
        claims.append(
            Claim(
                metric=metric if metric in metric_names() else metric_of(sentence, f),
                value=f.value,
                value_max=f.value_max,
                unit=f.unit,
                direction=direction_of(sentence, f),
                start_year=start_year,
                end_year=end_year,
                **shared,
            )
        )
    return claims


def find_claims(text: str, money: Iterable[tuple[int, int]] = (), limit: int | None = None) -> list[Claim]:
    """The claims of a text: those of its tables' change columns, then each figure of a sentence that names a
    market topic (a percentage or multiple needs none), the `money` spans left out (a salary or a price is not a
    claim)."""
    changes = change_claims(text)
    money = [*money, *(span for span, _ in changes)]
    claims = [claim for _, claim in changes]
    for start, end in _sentences_with_figures(text):
        sentence = text[start:end]
        if _LIMITS.claim_min_chars <= len(sentence) <= _LIMITS.claim_max_chars:
            found = read_claims(sentence, skip=_within(money, start, end))
            topical = _TOPIC.search(sentence) is not None
            claims += [c for c in found if topical or c.unit in _VOCAB.standalone_units]
    return claims[: _LIMITS.claim_limit if limit is None else limit]


def _sentences_with_figures(text: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of the lines that hold a digit or a word figure: only those are split."""
    spans, pos = [], 0
    for line in text.split("\n"):
        if _MAY_HOLD_FIGURE.search(line):
            spans += [(pos + s, pos + e) for s, e in split_line(line)]
        pos += len(line) + 1
    return spans


def listed_claims(text: str, listed: Iterable[BaseModel], money: Iterable[tuple[int, int]] = ()) -> list[Claim]:
    """The claims the model listed (a quote, a metric, a subject), read from the sentence around each quote;
    a quote stating no claim figure gives none; a change column's cell is read with its table (`change_claims`)."""
    money = [*money, *(span for span, _ in change_claims(text))]
    claims = []
    for item in listed:
        where = locate(text, item.quote)
        if where is not None:
            start, end = sentence_around(text, where.char_start, where.char_end)
            claims += read_claims(text[start:end], item.metric, item.subject, _within(money, start, end))
    return claims


def change_claims(text: str) -> list[tuple[tuple[int, int], Claim]]:
    """The claims of the tables' change columns ("Change (%)", "YoY", "Δ 2024–25"), each with its cell's span in
    `text`: read from the header's words and each cell's sign and number (claims.toml, [change_columns])."""
    found = []
    for rows in blocks(split_lines(text)):
        head = next((i for i, row in enumerate(rows) if change_columns(row)), None)
        if head is not None:
            columns = change_columns(rows[head])
            found += [claim for row in rows[head + 1 :] for claim in _row_changes(row, columns)]
    return found


def change_columns(header: Line) -> list[ChangeColumn]:
    """The columns of changes a header row names, with their metric, percent and years; a column that names no
    years takes those of the header's other columns ("2023 median | 2024 median | Change (%)")."""
    heads = [(j, cell.text) for j, cell in enumerate(cells(header)) if j]
    changes = [(j, words) for j, words in heads if _CHANGE_COLUMN.search(words)]
    around = _header_years(" ".join(words for j, words in heads if (j, words) not in changes))
    return [
        ChangeColumn(
            j,
            _change_metric(words),
            bool(_PERCENT_HEADER.search(words)),
            _header_years(words) if _HEADER_YEARS.search(words) else around,
        )
        for j, words in changes
    ]


def _change_metric(words: str) -> str:
    """The metric a change column's header names, else the one change columns measure by default."""
    return next((name for name, named in _CHANGE_METRICS if named.search(words)), _CHANGES.metric)


def _header_years(words: str) -> tuple[int | None, int | None]:
    """(start, end) of the years header words name: the first and last, (None, year) for one, (None, None)."""
    years = []
    for match in _HEADER_YEARS.finditer(words):
        years.append(int(match["start"]))
        if end := match["end"]:
            years.append(int(end) if len(end) == 4 else int(match["start"][:2] + end))
    if len(set(years)) < 2:
        return None, years[0] if years else None
    return min(years), max(years)


def _row_changes(row: Line, columns: list[ChangeColumn]) -> list[tuple[tuple[int, int], Claim]]:
    """The claims of one data row's change cells: a signed number, in percent when its header or itself says so."""
    parts = cells(row)
    found = []
    for column in columns:
        cell = parts[column.index] if column.index < len(parts) else None
        written = _CHANGE_CELL.fullmatch(cell.text) if cell else None
        if written is not None and (column.percent or written["percent"]):
            found.append(((cell.start, cell.end), _change_claim(column, parts[0].text, row.text.strip(), written)))
    return found


def _change_claim(column: ChangeColumn, label: str, quote: str, written: re.Match) -> Claim:
    """The claim of one change cell: the row's label is whom it is about, the sign its direction."""
    value, sign = float(written["value"]), written["sign"]
    return Claim(
        metric=column.metric,
        subject=label[:120] or None,
        value=value,
        unit="percent",
        direction=Direction.down if sign and sign != "+" else Direction.up if value else Direction.none,
        start_year=column.years[0],
        end_year=column.years[1],
        region=find_region(label),
        statement=quote,
        quote=quote,
    )


def _within(spans: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """The spans that overlap [start, end), as offsets from `start`."""
    return [(s - start, e - start) for s, e in spans if s < end and start < e]


@functools.cache
def claim_reading() -> type[BaseModel]:
    """What the model says of a claim it lists: the words that state it, what it measures, whom it is about.
    The metrics are the vocabulary's, so a metric added there is one the model may name."""
    described = "; ".join(f"{m.name} = {m.description}" for m in _VOCAB.metric)
    return create_model(
        "ClaimReading",
        __doc__="A claim in the lines: its words, copied exactly, what it measures and whom it is about.",
        quote=(str, Field(min_length=2, max_length=300, description="The words stating the figure, copied exactly")),
        metric=(Literal[tuple(metric_names())], Field(description=described)),
        subject=(str | None, Field(None, max_length=80, description="Whom it is about, e.g. 'AI engineers'")),
    )
