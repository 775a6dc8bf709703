"""Chunk stage helper: cut clean text into the passages the model reads.

The model never needs the whole article. It needs the lines that hold money figures, each with the context
that gives it meaning: a table row with its table's
header, a line with the heading it sits under. Lines keep their offsets into the clean text, so whatever the
model quotes is grounded against the original article, not the excerpt.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from itertools import pairwise

from pipeline.vocab import vocabulary

_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
# A quoted line ("> base went 120 -> 131", a board's "tomas_k wrote:110k base"), never a heading.
_QUOTED = re.compile(r">\s|[^\s:]{1,40} wrote:")


@dataclass(frozen=True)
class Line:
    """One line of the clean text and where it sits."""

    start: int
    end: int
    text: str
    two_columns: bool = False  # one of adjacent lines with one pipe each: a two-column table ("Level | Pay")

    @property
    def is_table_row(self) -> bool:
        return self.two_columns or self.text.count("|") >= 2 or self.text.count("\t") >= 1


@dataclass
class Chunk:
    """Lines sent to the model together, in article order, with their context lines.

    `context` maps a line's start to the line that gives it meaning (its table header or row label, else its
    section heading), computed over the whole text, not only the chunk.
    """

    lines: list[Line] = field(default_factory=list)
    context: dict[int, Line | None] = field(default_factory=dict)

    @property
    def chars(self) -> int:
        return sum(len(line.text) + 1 for line in self.lines)

    @property
    def start(self) -> int:
        return self.lines[0].start if self.lines else 0

    @property
    def end(self) -> int:
        return self.lines[-1].end if self.lines else 0


def split_lines(text: str) -> list[Line]:
    """Every non-blank line with its offsets; the text's own newlines are the only separators."""
    lines, pos = [], 0
    for raw in text.split("\n"):
        if raw.strip():
            lines.append(Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return _two_column_rows(lines)


def _two_column_rows(lines: list[Line]) -> list[Line]:
    """Mark the rows of two-column tables: a line with one pipe is a row when the line right before or after
    it has one too (a page title "Pay guide | Site" alone is no table)."""
    piped = [line.text.count("|") == 1 for line in lines]
    marked = []
    for i, line in enumerate(lines):
        joined = [j for j in (i - 1, i + 1) if 0 <= j < len(lines) and piped[j] and _adjacent(lines, min(i, j))]
        marked.append(replace(line, two_columns=True) if piped[i] and joined else line)
    return marked


def _adjacent(lines: list[Line], i: int) -> bool:
    """Whether lines i and i + 1 follow each other with no blank line between."""
    return lines[i].end + 1 == lines[i + 1].start


def _is_heading(line: Line, following: Line | None) -> bool:
    """A markdown heading, a line in capitals ("2. WHAT IT COSTS", numbered or not), or a short line without a
    stop before a longer one; never a table row or a quoted line."""
    text = line.text.strip()
    if line.is_table_row or _QUOTED.match(text) or len(text) > 90:
        return False
    if text.isupper() and len(text.split()) >= 2:
        return True
    if _LIST_ITEM.match(text):
        return False
    if text.startswith("#"):
        return True
    return not text.endswith((".", ":", ";", ",", "?", "!")) and (following is None or len(following.text) > len(text))


def section_start(text: str, pos: int) -> int:
    """Where the section holding `pos` of `text` starts: its heading line's start, else 0."""
    return max((start for start in _heading_starts(text) if start <= pos), default=0)


@functools.lru_cache(maxsize=16)
def _heading_starts(text: str) -> tuple[int, ...]:
    """The start of every heading line of `text` (cached: each figure of a page asks for its section)."""
    lines = split_lines(text)
    following = [*lines[1:], None]
    return tuple(line.start for line, after in zip(lines, following, strict=True) if _is_heading(line, after))


def _context(lines: list[Line]) -> list[Line | None]:
    """For each line, the line that gives it meaning: its table's header row, else its section heading."""
    context: list[Line | None] = []
    heading: Line | None = None
    header: Line | None = None
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else None
        previous_is_row = i > 0 and lines[i - 1].is_table_row and lines[i - 1].end + 1 == line.start
        if line.is_table_row:
            header = header if previous_is_row else line
            context.append(header if header is not line else heading)
            continue
        header = None
        context.append(heading)
        if _is_heading(line, following):
            heading = line
    return context


# A table cell: a label, a figure, a list of roles or a short description without a full stop (thresholds.toml).
_CELL_MAX = vocabulary().thresholds.table_cell_max_chars


def _is_cell(line: Line) -> bool:
    text = line.text.strip()
    return not line.is_table_row and len(text) <= _CELL_MAX and not text.endswith((".", ":", ";", "?", "!"))


def cell_runs(lines: list[Line]) -> list[list[Line]]:
    """Runs of four or more short lines in a row: a table flattened to one cell per line, perhaps."""
    runs, run = [], []
    for line in [*lines, None]:
        if line is not None and _is_cell(line):
            run.append(line)
            continue
        if len(run) >= 4:
            runs.append(run)
        run = []
    return runs


def flattened_table_context(
    text: str, lines: list[Line], context: dict[int, Line | None], money_starts: list[int]
) -> None:
    """Give a table flattened to one cell per line its structure back, in `context`.

    When the money lines of a run of short lines come at a fixed step (the column count), each money cell gets
    its row's other cells as context (one span over several lines), and each row the header row (the row
    before the first money row; money is taken to sit in the last column). "€55,000" is then read with
    "Junior / 0-2 years" and with "Level / Experience / Base salary".
    """
    for run in cell_runs(lines):
        money = [i for i, line in enumerate(run) if relevant(line, money_starts)]
        steps = {b - a for a, b in pairwise(money)}
        if len(money) < 2 or len(steps) != 1 or (cols := steps.pop()) < 2 or money[0] < 2 * cols - 1:
            continue
        first = money[0] - 2 * cols + 1
        header = _span(text, run[first], run[first + cols - 1])
        context[header.start] = context.get(run[first].start)
        for i in money:
            row = _span(text, run[i - cols + 1], run[i - 1])
            context[row.start], context[run[i].start] = header, row


def _span(text: str, first: Line, last: Line) -> Line:
    """One Line over consecutive lines `first` … `last` (the newlines between them included)."""
    return Line(first.start, last.end, text[first.start : last.end])


def relevant(line: Line, money_starts: list[int]) -> bool:
    """True when the line holds a money figure: the only lines the model has to read."""
    return any(line.start <= pos < line.end for pos in money_starts)


def select_lines(lines: list[Line], context: dict[int, Line | None], money_starts: list[int]) -> list[Line]:
    """The relevant lines, each preceded by its context line (heading or table header), in order, once."""
    chosen: dict[int, Line] = {}
    for line in lines:
        if relevant(line, money_starts):
            chosen[line.start] = line
            ctx = context[line.start]
            while ctx is not None and ctx.start not in chosen:  # a row's header, then the header's heading
                chosen[ctx.start] = ctx
                ctx = context[ctx.start]
    return [chosen[k] for k in sorted(chosen)]


def pack(lines: list[Line], context: dict[int, Line | None], max_chars: int) -> list[Chunk]:
    """Group lines into chunks of at most `max_chars`, never splitting a table row from its header.

    A table row that has to start a new chunk carries its header row again, so "Entry | $70K – $90K" keeps
    its column meaning in every chunk it lands in.
    """
    chunks: list[Chunk] = [Chunk(context=context)]
    for line in lines:
        current = chunks[-1]
        if current.lines and current.chars + len(line.text) + 1 > max_chars:
            current = Chunk(context=context)
            chunks.append(current)
            ctx = context.get(line.start)
            if ctx is not None and line.is_table_row:
                current.lines.append(ctx)
        current.lines.append(line)
    return [c for c in chunks if c.lines]


def line_context(lines: list[Line]) -> dict[int, Line | None]:
    """Each line's start → the line that gives it meaning: its table's header row, else its section heading."""
    return {line.start: ctx for line, ctx in zip(lines, _context(lines), strict=False)}


def chunk_text(
    text: str, money_starts: list[int], max_chars: int = 6000, headers: dict[int, Line] | None = None
) -> list[Chunk]:
    """Relevant lines of `text`, packed into chunks the model can read in one call. `headers` gives table rows
    (by start) the header span the table reader found for them, which wins over the first row of the table."""
    lines = split_lines(text)
    context = line_context(lines)
    flattened_table_context(text, lines, context, money_starts)
    context.update(headers or {})
    return pack(select_lines(lines, context, money_starts), context, max_chars)
