"""Figure planning: which money figures the model reads, in which excerpt, under which tag.

Every money figure of an article is tagged `[M1]`, `[M2]`… once, in the first chunk that holds its line, and
each chunk becomes the excerpt the model reads: the lines that hold figures, each with its heading or table
header (see `pipeline.chunk`). A figure whose own words already say what it is (a bonus, a cost: the cue words
of `pipeline.assemble`) is left untagged, since no answer of the model would change it: the model writes
fewer tokens, which is most of its time. Lines written to steer an AI reader are never sent, and their figures
never become pay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from pipeline.chunk import Chunk, Line, chunk_text, relevant, split_lines
from pipeline.money import Money
from pipeline.vocab import any_of, vocabulary

# Text that addresses a model instead of a reader (cues.toml, `steering`).
_ADDRESSES_MODEL = re.compile(any_of(vocabulary().cues.steering), re.IGNORECASE | re.MULTILINE)


@dataclass
class Figure:
    """A money figure with the line it sits in and the line that gives that line meaning."""

    tag: str
    money: Money
    line: Line
    context: Line | None
    section: Line | None = None  # for a table row: the heading over its table, which may give its unit


@dataclass
class ChunkPlan:
    """What one model call reads: the excerpt text with tags, the figures it must classify, and the figures in
    its lines it is not asked about."""

    chunk: Chunk
    prompt: str
    figures: list[Figure] = field(default_factory=list)
    unasked: list[Figure] = field(default_factory=list)


def plan_chunks(
    text: str, money: list[Money], max_chars: int, headers: dict[int, Line] | None = None
) -> list[ChunkPlan]:
    """Tag each money figure once (in the first chunk holding its line) and render every chunk's excerpt;
    `headers` are the table header spans of rows whose cells the table reader read (`pipeline.tables`)."""
    seen: set[int] = set()
    plans: list[ChunkPlan] = []
    for chunk in chunk_text(text, [m.start for m in money], max_chars, headers):
        plan = ChunkPlan(chunk=chunk, prompt="")
        for line in _sent(chunk.lines):
            inside = [m for m in money if line.start <= m.start < line.end and m.start not in seen]
            seen.update(m.start for m in inside)
            plan.figures += [Figure("", m, line, *_context_of(line, chunk.context)) for m in inside]
        plans.append(plan)
    return leave_unasked(text, plans, frozenset())


def leave_unasked(text: str, plans: list[ChunkPlan], unasked: frozenset[int]) -> list[ChunkPlan]:
    """The plans with the figures starting at `unasked` moved to their plan's `unasked`, untagged, and the rest
    tagged `M1`, `M2`… in order, each excerpt rendered again."""
    out, counter = [], 0
    for plan in plans:
        figures = []
        for fig in plan.figures:
            if fig.money.start not in unasked:
                counter += 1
                figures.append(replace(fig, tag=f"M{counter}"))
        left = [replace(f, tag="") for f in plan.figures if f.money.start in unasked]
        out.append(ChunkPlan(plan.chunk, _excerpt(text, plan.chunk.lines, figures), figures, plan.unasked + left))
    return out


def _sent(lines: list[Line]) -> list[Line]:
    """The lines of an excerpt the model may read: never one written to steer it."""
    return [line for line in lines if not addresses_model(line.text)]


def _excerpt(text: str, lines: list[Line], figures: list[Figure]) -> str:
    """The excerpt the model reads: the lines it may read, each with its figures' tags."""
    return "\n".join(tag_line(text, line, figures) for line in _sent(lines))


def _context_of(line: Line, context: dict[int, Line | None]) -> tuple[Line | None, Line | None]:
    """A line's context line and, for a table row, the heading over its table ("Monthly salaries (RM)")."""
    ctx = context.get(line.start)
    return ctx, context.get(ctx.start) if line.is_table_row and ctx is not None else None


def addresses_model(text: str) -> bool:
    """True for text written to steer an AI reader ("ignore previous instructions", "note to AI assistants")."""
    return _ADDRESSES_MODEL.search(text) is not None


def steering(text: str, money: list[Money]) -> list[Money]:
    """The money figures that sit in lines addressed to a model."""
    lines = [line for line in split_lines(text) if addresses_model(line.text)]
    return [m for m in money if any(relevant(line, [m.start]) for line in lines)]


def tag_line(text: str, line: Line, figures: list[Figure]) -> str:
    """The line with `[Mn]` put right before each of its tagged figures."""
    out, pos = [], line.start
    for fig in sorted((f for f in figures if f.line.start == line.start), key=lambda f: f.money.start):
        out.append(text[pos : fig.money.start])
        out.append(f"[{fig.tag}]")
        pos = fig.money.start
    out.append(text[pos : line.end])
    return "".join(out)


def subplan(plan: ChunkPlan, lines: list[Line], text: str) -> ChunkPlan:
    """The part of a plan that holds `lines`, with their figures and excerpt (for a chunk split in two)."""
    starts = {line.start for line in lines}
    figures = [f for f in plan.figures if f.line.start in starts]
    unasked = [f for f in plan.unasked if f.line.start in starts]
    chunk = Chunk(lines=list(lines), context=plan.chunk.context)
    return ChunkPlan(chunk=chunk, prompt=_excerpt(text, lines, figures), figures=figures, unasked=unasked)
