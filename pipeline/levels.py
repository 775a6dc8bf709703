"""Read seniority, years of experience and pay basis from the words around a salary, with plain code.

The model copies the quote; these functions decide what the quote says, so "Senior-Level (5+ years)" always
becomes (senior, 5, None) whatever the model wrote. `detect_period` lives in money.py (it shares the period
vocabulary of the money scanner) and is re-exported here.
"""

from __future__ import annotations

import re

from pipeline.money import detect_period
from pipeline.vocab import alternation, any_of, vocabulary
from schemas.records import Level, PayBasis

__all__ = ["parse_level", "parse_years", "levels_named", "detect_pay_basis", "detect_period"]

_VOCAB = vocabulary().levels  # pipeline/vocabulary/levels.toml
# Ordered from most to least senior: the first that matches wins.
_LEVELS: tuple[tuple[Level, re.Pattern], ...] = tuple(
    (Level(level.name), re.compile(_VOCAB.pattern(level), re.I)) for level in _VOCAB.level
)
_WORD_NUMBERS = {word.lower(): number for word, number in _VOCAB.word_numbers.items()}
_N = rf"(\d{{1,2}}(?:\.\d)?|{alternation(_WORD_NUMBERS, edge=False)})"
_Y = rf"{any_of(_VOCAB.year_words)}(?!\w)"
# (pattern, which captured numbers are the (min, max) bounds): "range" = (1, 2), "min" = (1, None)...
_YEARS: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern, re.I), shape)
    for pattern, shape in (
        (rf"\b{_N}\s*(?:[-–—‒−]|to)\s*{_N}\s*\+?\s*{_Y}", "range"),
        (rf"\b{_N}\s*\+\s*{_Y}|\b{_N}\s*{_Y}\s*{any_of(_VOCAB.years_or_more)}", "min"),
        (rf"\b{_N}\s+or\s+more\s+{_Y}|\b{any_of(_VOCAB.years_at_least)}\s+{_N}\s*{_Y}", "min"),
        (rf"(?:\b{any_of(_VOCAB.years_at_most)}\s+|<\s*){_N}\s*{_Y}", "max"),
        (rf"\b{_N}\s*{_Y}\s+(?:of\s+)?(?:\w+\s+)?(?:experience|exp)\b", "point"),
    )
)

_CUES = vocabulary().cues  # pipeline/vocabulary/cues.toml
_TOTAL = re.compile(any_of(_CUES.total_pay), re.I)
_BASE = re.compile(any_of(_CUES.base_pay), re.I)


def _number(word: str) -> float:
    """A captured count of years, written in digits or as a word ("three")."""
    return float(_WORD_NUMBERS.get(word.lower(), word))


def parse_years(text: str) -> tuple[float | None, float | None]:
    """Years of experience a text names: '3-5 yrs' → (3, 5), '5+ years' → (5, None), 'under 2 years' →
    (None, 2), '4 years of experience' → (4, 4); (None, None) when none is named."""
    for pattern, shape in _YEARS:
        m = pattern.search(text)
        if m is None:
            continue
        numbers = [_number(g) for g in m.groups() if g is not None]
        if shape == "range":
            return numbers[0], numbers[1]
        if shape == "min":
            return numbers[0], None
        if shape == "max":
            return None, numbers[0]
        return numbers[0], numbers[0]
    return None, None


def _level_word(text: str) -> Level:
    """The most senior level word in the text, or unspecified."""
    return next((level for level, pattern in _LEVELS if pattern.search(text)), Level.unspecified)


_ALL_LEVELS = re.compile(_VOCAB.all_levels, re.IGNORECASE)


def levels_named(text: str) -> set[Level]:
    """Every level the text names ("Junior to senior" → {junior, senior}), for a page that must name one."""
    return {level for level, pattern in _LEVELS if pattern.search(text)}


def names_a_level(text: str) -> bool:
    """True when the text names any level or years of experience: only then may a model say which level."""
    return _level_word(text) is not Level.unspecified or parse_years(text) != (None, None)


def spans_all_levels(text: str) -> bool:
    """True when the text says its figure covers every level ('across all levels'): no level applies."""
    return _ALL_LEVELS.search(text) is not None


def same_rung(a: str, b: str) -> bool:
    """Whether two level names are one rung of the ladder ("junior" and "entry", levels.toml `same_rung`)."""
    return _VOCAB.same_rung.get(a, a) == _VOCAB.same_rung.get(b, b)


def parse_level(text: str) -> tuple[Level, float | None, float | None]:
    """(level, years_min, years_max) from a level label or quote. Years alone name a level only when that is
    unambiguous: at most two years from zero ('0–2 years', 'less than 2 years') is entry."""
    level = _level_word(text)
    years_min, years_max = parse_years(text)
    if level is Level.unspecified and years_max is not None and years_max <= 2 and not years_min:
        level = Level.entry
    return level, years_min, years_max


def detect_pay_basis(text: str) -> PayBasis:
    """total ('total compensation', 'TC', 'incl. stock/bonus', 'with equity'), base ('base salary',
    '$150K base', 'excluding bonus'), or unspecified — also when a text names both, as it cannot say which
    figure is which."""
    total, base = bool(_TOTAL.search(text)), bool(_BASE.search(text))
    if total == base:
        return PayBasis.unspecified
    return PayBasis.total if total else PayBasis.base
