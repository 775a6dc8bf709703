"""The as_of reader: the year (and month when stated) each salary and claim figure refers to.

A figure from a 2023 survey and one from a 2026 posting must not look the same, or no one can ask how pay
moved. The reader looks, nearest first, at the figure's own sentence, then at what gives its line meaning (a
table's header or caption, the section heading, in turn theirs), then at the page title; "this year" and "last
year" are read against the page's date. Without a date in the text the figure takes the document's published
date (from its markup, else the month and year of its byline), else its fetch date, and `as_of_source` says
which (text, published, fetched). Years that are no date of the figure are skipped: spans ("from 2024 to 2034"),
founding years ("founded in 2015"), decades ("the 2020s") and years after the page's own (forecasts). A claim
over a span of years ("from 2024 to 2025", read by pipeline.claims) is dated by the span's end year instead, a
date read from its text. The words are vocabulary (time.toml), not code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from pipeline import sentences
from pipeline.chunk import Line, line_context, split_lines
from pipeline.vocab import alternation, vocabulary
from schemas.documents import Article, Grounded, GroundedExtraction
from schemas.records import AsOfSource

_TIME = vocabulary().time
_YEAR = r"(?<![\d$£€¥.,])(?:19|20)\d\d(?![\d%]|[.,]\d)"
_MONTH = rf"(?:(?P<month>{alternation(_TIME.months)})\.?\s+)?"
_DATE = re.compile(rf"(?<![\w-]){_MONTH}(?P<year>{_YEAR})", re.IGNORECASE)
_SPAN = re.compile(rf"{_YEAR}\s*(?:{alternation(_TIME.words.span_words)})\s*(?:{_YEAR}|\d\d\b)", re.IGNORECASE)
_RELATIVE = re.compile(rf"\b(?:{alternation(_TIME.relative_years)})", re.IGNORECASE)
_CUED = re.compile(rf"\b(?:{alternation(_TIME.words.cues)})\s*$", re.IGNORECASE)
_NOT_AS_OF = re.compile(rf"\b(?:{alternation(_TIME.words.not_as_of)})\s*$", re.IGNORECASE)
_NOT_AFTER = re.compile(rf"(?:{alternation(_TIME.words.not_after, edge=False)})\b", re.IGNORECASE)


@dataclass(frozen=True)
class AsOf:
    """When a figure applies, and where that was read."""

    year: int
    month: int | None
    source: AsOfSource


@dataclass(frozen=True)
class _Mention:
    """One date a stretch of text states: where, which year and month, and whether a cue word introduces it."""

    start: int
    end: int
    year: int
    month: int | None
    cued: bool


Span = tuple[int, int]
# A clause mark between a date and a figure makes them less likely to belong together than their distance says.
_CLAUSE_MARK = re.compile(r"[;:]|,\s")
_CLAUSE_PENALTY = 1000


def page_date(published: str | None, fetched_at: datetime, text: str = "") -> tuple[date, AsOfSource]:
    """The page's own date: its published date when it parses as an ISO date, else the first month and year of
    its opening lines (a byline), else the day it was fetched."""
    try:
        return date.fromisoformat((published or "")[:10]), AsOfSource.published
    except ValueError:
        pass
    byline = next((m for m in _DATE.finditer(text[: _TIME.opening_chars]) if m["month"]), None)
    if byline is not None and _TIME.earliest_year <= int(byline["year"]) <= fetched_at.year:
        return date(int(byline["year"]), _TIME.months[byline["month"].lower()], 1), AsOfSource.published
    return fetched_at.date(), AsOfSource.fetched


def mentions(text: str, today: date, offset: int = 0) -> list[_Mention]:
    """The dates `text` states that may date a figure, on a page dated `today`; positions shifted by `offset`."""
    spans = [m.span() for m in _SPAN.finditer(text)]
    found = [_relative(m, today, offset) for m in _RELATIVE.finditer(text)]
    for m in _DATE.finditer(text):
        year, before = int(m["year"]), text[: m.start()]
        in_span = any(start <= m.start("year") < end for start, end in spans)
        if in_span or not _TIME.earliest_year <= year <= today.year or _NOT_AS_OF.search(before):
            continue
        if _NOT_AFTER.match(text, m.end()):
            continue
        month = _TIME.months[m["month"].lower()] if m["month"] else None
        cued = bool(month) or bool(_CUED.search(before))
        found.append(_Mention(m.start() + offset, m.end() + offset, year, month, cued))
    return found


def _relative(m: re.Match, today: date, offset: int) -> _Mention:
    """A "this year"/"last year" phrase as the year it names on a page dated `today`."""
    year = today.year + _TIME.relative_years[m[0].lower()]
    return _Mention(m.start() + offset, m.end() + offset, year, None, True)


def _distance(text: str, mention: _Mention, figure: Span) -> tuple[int, int]:
    """How far a date is from a figure (a clause mark between them counts extra); a tie goes to the figure the
    date follows ("$120,000 in 2022 to $150,000 in 2024")."""
    gap = (figure[1], mention.start) if figure[1] <= mention.start else (mention.end, figure[0])
    far = gap[1] - gap[0] + (_CLAUSE_PENALTY if _CLAUSE_MARK.search(text, *gap) else 0)
    return far, 0 if figure[1] <= mention.start else 1


def own(text: str, found: list[_Mention], focus: Span, figures: list[Span]) -> list[_Mention]:
    """The dates nearer the figure at `focus` than any other of `figures`; all of them when none is (one date
    before several figures dates them all)."""
    others = [f for f in figures if f != focus]
    mine = [m for m in found if all(_distance(text, m, focus) <= _distance(text, m, f) for f in others)]
    return mine or found


def nearest(found: list[_Mention], focus: Span) -> _Mention | None:
    """The mention that dates a figure at `focus`: a cued one before a bare one, then the closest."""
    return min(found, key=lambda m: (not m.cued, min(abs(m.start - focus[1]), abs(m.end - focus[0]))), default=None)


class _Page:
    """One article's text, line contexts and dates, read once for all of its records."""

    def __init__(self, article: Article, figures: list[Span]) -> None:
        self.text, self.title = article.text, article.title or ""
        self.figures = sorted(figures)
        self.lines = split_lines(article.text)
        self.context = line_context(self.lines)
        self.today, self.source = page_date(article.published, article.fetched_at, article.text)
        self.fetched = article.fetched_at.date()

    def contexts(self, start: int, end: int, header: Span | None) -> list[Span]:
        """Where to look for a date of the text at [start, end), nearest first: its sentence, its table header,
        the paragraphs around its table (an introduction, a caption, a source note), then the lines that give its
        line meaning in turn (heading, the heading's heading)."""
        spans = [sentences.sentence_around(self.text, start, end)] + ([header] if header else [])
        line, chain = self._line_at(start), []
        while line is not None and len(chain) < 3:
            line = self.context.get(line.start)
            chain += [line] if line else []
        row = self._line_at(start)
        around = self._around_table(row) if row is not None and row.is_table_row else []
        return spans + [(ln.start, ln.end) for ln in [*chain[:1], *around, *chain[1:]]]

    def _line_at(self, pos: int) -> Line | None:
        return next((line for line in self.lines if line.start <= pos <= line.end), None)

    def _around_table(self, row: Line) -> list[Line]:
        """The prose lines before the table holding `row` (up to its heading, at most three), nearest first, then
        the line after it."""
        i = j = self.lines.index(row)
        while i > 0 and self.lines[i - 1].is_table_row:
            i -= 1
        while j + 1 < len(self.lines) and self.lines[j + 1].is_table_row:
            j += 1
        heading = self.context.get(self.lines[i].start)
        before = []
        for line in reversed(self.lines[max(0, i - 3) : i]):
            if line is heading:
                break
            before.append(line)
        return before + self.lines[j + 1 : j + 2]

    def as_of(self, start: int, end: int, focus: Span, header: Span | None = None) -> AsOf:
        """The date of a figure quoted at [start, end) (`focus`: the figure itself), and where it was read."""
        found = self.read(self.contexts(start, end, header), focus)
        found = found or nearest(mentions(self.title, self.today), (0, 0))
        if found is not None:
            return AsOf(found.year, found.month, AsOfSource.text)
        day = self.today if self.source is AsOfSource.published else self.fetched
        return AsOf(day.year, day.month, self.source)

    def read(self, spans: list[Span], focus: Span) -> _Mention | None:
        """The date the first of `spans` (its sentence first) states for the figure at `focus`, if any."""
        for start, end in spans:
            found = mentions(self.text[start:end], self.today, start)
            figures = [f for f in self.figures if start <= f[0] < end]
            found = own(self.text, found, focus, figures) if focus in figures else found
            if found:
                return nearest(found, focus)
        return None


def dated(article: Article, grounded: GroundedExtraction) -> GroundedExtraction:
    """`grounded` with every record that has an as_of (salaries, claims) dated: see the module docstring."""
    page = _Page(article, [(amount.char_start, amount.char_end) for amount in grounded.amounts])
    focus: dict[int, Span] = {}
    for amount in grounded.amounts:
        if amount.record is not None:
            focus.setdefault(amount.record, (amount.char_start, amount.char_end))
    records = [_dated(page, item, focus.get(i)) for i, item in enumerate(grounded.records)]
    return grounded.model_copy(update={"records": records})


def _span_end(record) -> AsOf | None:
    """A figure over a span its text names ("from 2024 to 2025": start_year and end_year) is dated by the span's
    end, whatever its heading says."""
    start, end = getattr(record, "start_year", None), getattr(record, "end_year", None)
    return AsOf(end, None, AsOfSource.text) if start is not None and end is not None else None


def _dated(page: _Page, item: Grounded, focus: Span | None) -> Grounded:
    """One record with its as_of fields set, or as it is when its kind has none."""
    record, where = item.record, item.provenance
    if "as_of_year" not in type(record).model_fields:
        return item
    found = _span_end(record)
    if found is None:
        header = getattr(record, "header_start", None), getattr(record, "header_end", None)
        span = focus or (where.char_start, where.char_end)
        found = page.as_of(where.char_start, where.char_end, span, None if None in header else header)
    update = {"as_of_year": found.year, "as_of_month": found.month, "as_of_source": found.source}
    return item.model_copy(update={"record": record.model_copy(update=update)})
