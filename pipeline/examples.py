"""Reviewed figures as examples for the model: what people accepted or corrected, shown to later calls.

Off by default (KB_REVIEW_EXAMPLES=0). When on, each model call gets at most that many short lines, one per
reviewed salary most like the excerpt it reads (same currency first, then the most words shared), saying how a
person read that figure: pay, and for which level. A few lines per call keep the token cost small. The examples
are not part of the extractor's fingerprint: a new review does not make every stored document stale.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlalchemy import Engine, text

from pipeline.figures import ChunkPlan

QUOTE_CHARS = 120  # an example's quote is cut to this many characters
INTRO = "A person checked these figures in earlier articles; read figures like them the same way:"
_WORD = re.compile(r"[^\W\d_]{3,}")  # words of three letters or more: what two quotes share
_REVIEWS = """SELECT action, quote, record, corrected FROM reviews
WHERE kind = 'salary' AND action IN ('accept', 'correct', 'add', 'reject') ORDER BY created_at, id"""


@dataclass(frozen=True)
class Example:
    """One reviewed salary as an example: its quote and the values a person settled on."""

    quote: str
    currency: str | None
    level: str | None

    def line(self) -> str:
        quote = self.quote if len(self.quote) <= QUOTE_CHARS else self.quote[: QUOTE_CHARS - 1] + "…"
        return f'- "{quote}": pay, level {self.level or "unspecified"}'


@dataclass(frozen=True)
class ReviewExamples:
    """The reviewed salaries of a database, latest verdict per quote, rejected ones left out."""

    examples: tuple[Example, ...]

    @classmethod
    def read(cls, engine: Engine) -> ReviewExamples:
        """Every salary whose latest review accepted, corrected or added it."""
        latest: dict[str, tuple[str, dict]] = {}
        with engine.connect() as connection:
            for action, quote, record, corrected in connection.execute(text(_REVIEWS)):
                latest[quote] = (action, _json(corrected) or _json(record))
        return cls(
            tuple(
                Example(quote, values.get("currency"), values.get("level"))
                for quote, (action, values) in latest.items()
                if action != "reject"
            )
        )

    def for_plan(self, plan: ChunkPlan, limit: int) -> str:
        """The message of at most `limit` examples most like the excerpt; '' when none shares anything with it."""
        currencies = {figure.money.currency for figure in plan.figures}
        words = set(_WORD.findall(plan.prompt.lower()))

        def likeness(example: Example) -> tuple[bool, int]:
            return example.currency in currencies, len(words & set(_WORD.findall(example.quote.lower())))

        alike = sorted((e for e in self.examples if any(likeness(e))), key=lambda e: (likeness(e), e.quote))
        chosen = alike[::-1][:limit]
        return "\n".join([INTRO, *(example.line() for example in chosen)]) if chosen else ""


def _json(value) -> dict:
    """A JSON column's value as a dict (SQLite hands back text, PostgreSQL a dict)."""
    return json.loads(value) if isinstance(value, str) else (value or {})
