"""The one sentence splitter of the project: syntok's, applied line by line.

A salary's quote is its sentence, a claim is a sentence, and a bare "$" is read from the sentence around it,
so every stage must cut sentences the same way. syntok knows that "6.2% more", "U.S." and "e.g." do not end
one. A line (a bullet, a table row, a paragraph of clean text) is never joined with the next: a sentence ends
at a newline whatever its punctuation. Lines are split on demand and remembered, since one document asks
about the same few lines many times.
"""

from __future__ import annotations

import functools

from syntok.segmenter import split
from syntok.tokenizer import Tokenizer

_TOKENIZER = Tokenizer(replace_not_contraction=False)  # token offsets must point into the text as written


@functools.lru_cache(maxsize=1024)
def split_line(line: str) -> tuple[tuple[int, int], ...]:
    """(start, end) offsets of each sentence of one line, without the spaces between them."""
    starts = [sentence[0].offset for sentence in split(_TOKENIZER.tokenize(line)) if sentence]
    ends = [*starts[1:], len(line)]
    return tuple((start, len(line[:end].rstrip())) for start, end in zip(starts, ends, strict=False))


def line_around(text: str, pos: int) -> tuple[int, int]:
    """(start, end) of the line of `text` that holds offset `pos`, without its newline."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end < 0 else end


def sentence_around(text: str, start: int, end: int | None = None) -> tuple[int, int]:
    """(start, end) of the sentence of `text` holding [start, end): from the sentence of its first character
    to that of its last, within one line."""
    line_start, line_end = line_around(text, start)
    last = max(start, min(end if end is not None else start + 1, line_end) - 1)
    spans = split_line(text[line_start:line_end])
    first = next((s for s, e in spans if line_start + s <= start < line_start + e), start - line_start)
    stop = next((e for s, e in spans if line_start + s <= last < line_start + e), last + 1 - line_start)
    return line_start + min(first, start - line_start), line_start + max(stop, last + 1 - line_start)


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of `text`, in order."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans += [(pos + s, pos + e) for s, e in split_line(line)]
        pos += len(line) + 1
    return spans
