"""Record assembly of the extract stage: the model's readings and the deterministic finds become records.

A salary takes its numbers, currency and period from the money scanner, its level, years, region, employer
and pay basis from the words around the figure, and the model's word only where the text leaves a choice
(pay or not, which of the levels a table names). Pay needs the model's word and no cue against it: words at a
figure or in its sentence that make it a change, a bonus, a cost, company money or a threshold overrule the
model (precision first). Every scanned amount gets an account: a salary bound, a repeat of a salary already stated, a
credential's cost, not pay (with what it is), or unaccounted with the reason. The rules' cue words and
thresholds are vocabulary (cues.toml, thresholds.toml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from pipeline import sentences
from pipeline.chunk import Line
from pipeline.credentials import issuer_of
from pipeline.figures import Figure
from pipeline.ground import locate
from pipeline.levels import (
    detect_pay_basis,
    detect_period,
    levels_named,
    names_a_level,
    parse_level,
    spans_all_levels,
)
from pipeline.mentions import find_employer, find_region, find_role, regions_named, skill_category
from pipeline.money import Money, stated_period, stated_period_before
from pipeline.tables import cells
from pipeline.vocab import any_of, vocabulary
from schemas.documents import Extraction, MoneyAmount, MoneyUse
from schemas.records import (
    Certification,
    FigureKind,
    FigureReading,
    Level,
    PayBasis,
    Period,
    Salary,
    Skill,
)

_CUES = vocabulary().cues
# Words that mark a figure as something other than pay, and words that mark it as pay.
_NOT_PAY = re.compile(rf"\b{any_of(_CUES.not_pay)}\b", re.IGNORECASE)
_PAY = re.compile(any_of(_CUES.pay), re.IGNORECASE)
_POINTS_BACK = re.compile(rf"\s*(?:{any_of(_CUES.antecedent_words)})\b", re.IGNORECASE)  # "It's £72k"
_JOIN = re.compile(rf"(?:^|\s){any_of(_CUES.clause_joins)}(?:\s|$)", re.IGNORECASE)  # "£72k + 10k bonus"
_CONVERSION_GAP = re.compile(any_of(_CUES.conversion_gaps), re.IGNORECASE)
_PAY_EVIDENCE = re.compile(any_of([*_CUES.pay, *_CUES.pay_evidence]), re.IGNORECASE)  # see _pay_evidence
# The smallest salary of a period in any currency (thresholds.toml): below it a figure is a price or a fee.
_LEAST_PAY = {
    Period.year: (vocabulary().thresholds.min_yearly_pay, "yearly"),
    Period.month: (vocabulary().thresholds.min_monthly_pay, "monthly"),
}
# The smallest amount that is nobody's pay, but in the currencies whose salaries run to it (thresholds.toml).
_MOST_PAY = vocabulary().thresholds.max_pay_amount
_BILLIONS_PAID_IN = frozenset(vocabulary().thresholds.max_pay_exempt)
# Pay needs positive evidence (_pay_evidence). Part of it: a job named right after a figure ("€46k as an ML
# engineer", "CHF 135,000 to CHF 170,000 for senior AI engineers"), a statistic word ("median") in its sentence.
_FOR_A_JOB = re.compile(r"\s*(?:[\w/,-]+\s+){0,4}?(?:as an?|for(?: an?)?)\s", re.IGNORECASE)
_STATISTIC = re.compile(rf"\b{any_of(map(re.escape, vocabulary().tables.statistics))}\b", re.IGNORECASE)
_REPORTED = re.compile(rf"{_STATISTIC.pattern}|\b{any_of(_CUES.pay_reports)}\b", re.IGNORECASE)
_NO_PAY_WORD = "no pay word in its sentence, heading or header says it is what someone is paid"
# Hard-wrapped paragraphs (.md, .txt): a line this long without a stop runs on; what starts a new line instead.
_WRAP_MIN_CHARS = vocabulary().thresholds.wrapped_line_min_chars
_LIST_MARK = r"(?:[-*•]|\d+[.)])"  # a list item's bullet or number
_NEW_LINE_START = re.compile(rf"(?:{_LIST_MARK}|[#|>])\s")  # or a heading, table row or quote
_MAX_WRAPS = 3  # lines a sentence may run on over, either way
_LIST_ITEM = re.compile(rf"{_LIST_MARK}\s")
_FIGURE_START = re.compile(r"\S{0,4}\s?\d")  # a line that opens with an amount ("CHF 200,000", "$90k")
_CELL_MAX = vocabulary().thresholds.table_cell_max_chars
_BLOCK_LINES = 30  # lines searched back over a list or label block for the period its heading or intro states
_INTRODUCES = re.compile(r":\s*$")  # a line ending in a colon introduces the block under it
# A range written as two figures: only a dash or a range word ("to", "and") between them.
# Two figures of one currency are alike (one's period puts the other's in doubt) only within this factor.
_PARALLEL_RATIO = vocabulary().periods.parallel_ratio_max
_RANGE_GAP = re.compile(rf"\s*(?:[-–—‒−]|{any_of(vocabulary().qualifiers.range_words)})\s*", re.IGNORECASE)


_COORDINATED = re.compile(  # "… was 3,400 kr a month, or roughly 40,800 kr a year"
    rf"\s*(?:,|,?\s*(?:and|or|&))\s*(?:{any_of(vocabulary().qualifiers.approximately)}\s+)?", re.IGNORECASE
)
_ANAPHOR = re.compile(rf"\b(?:{any_of(_CUES.anaphor_words)})\s*$", re.IGNORECASE)  # "and it saw one of €40,000"
_ANAPHOR_UNLESS = re.compile(any_of(_CUES.anaphor_unless), re.IGNORECASE)  # "one at $185k base"
_GLOSS = re.compile(r"\s*\([^()\d]*\)(?=[^()]*$)")  # the last bracket, if it holds no figure


@dataclass(frozen=True)
class KindCue:
    """A compiled `kinds` entry of cues.toml: words at a figure that make it a bonus, change, cost and so on."""

    kind: FigureKind
    reason: str
    before: re.Pattern | None
    after: re.Pattern | None
    words: re.Pattern | None
    words_unless: re.Pattern | None
    clause_words: re.Pattern | None
    unless: re.Pattern | None

    def names(self, before: str, after: str, sentence: str, context: str, antecedent: str, qualifier: str = "") -> bool:
        """Whether the words right before the figure (with the qualifier opening it: "turnover up to"), or after
        it, its clause (with the sentence it points back to, if any: "Ask what the bonus paid. Mine is up to
        10k."), its heading (a short one: "Bonuses") or its sentence carry this cue. A line wrap reads as a space
        ("The national minimum\nwage"), and a gloss in brackets right before the figure is skipped."""
        before, after, sentence = (part.replace("\n", " ") for part in (before, after, sentence))
        before, after = _EMPHASIS_END.sub("", before), _EMPHASIS_START.sub("", after)  # "more than **A$60,000**"
        unglossed = _GLOSS.sub("", before)  # "the holiday bonus (orlofsuppbót) of" reads "the holiday bonus of"
        own_before = _JOIN.split(before)[-1]
        own = _own_words(before, " ", after)
        clause = f"{antecedent}\n{own}" if antecedent else own
        near = f"{own_before} {after[: _CELL_MAX // 4]}"  # its own words before it, a few after
        return bool(
            (self.before and (self.before.search(unglossed) or qualifier and self.before.search(unglossed + qualifier)))
            or (self.after and self.after.match(after))
            or (
                self.words
                and self.words.search(sentence)
                and not (self.words_unless and self.words_unless.search(near))
            )
            or (
                self.clause_words
                and (
                    self.clause_words.search(clause) or len(context) <= _CELL_MAX and self.clause_words.search(context)
                )
                and not (self.unless and self.unless.search(f"{clause}\n{context}"))
            )
        )


_EMPHASIS_END = re.compile(r"(?<=\s)[*_]+$")  # Markdown emphasis around a figure is no word of its clause
_EMPHASIS_START = re.compile(r"^[*_]+")


def _compiled(patterns: list[str], template: str) -> re.Pattern | None:
    return re.compile(template.format(any_of(patterns)), re.IGNORECASE) if patterns else None


_KIND_CUES = tuple(
    KindCue(
        FigureKind(cue.kind),
        cue.reason,
        _compiled(cue.before, r"{}\s*$"),
        _compiled(cue.after, r"\s*{}"),
        _compiled(cue.words, r"\b{}\b"),
        _compiled(cue.words_unless, r"\b{}"),
        _compiled(cue.clause_words, r"\b{}\b"),
        _compiled(cue.unless, r"\b{}"),
    )
    for cue in _CUES.kinds
)


# ---------------------------------------------------------------------------------------------- salaries


def sentence_around(text: str, line: Line, start: int, end: int) -> tuple[int, int]:
    """Offsets of the sentence of `line` that holds [start, end); table rows are their own sentence."""
    if line.is_table_row:
        return line.start, line.end
    s, e = sentences.sentence_around(text, start, end)
    if end > e:  # a figure written across a hard line wrap ("HK$85,000 a\nmonth"): its sentence takes both lines
        e = max(e, sentences.sentence_around(text, end - 1)[1])
    for _ in range(_MAX_WRAPS):  # a sentence of a hard-wrapped paragraph goes on over its line ends
        if (before := text.rfind("\n", 0, s)) >= 0 and not text[before:s].strip() and _runs_on(text, before):
            s = sentences.sentence_around(text, before - 1)[0]
        elif (after := text.find("\n", e)) >= 0 and not text[e:after].strip() and _runs_on(text, after):
            e = sentences.sentence_around(text, after + 1)[1]
        else:
            break
    return s, e


def _runs_on(text: str, newline: int) -> bool:
    """Whether the line ending at `newline` is a hard wrap inside a sentence: it ends without a stop, the next
    line is no list item, heading or table row, and the next starts in lower case or the line is long (a list
    item's only when the next line is indented under it or opens with an amount: a paragraph after a list starts
    a sentence of its own)."""
    line = text[text.rfind("\n", 0, newline) + 1 : newline].strip()
    raw = text[slice(*sentences.line_around(text, newline + 1))]
    nxt = raw.strip()
    if not line or not nxt or line.endswith((".", "!", "?", ":", ";", "|")) or _NEW_LINE_START.match(nxt):
        return False
    item_goes_on = raw[0].isspace() or _FIGURE_START.match(nxt)  # indented under it, or "CHF 200,000 a year, …"
    return not nxt[0].isupper() or (len(line) >= _WRAP_MIN_CHARS and (item_goes_on or not _LIST_ITEM.match(line)))


def _own_words(before: str, figure: str, after: str) -> str:
    """A figure's own words in its clause: none across a join to another amount ("110k base + 10% yearly
    bonus": the "yearly" is the bonus's)."""
    return f"{_JOIN.split(before)[-1]}{figure}{_JOIN.split(after, maxsplit=1)[0]}"


def _clause_span(text: str, fig: Figure, figures: list[Figure]) -> tuple[int, int]:
    """Offsets of the words that belong to this figure: its sentence, cut at the neighbouring figures of it."""
    s, e = sentence_around(text, fig.line, fig.money.start, fig.money.end)
    for other in (other for other in figures if other is not fig):
        if s <= other.money.end <= fig.money.start:
            s = max(s, other.money.end)
        if fig.money.end <= other.money.start < e:
            e = min(e, other.money.start)
    return s, e


def _lead(text: str, fig: Figure, figures: list[Figure], clause: tuple[int, int], sentence_start: int) -> str:
    """The words before a figure that speak for it: its clause's, or, for a figure joined to the one before it
    by nothing but "and", "or" or a comma ("raised $36 million and $22 million"), or standing for what the one
    before it in its sentence is ("… and it saw one of €40,000", in a clause with no salary word of its own), the
    words before that one."""
    before = [o for o in figures if o.money.end <= fig.money.start]
    prev = max(before, key=lambda o: o.money.end, default=None)
    own = text[clause[0] : fig.money.start]
    stands_for = prev is not None and prev.money.start >= sentence_start and _ANAPHOR.search(own)
    if stands_for and _ANAPHOR_UNLESS.search(text, clause[0], clause[1]):
        stands_for = False  # "one at $185k base" is pay whatever the figure before it was
    if prev is None or not (_COORDINATED.fullmatch(text, prev.money.end, fig.money.start) or stands_for):
        return own
    prev_start, _ = _clause_span(text, prev, figures)
    return text[prev_start : prev.money.start]


@dataclass(frozen=True)
class _Words:
    """The words around a figure that the rules read: its clause (its sentence cut at the neighbouring
    figures), the words before it that speak for it, its heading or header, its sentence, the sentence it
    points back to, and the qualifier that opens it ("up to ")."""

    clause: str
    lead: str
    after: str
    context: str
    sentence: str
    antecedent: str
    qualifier: str


def _words(text: str, fig: Figure, figures: list[Figure]) -> _Words:
    start, end = _clause_span(text, fig, figures)
    s, e = sentence_around(text, fig.line, fig.money.start, fig.money.end)
    sentence = text[s:e]
    context = fig.context.text if fig.context else ""
    lead, after = _lead(text, fig, figures, (start, end), s), text[fig.money.end : end]
    antecedent = _antecedent(text, fig, sentence)
    return _Words(text[start:end], lead, after, context, sentence, antecedent, fig.money.qualifier)


def cue_of(text: str, fig: Figure, figures: list[Figure]) -> tuple[FigureKind, str] | None:
    """What the cue words at a figure or in its sentence say it is (a change, a bonus, a cost, company money, a
    threshold) and why, or None: they overrule the model, so a figure they name need not be read by it."""
    return _conversion(text, fig, figures) or _cue(_words(text, fig, figures))


def _conversion(text: str, fig: Figure, figures: list[Figure]) -> tuple[FigureKind, str] | None:
    """A figure that restates the amount right before it in another currency (cues.toml `conversion_gaps`)."""
    prev = max((o for o in figures if o.money.end <= fig.money.start), key=lambda o: o.money.end, default=None)
    if prev is None or prev.money.currency in (None, fig.money.currency):
        return None
    if _CONVERSION_GAP.fullmatch(text, prev.money.end, fig.money.start):
        return FigureKind.other, f"the {prev.money.currency} amount before it, converted"
    return None


def _cue(w: _Words) -> tuple[FigureKind, str] | None:
    words = (w.lead, w.after, w.sentence, w.context, w.antecedent, w.qualifier)
    cue = next((c for c in _KIND_CUES if c.names(*words)), None)
    return (cue.kind, cue.reason) if cue is not None else None


def not_pay_reason(fig: Figure, reading: FigureReading, clause: str, context: str) -> tuple[FigureKind, str] | None:
    """What a figure no cue word names is, and why it is not pay, or None when it is pay: the model's word,
    then fee, price or cost words in its clause with no pay words beside them."""
    if reading.kind is not FigureKind.pay:
        return reading.kind, f"read as {reading.kind.value}"
    window = f"{context} {clause}" if fig.line.is_table_row else clause
    if _NOT_PAY.search(window) and not _PAY_EVIDENCE.search(window):
        return FigureKind.cost, "price, fee or cost words beside it, no pay words"
    return None


_NOT_TAKEN = "and like amounts beside it are per %s: not taken from them"


def period_of(
    text: str, fig: Figure, figures: list[Figure], clause: str, context: str, sentence: str
) -> Period | str | None:
    """The figure's period, from words that speak for it and never from another figure (issue 15 point 5): its own
    words, else the range it belongs to (one "a month" after the second bound covers both), else its clause, else
    its table row's label, else its column header, else what the text says over it: its heading, the heading over
    its table or list, the paragraph introducing its list, the last statement of the text's figures before it
    ("All numbers below are gross per month"). Like figures (same currency, close size) never give it theirs,
    but they can put it in doubt: when the one before it in its sentence or the items of its list state another
    period than the words over it, or, with nothing over it, when they or the one period the text gives all its
    like amounts are not the year a salary without a period is read as, the reason it is left unaccounted is
    returned instead of a period. None when nothing said one and nothing doubts a year."""
    own = (
        fig.money.period
        or _range_partner_period(text, fig, figures)
        or detect_period(_own_words(*clause.partition(fig.money.text)))
        or _row_label_period(fig, figures)
        or (fig.line.is_table_row and detect_period(_without_figures(context, figures)))
    )
    if own:
        return own
    section = fig.section.text if fig.section else ""
    told = (
        detect_period(_without_figures(context, figures))
        or detect_period(_without_figures(section, figures))
        or _block_period(text, fig, figures)
        or stated_period_before(text, fig.money.start)
    )
    near = _sentence_period(text, fig, figures) or _list_period(text, fig, figures)
    if told:
        return told if near in (None, told) else f"the words over it say per {told.value}, {_NOT_TAKEN % near.value}"
    like = near or _text_period(fig, figures, sentence)
    return None if like in (None, Period.year) else f"no period of its own, {_NOT_TAKEN % like.value}"


def _row_label_period(fig: Figure, figures: list[Figure]) -> Period | None:
    """The period a table row's label states for each cell of the row ("Basic salary (per month) | AED 32,000 –
    40,000 | SAR 31,000 – 39,000")."""
    if not fig.line.is_table_row:
        return None
    label = cells(fig.line)[0]
    own = label.start <= fig.money.start < label.end
    return None if own else detect_period(_without_figures(label.text, figures))


def _block_period(text: str, fig: Figure, figures: list[Figure]) -> Period | None:
    """For a figure in a list item or a short label line, the period the lines over its block state: its
    heading or labels ("MONTHLY GROSS SALARIES (Rand, per month)"), else the paragraph that introduces the
    block ("Pay is quoted gross per month in leva.")."""
    *labels, intro = _block_lines(text, fig, figures) or [""]
    return next((p for line in labels if (p := detect_period(line))), None) or stated_period(intro)


def _block_lines(text: str, fig: Figure, figures: list[Figure]) -> list[str]:
    """The lines over a list or label block that speak for a figure in it: walking back over the block's lines
    that hold no figure (a heading, a role's label) to the paragraph or line ending in a colon that introduces
    the block, which comes last. Empty for a table row, a line of prose, or a block under a table (which speaks
    for its own figures)."""
    line = fig.line
    wrapped = line.start > 0 and _runs_on(text, line.start - 1) or _runs_on(text, line.end)
    if line.is_table_row or wrapped or not _in_block(line.text):
        return []
    found, pos = [], line.start
    for _ in range(_BLOCK_LINES):
        if pos == 0:
            break
        start = text.rfind("\n", 0, pos - 1) + 1
        line, pos = text[start : pos - 1], start
        if not line.strip() or any(start <= f.money.start < start + len(line) for f in figures):
            continue
        if line.count("|") or "\t" in line:
            break  # a table over the block speaks for its own figures: no introducing paragraph
        found.append(line)
        introduces = _INTRODUCES.search(line) and not _LIST_ITEM.match(line.strip())
        if not _in_block(line) or introduces and not (start > 0 and _runs_on(text, start - 1)):
            return found
    return [*found, ""]  # no introducing paragraph within reach


def _in_block(line: str) -> bool:
    """A list item, or a short line without a stop (a heading, a label): a line of a block, not of prose."""
    text = line.strip()
    return bool(_LIST_ITEM.match(text)) or (len(text) <= _CELL_MAX and not text.endswith((".", "!", "?")))


def _range_partner_period(text: str, fig: Figure, figures: list[Figure]) -> Period | None:
    """The period of the figure right after this one when only a dash or "to" sits between them (a line wrap
    too: "from $4.1 million to\n$4.6 million a month")."""
    after = [o for o in figures if o is not fig and o.money.start >= fig.money.end]
    nxt = min(after, key=lambda o: o.money.start, default=None)
    if nxt is None or not _RANGE_GAP.fullmatch(text, fig.money.end, nxt.money.start):
        return None
    return nxt.money.period


def _sentence_period(text: str, fig: Figure, figures: list[Figure]) -> Period | None:
    """The period the figure before this one in its sentence states, when that one is the same kind of amount:
    the same currency, and within `_PARALLEL_RATIO` of this one ("52 000–65 000 kr a month, and seniors 70 000–85
    000 kr"). An amount of another size (a yearly take-home beside a day rate) is no like figure and puts nothing
    in doubt."""
    start, _ = sentence_around(text, fig.line, fig.money.start, fig.money.end)
    before = [o for o in figures if start <= o.money.start < fig.money.start and _alike(fig, o)]
    prev = max(before, key=lambda o: o.money.start, default=None)
    return prev.money.period if prev is not None else None


def _list_period(text: str, fig: Figure, figures: list[Figure]) -> Period | None:
    """The one period the other items of the figure's list state for amounts of the same kind ("- Juniors:
    ₾2,200 a month" beside "- Mid level: ₾6,000–₾8,500")."""
    start, end = _list_items(text, fig.line)
    stated = {o.money.period for o in figures if o is not fig and start <= o.money.start < end and _alike(fig, o)}
    return stated.pop() if len(stated) == 1 else None


def _text_period(fig: Figure, figures: list[Figure], sentence: str) -> Period | None:
    """For a figure its own sentence calls pay (or says whose pay: "For senior profiles, up to $U 210.000."), the
    one period the text states for every other amount of the same kind (same currency, close size), when it
    states one for two or more: a guide that quotes its pay per month ("₼2,500–3,500 a month", "from ₼6,000 a
    month") puts a year for "a senior MLE on ₼7,800 gross" in doubt."""
    if not (_PAY_EVIDENCE.search(sentence) or _REPORTED.search(sentence) or names_a_level(sentence)):
        return None
    stated = [o.money.period for o in figures if o is not fig and _alike(fig, o)]
    return stated[0] if len(stated) >= 2 and len(set(stated)) == 1 else None


def _alike(fig: Figure, other: Figure) -> bool:
    """Whether another figure with a period of its own is the same kind of amount: same currency, close size."""
    size, size_other = _size(fig.money), _size(other.money)
    return bool(
        other.money.period
        and other.money.currency == fig.money.currency
        and size
        and size_other
        and max(size, size_other) / min(size, size_other) < _PARALLEL_RATIO
    )


def _list_items(text: str, line: Line) -> tuple[int, int]:
    """Offsets of the run of list items a line is one of (an empty span for a line that is no list item)."""
    if not _LIST_ITEM.match(line.text.strip()):
        return line.start, line.start
    start, end = line.start, line.end
    while start > 0 and _LIST_ITEM.match(text[text.rfind("\n", 0, start - 1) + 1 : start].strip()):
        start = text.rfind("\n", 0, start - 1) + 1
    while end < len(text) and _LIST_ITEM.match(text[end + 1 : _line_end(text, end + 1)].strip()):
        end = _line_end(text, end + 1)
    return start, end


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _size(money) -> float | None:
    """An amount's size for comparing two figures: its upper bound, else its lower one."""
    return money.amount_max or money.amount_min


def _without_figures(context: str, figures: list[Figure]) -> str:
    """A heading or header with the figures in it taken out, so a figure never takes a neighbour's period."""
    for other in figures:
        if other.money.text in context:
            context = context.replace(other.money.text, " ")
    return context


def salary_from(
    text: str, fig: Figure, reading: FigureReading | None, figures: list[Figure]
) -> tuple[Salary | None, MoneyAmount]:
    """A Salary from one figure (numbers from code, who-it-is-for from both) and the account of the amount:
    a salary bound, or not pay / unaccounted with the reason. `reading` is None for a figure the model was not
    asked about (`cue_of` names it)."""
    amount = money_amount(fig.money, kind=reading.kind if reading else None)
    w = _words(text, fig, figures)
    clause, context, sentence, antecedent = w.clause, w.context, w.sentence, w.antecedent
    found = _conversion(text, fig, figures) or _cue(w)
    if found is None and reading is None:
        return None, amount.model_copy(update={"reason": "not read: the model was not asked about it"})
    found = found or not_pay_reason(fig, reading, f"{w.lead}{fig.money.text}{w.after}", context)
    if found:
        kind, reason = found
        return None, amount.model_copy(update={"use": MoneyUse.not_pay, "kind": kind, "reason": reason})
    if not _pay_evidence(text, fig, figures, sentence, context, antecedent):
        return None, amount.model_copy(
            update={"use": MoneyUse.not_pay, "kind": FigureKind.other, "reason": _NO_PAY_WORD}
        )
    if fig.money.currency is None:
        return None, amount.model_copy(
            update={"reason": "no currency: read as pay, but none is written at it or stated elsewhere in the text"}
        )
    period = period_of(text, fig, figures, clause, context, sentence)
    if period is not None and not isinstance(period, Period):  # the reason a like figure puts it in doubt
        return None, amount.model_copy(update={"reason": period})
    period = period or Period.year  # what any salary without a period is read as
    top = fig.money.amount_max or fig.money.amount_min or 0
    if period in _LEAST_PAY and top < _LEAST_PAY[period][0]:
        reason = f"too small for a {_LEAST_PAY[period][1]} salary"
        return None, amount.model_copy(update={"use": MoneyUse.not_pay, "reason": reason})
    if top >= _MOST_PAY and fig.money.currency not in _BILLIONS_PAID_IN:
        reason = f"too large for anyone's pay in {fig.money.currency}"
        return None, amount.model_copy(update={"use": MoneyUse.not_pay, "kind": FigureKind.other, "reason": reason})
    try:
        salary = _salary(fig, reading, clause, sentence, context, period)
    except ValueError as exc:
        return None, amount.model_copy(update={"reason": f"read as pay, but not a valid salary: {_first_error(exc)}"})
    return salary, amount.model_copy(update={"use": MoneyUse.salary})


def _pay_evidence(text: str, fig: Figure, figures: list[Figure], sentence: str, context: str, antecedent: str) -> bool:
    """Whether the text says the figure is what someone is paid (issue 15: pay needs positive evidence): a pay
    word in its sentence (or the one it points back to), its line's label, its heading or table header, the
    heading over its table or the lines over its list; a job title or level labelling it ("Senior ML engineer:
    …", a row's first cell, its column's header or its heading, "… as an ML engineer", "… for senior AI
    engineers"); or a statistic of pay ("the senior median was …", a "2024 median" column)."""
    row = fig.line.is_table_row
    section = fig.section.text if fig.section else ""
    label = _label(fig.line, sentence)
    parts = (sentence, antecedent, label, context, section, *_block_lines(text, fig, figures))
    if any(_PAY_EVIDENCE.search(part) for part in parts):
        return True
    after = text[fig.money.end : fig.money.end + _CELL_MAX]
    return bool(
        find_role(label)
        or names_a_level(label)
        or find_role(context)
        or names_a_level(context)
        or ((job := _FOR_A_JOB.match(after)) and (find_role(after) or names_a_level(after[: job.end() + 20])))
        or (row and _STATISTIC.search(context))
        or (_REPORTED.search(sentence) and (find_role(sentence) or names_a_level(sentence)))
    )


def _antecedent(text: str, fig: Figure, sentence: str) -> str:
    """The sentence before the figure's in its line, when the figure's opens with a word that points back to
    it ("I've got an offer for a senior role. It's £72k + bonus."); else nothing."""
    if fig.line.is_table_row or not _POINTS_BACK.match(sentence):
        return ""
    start, _ = sentence_around(text, fig.line, fig.money.start, fig.money.end)
    if start <= fig.line.start:
        return ""
    end = len(text[:start].rstrip())  # the last character of the sentence before
    s, e = sentences.sentence_around(text, end - 1)
    return text[s:e] if s >= fig.line.start else ""


def _label(line: Line, sentence: str) -> str:
    """What labels a figure: its table row's first cell, or the words before a colon that opens its sentence
    ("Senior: $200,000-$300,000.") or its line ("**Pay rate:** $72–$84 per hour on W2; $82–$95 …")."""
    if line.is_table_row:
        return line.text.strip().strip("|").split("|")[0]
    heads = (text.partition(":") for text in (sentence, line.text))
    return "\n".join(head for head, colon, _ in heads if colon and len(head) <= _CELL_MAX)


def _salary(fig: Figure, reading: FigureReading, clause: str, sentence: str, context: str, period: Period) -> Salary:
    """The Salary of a pay figure: who it is for from its clause, then its sentence, then its context (and a
    table row's region from the heading over its table)."""
    level, years_min, years_max = _own_level(clause, fig.money.text)
    context_level, context_min, context_max = _context_level(context)
    if years_min is None and years_max is None:
        years_min, years_max = context_min, context_max
    if level is Level.unspecified and not spans_all_levels(clause):
        level = _column_level(fig) or _chosen_level(f"{clause}\n{context}", context, reading.level, context_level)
    return Salary(
        role=find_role(clause, sentence, context),
        level=level,
        years_min=years_min,
        years_max=years_max,
        region=find_region(clause, sentence, context) or _section_region(fig),
        employer=find_employer(clause, sentence),
        currency=fig.money.currency,
        period=period,
        amount_min=fig.money.amount_min,
        amount_max=fig.money.amount_max,
        open_ended=fig.money.open_ended,
        pay_basis=detect_pay_basis(f"{clause} {context}"),
        quote=sentence.strip(),
    )


def _section_region(fig: Figure) -> str | None:
    """The region the heading over a table row's table names, when it names exactly one ("Poland: contracts")."""
    named = regions_named(fig.section.text) if fig.section else set()
    return named.pop() if len(named) == 1 else None


def _own_level(clause: str, figure: str) -> tuple[Level, float | None, float | None]:
    """Level and years from the words before the figure when they name any ("Mid-level engineers earn £65,000,
    with senior engineers …" is mid), else from its whole clause ("€55k for mid-level")."""
    before = clause.split(figure, 1)[0]
    return parse_level(before if names_a_level(before) else clause)


def _chosen_level(words: str, context: str, read: Level, context_level: Level) -> Level:
    """The level of a figure whose clause names none: the one level its context names; else the model's pick
    when its words name levels or years (a header "Junior | Mid | Senior", a row "Staff (L6) | 9+ yrs"),
    never one for a figure whose words name none."""
    named = levels_named(context)
    if len(named) == 1 or not names_a_level(words):
        return context_level
    return read if read is not Level.unspecified else context_level


def _column_level(fig: Figure) -> Level | None:
    """The level the header cell over a table row's figure names ("| Role | Junior | Mid |" over "| … | RM6,000 |"
    is mid), so a row of figures under level columns is not read as the header's most senior level."""
    if fig.context is None or not (fig.line.is_table_row and fig.context.is_table_row):
        return None
    column = fig.line.text[: fig.money.start - fig.line.start].count("|")
    cells = fig.context.text.split("|")
    level = parse_level(cells[column])[0] if column < len(cells) else Level.unspecified
    return None if level is Level.unspecified else level


def _context_level(context: str) -> tuple[Level, float | None, float | None]:
    """Level from the first line of the context that names one, years from the first that names some: a
    flattened table row's label ("Starting Out (0-2 years)") comes before cells that merely mention a level
    ("support for senior engineers")."""
    found = [parse_level(line) for line in context.splitlines()]
    level = next((lv for lv, _, _ in found if lv is not Level.unspecified), Level.unspecified)
    years = next(((y0, y1) for _, y0, y1 in found if (y0, y1) != (None, None)), (None, None))
    return level, *years


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    return errors()[0]["msg"] if callable(errors) else str(exc).splitlines()[0]


# ---------------------------------------------------------------------------------------------- amounts


def money_amount(money: Money, **fields) -> MoneyAmount:
    """The account entry of a scanned amount; unaccounted until a stage says what it is."""
    return MoneyAmount(
        char_start=money.start,
        char_end=money.end,
        text=money.text,
        currency=money.currency,
        amount_min=money.amount_min,
        amount_max=money.amount_max,
        period=money.period,
        **fields,
    )


def opening_accounts(money: list[Money], steered: list[Money]) -> dict[int, MoneyAmount]:
    """Every scanned amount's account before the model reads anything, by start offset."""
    accounts = {m.start: money_amount(m, reason="in no excerpt the model read") for m in money}
    for m in steered:
        accounts[m.start] = money_amount(m, use=MoneyUse.not_pay, reason="in text addressed to an AI model, never pay")
    return accounts


def with_cost(text: str, cert: Certification, fees: dict[int, MoneyAmount]) -> Certification:
    """The cost of a credential: the nearest figure after its name on the same line that is not pay, read by code.

    The quote then runs from the name to the end of that figure, so the stored cost is written in its quote,
    and the amount is accounted for as this credential's cost.
    """
    where = locate(text, cert.quote)
    if where is None:
        return cert
    line_end = text.find("\n", where.char_end)
    line_end = len(text) if line_end < 0 else line_end
    after = [a for a in fees.values() if where.char_end <= a.char_start < line_end and a.amount_min and a.currency]
    if not after:
        return cert
    cost = min(after, key=lambda a: a.char_start)
    fees[cost.char_start] = cost.model_copy(update={"use": MoneyUse.certification_cost, "reason": ""})
    return cert.model_copy(
        update={
            "cost_amount": cost.amount_min,
            "cost_currency": cost.currency,
            "quote": text[where.char_start : cost.char_end],
        }
    )


# ---------------------------------------------------------------------------------------------- records


def model_lists(reading: BaseModel) -> tuple[list[Certification], list[Skill], int]:
    """The model's exact phrases as records, named as written (the save stage resolves them to entities), and
    how many phrases no record can hold (a "skill" of a whole sentence): those are dropped and counted, not
    let fail the document. Its claims are read by pipeline.claims, which needs the article around them."""
    certs = [r for p in reading.certifications if (r := _record(Certification, name=p, issuer=issuer_of(p), quote=p))]
    skills = [r for p in reading.skills if (r := _record(Skill, name=p, category=skill_category(p), quote=p))]
    return certs, skills, len(reading.certifications) + len(reading.skills) - len(certs) - len(skills)


def _record(kind: type[BaseModel], **fields) -> BaseModel | None:
    """A record of `kind`, or None when the fields break its schema."""
    try:
        return kind(**fields)
    except ValidationError:
        return None


def same_salary(a: Salary, b: Salary) -> bool:
    """Whether two salaries are one fact: the same numbers, currency, period and basis, and no attribute that
    both name and name differently (a heading's "£400 a day" and the body's "a contractor on £400 a day")."""
    numbers = ("currency", "period", "amount_min", "amount_max", "open_ended")
    if any(getattr(a, name) != getattr(b, name) for name in numbers):
        return False
    named = (
        ("level", Level.unspecified),
        ("pay_basis", PayBasis.unspecified),
        ("region", None),
        ("role", None),
        ("employer", None),
        ("years_min", None),
        ("years_max", None),
    )
    pairs = ((getattr(a, name), getattr(b, name), blank) for name, blank in named)
    return all(x == y or blank in (x, y) for x, y, blank in pairs)


class Records:
    """An extraction's records, each kept once (a repeated name or quote, e.g. from a later chunk, is not)."""

    def __init__(self) -> None:
        self.out = Extraction()
        self._seen: set[tuple] = set()
        self._buckets = {
            "salary": self.out.salaries,
            "skill": self.out.skills,
            "certification": self.out.certifications,
            "claim": self.out.claims,
        }

    @staticmethod
    def key(kind: str, record: BaseModel) -> tuple:
        if kind in ("skill", "certification"):
            return (kind, record.name.casefold())
        if kind == "claim":  # one sentence may state several figures, each a claim
            return (kind, record.quote.casefold(), record.value, record.value_max, record.unit)
        return (kind, record.model_dump_json())  # salaries that are one fact are told apart by `same_salary`

    def has(self, kind: str, record: BaseModel) -> bool:
        return self.key(kind, record) in self._seen

    def add(self, kind: str, record: BaseModel) -> None:
        """Append a record unless one with the same key is already there."""
        key = self.key(kind, record)
        if key not in self._seen:
            self._seen.add(key)
            self._buckets[kind].append(record)

    def add_salary(self, salary: Salary, amount: MoneyAmount) -> MoneyAmount:
        """Add a salary unless the document already stated it; the amount's account: a salary bound, or a repeat
        of the salary stored first (one fact, one row)."""
        first = next((kept for kept in self.out.salaries if same_salary(kept, salary)), None)
        if first is None:
            self.add("salary", salary)
            return amount
        return amount.model_copy(update={"use": MoneyUse.repeat, "reason": f"repeats the salary in “{first.quote}”"})

    def add_repeats(self, accounts: dict[int, MoneyAmount]) -> None:
        """A figure with no pay words of its own that states a stored salary again (a heading's "£400 a day" over
        the body's "a contractor on £400 a day") is accounted as a repeat of that salary, not as money of no kind."""
        for start, amount in accounts.items():
            if amount.reason != _NO_PAY_WORD:
                continue
            numbers = (amount.currency, amount.amount_min, amount.amount_max)
            first = next(
                (
                    kept
                    for kept in self.out.salaries
                    if (kept.currency, kept.amount_min, kept.amount_max) == numbers
                    and amount.period in (None, kept.period)
                ),
                None,
            )
            if first is not None:
                update = {
                    "use": MoneyUse.repeat,
                    "kind": FigureKind.pay,
                    "reason": f"repeats the salary in “{first.quote}”",
                }
                accounts[start] = amount.model_copy(update=update)

    def add_credentials(self, text: str, certs: list[Certification], accounts: dict[int, MoneyAmount]) -> None:
        """Add credentials, each with the cost written after its name (that amount's account says so): an amount
        not pay or left unaccounted ("exam AI-102 ($165)" beside hourly rates has no period of its own)."""
        fees = {start: a for start, a in accounts.items() if a.use in (MoneyUse.not_pay, MoneyUse.unaccounted)}
        for cert in certs:
            if not self.has("certification", cert):  # a repeated name must not claim a second cost
                self.add("certification", with_cost(text, cert, fees))
        accounts.update(fees)
