"""Ground stage: locate every record's quote in the article's clean text and keep only what is found.

A quote is searched exactly first, then after normalising whitespace, dashes, quote marks and case. The stored
quote is always the article's own slice, so `text[char_start:char_end] == quote` holds for every record that
leaves this stage; what cannot be located is dropped and counted, never stored ungrounded.
"""

from __future__ import annotations

import re

from pipeline.money import is_written
from pipeline.tables import derive
from schemas.documents import (
    Article,
    Extraction,
    Grounded,
    GroundedExtraction,
    MoneyAmount,
    MoneyUse,
    Provenance,
)

_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−"), "-")
_QUOTES = {ord(c): "'" for c in "‘’‚‛′"} | {ord(c): '"' for c in "“”„‟″"}
_SPACES = re.compile(r"\s+")
# Markers the extract stage puts before money figures in what the model reads; never part of the article.
MARKER = re.compile(r"\[M\d+\]\s?")


# Folding a whole text at once: the few characters to replace are found by a regex (str.translate with a dict
# is slow on non-ASCII text), then str.lower(). Σ is replaced first because str.lower() gives a final ς at the
# end of a word, where folding char by char gives σ: a folded char must not depend on its neighbours.
_FOLD = {chr(code): to for code, to in (_DASHES | _QUOTES).items()} | {"Σ": "σ"}
_TO_FOLD = re.compile("[" + "".join(map(re.escape, _FOLD)) + "]")


def _fold(ch: str) -> str:
    return ch.translate(_DASHES).translate(_QUOTES).lower()


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """`text` folded for matching, and for each folded char the offset of the original char it came from.

    Whitespace runs become one space (none before the first character); other characters are folded one to one.
    """
    folded = _TO_FOLD.sub(lambda found: _FOLD[found.group()], text).lower()
    if len(folded) != len(text):  # a character whose lower case is longer (İ): keep its char-by-char mapping
        return _normalize_char_by_char(text)
    out: list[str] = []
    offsets: list[int] = []
    pos = 0
    for run in _SPACES.finditer(text):
        start, end = run.span()
        out.append(folded[pos:start])
        offsets.extend(range(pos, start))
        if start:
            out.append(" ")
            offsets.append(start)
        pos = end
    out.append(folded[pos:])
    offsets.extend(range(pos, len(text)))
    return "".join(out), offsets


def _normalize_char_by_char(text: str) -> tuple[str, list[int]]:
    """The definition `normalize_with_map` follows, one character at a time (slow; for the rare cases)."""
    out: list[str] = []
    offsets: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not in_space and out:
                out.append(" ")
                offsets.append(i)
            in_space = True
            continue
        in_space = False
        out.append(_fold(ch))
        offsets.append(i)
    return "".join(out), offsets


def normalize(text: str) -> str:
    return normalize_with_map(text)[0].strip()


class FoldedText:
    """`normalize_with_map(text)`, worked out on first use and kept: most quotes are found verbatim and never
    need it, and one article's quotes share it."""

    __slots__ = ("text", "_folded")

    def __init__(self, text: str):
        self.text = text
        self._folded: tuple[str, list[int]] | None = None

    def get(self) -> tuple[str, list[int]]:
        if self._folded is None:
            self._folded = normalize_with_map(self.text)
        return self._folded


def locate(text: str, quote: str, *, folded: FoldedText | None = None) -> Provenance | None:
    """Where `quote` sits in `text` (exact, else normalised), as the article's own slice; None if nowhere.
    `folded` is the text's FoldedText, to share its folding between the quotes of one article."""
    quote = MARKER.sub("", quote).strip()
    if not quote:
        return None
    start = text.find(quote)
    if start >= 0:
        return Provenance(quote=quote, char_start=start, char_end=start + len(quote), match="exact")
    norm_text, offsets = (folded or FoldedText(text)).get()
    needle = normalize(quote)
    pos = norm_text.find(needle) if needle else -1
    if pos < 0:
        return None
    start, end = offsets[pos], offsets[pos + len(needle) - 1] + 1
    return Provenance(quote=text[start:end], char_start=start, char_end=end, match="normalized")


def ground(article: Article, extraction: Extraction) -> GroundedExtraction:
    """Attach provenance to every record of `extraction`; drop and count the ones whose quote is not there or
    does not state the record's numbers (among the extraction's scanned amounts; a table figure's also read
    again from its row and header span); link each money amount to the record it is a bound or cost of."""
    folded = FoldedText(article.text)
    stats = extraction.stats.model_copy()
    records: list[Grounded] = []
    for kind, items in (
        ("salary", extraction.salaries),
        ("skill", extraction.skills),
        ("certification", extraction.certifications),
        ("claim", extraction.claims),
    ):
        for record in items:
            where = locate(article.text, record.quote, folded=folded)
            if where is None:
                stats.dropped_ungrounded += 1
                continue
            header = header_span(article.text, record, where)
            if header is False:
                stats.dropped_ungrounded += 1
                continue
            stated = numbers_in_quote(record, where, extraction.amounts)
            if not stated or (header and not derived(record, header, where)):
                stats.dropped_invalid += 1
                continue
            grounded = record.model_copy(update={"quote": where.quote, **header_fields(header)})
            records.append(Grounded(kind=kind, record=grounded, provenance=where))
    amounts = [link_amount(amount, records) for amount in extraction.amounts]
    return GroundedExtraction(records=records, amounts=amounts, stats=stats)


def header_span(text: str, record, where: Provenance) -> Provenance | None | bool:
    """Where a table figure's header quote sits: the nearest copy that starts before the row (a page may
    repeat a table's header; a header that runs on to the note under its table holds the row), None for a
    record without one, False when it is not in the text there. The header is the article's own text (the
    table reader took it from there), so it is matched exactly."""
    quote = getattr(record, "header_quote", None)
    if quote is None:
        return None
    start = text.rfind(quote, 0, where.char_start + len(quote)) if quote else -1
    return Provenance(quote=quote, char_start=start, char_end=start + len(quote)) if start >= 0 else False


def derived(record, header: Provenance, where: Provenance) -> bool:
    """Value↔quote for a table figure: every bound is read again from the header span and the row alone."""
    bounds = [value for value in (record.amount_min, record.amount_max) if value is not None]
    return all(is_written(value, derive(header.quote, where.quote)) for value in bounds)


def header_fields(header: Provenance | None) -> dict:
    if header is None:
        return {}
    return {"header_quote": header.quote, "header_start": header.char_start, "header_end": header.char_end}


def numbers_in_quote(record, where: Provenance, amounts: list[MoneyAmount]) -> bool:
    """Value↔quote agreement: every stored amount (salary bounds, a credential's cost) is one of the amounts
    the extract stage's money scan found inside the quote's span (the scan is not made again here)."""
    values = [
        value
        for name in ("amount_min", "amount_max", "cost_amount")
        if (value := getattr(record, name, None)) is not None
    ]
    return all(is_written(value, written_in(amounts, where.char_start, where.char_end)) for value in values)


def written_in(amounts: list[MoneyAmount], start: int, end: int) -> list[float]:
    """The bounds of the scanned amounts that lie within text[start:end]."""
    return [
        bound
        for a in amounts
        if start <= a.char_start and a.char_end <= end
        for bound in (a.amount_min, a.amount_max)
        if bound is not None
    ]


_LINKS = {MoneyUse.salary: "salary", MoneyUse.certification_cost: "certification", MoneyUse.repeat: "salary"}


def link_amount(amount: MoneyAmount, records: list[Grounded]) -> MoneyAmount:
    """The amount pointed at the grounded record whose quote holds it (a repeat: wherever it is) and whose
    numbers are its numbers; an amount meant for a record that did not survive grounding becomes unaccounted,
    with the reason."""
    kind = _LINKS.get(amount.use)
    if kind is None:
        return amount
    for index, item in enumerate(records):
        span = item.provenance
        holds = span.char_start <= amount.char_start and amount.char_end <= span.char_end
        inside = holds or amount.use is MoneyUse.repeat
        if item.kind == kind and inside and _same_numbers(amount, item):
            return amount.model_copy(update={"record": index})
    reason = f"its {kind} record was dropped: quote not in the text or numbers not in the quote"
    return amount.model_copy(update={"use": MoneyUse.unaccounted, "reason": reason, "record": None})


def _same_numbers(amount: MoneyAmount, item: Grounded) -> bool:
    if item.kind == "certification":
        return item.record.cost_amount == amount.amount_min
    return (item.record.amount_min, item.record.amount_max) == (amount.amount_min, amount.amount_max)
