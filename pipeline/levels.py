"""Read seniority, years of experience and pay basis from the words around a salary, with plain code.

The model copies the quote; these functions decide what the quote says, so "Senior-Level (5+ years)" always
becomes (senior, 5, None) whatever the model wrote. `detect_period` lives in money.py (it shares the period
vocabulary of the money scanner) and is re-exported here.
"""

from __future__ import annotations

import re

from pipeline.money import detect_period
from schemas.records import Level, PayBasis

__all__ = ["parse_level", "parse_years", "detect_pay_basis", "detect_period"]

# Ordered from most to least senior: the first that matches wins, so "Senior Staff Engineer" is staff and
# "junior to mid-level" is mid. "lead" and "staff" need a job word next to them, because "lead teams" and
# "hospital staff" are not levels.
_JOB = r"(?:engineers?|developers?|scientists?|architects?|researchers?|data|ml|ai|software|machine|level)"
_LEVELS: tuple[tuple[Level, re.Pattern], ...] = tuple(
    (level, re.compile(pattern, re.I))
    for level, pattern in (
        (Level.executive, r"\b(?:director|vp|svp|evp|vice[- ]president|head of|chief|c-level|c-suite"
                          r"|cto|caio|executive(?! summary))\b"),
        (Level.principal, r"\b(?:principal|distinguished)\b"),
        (Level.lead, rf"\b(?:tech|team|technical|engineering|ml|ai|project)[- ]lead\b|\blead[- ]{_JOB}\b"
                     r"|^\W*lead\W*$"),
        (Level.staff, rf"\bstaff[- ]{_JOB}\b|^\W*staff\W*$"),
        (Level.senior, r"\bsenior\b|\bsr\b"),
        (Level.mid, r"\bmid[- ]?(?:level|career)\b|\bmid\b(?!-|\s?(?:size|sized|market|tier|range|point|\d))"
                    r"|\bintermediate\b"),
        (Level.junior, r"\bjunior\b|\bjr\b"),
        (Level.entry, r"(?<!data )\bentry\b|\bnew[- ]grads?\b|\bnew graduates?\b|\bgraduates?\b(?! (?:degree|school|"
                      r"programs?|studies|certificate))|\bstarting out\b|\bfreshers?\b|\bearly[- ]career\b"),
        (Level.intern, r"\bintern(?:s|ships?)?\b"),
    )
)

_WORD_NUMBERS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
}
_N = rf"(\d{{1,2}}(?:\.\d)?|{'|'.join(_WORD_NUMBERS)})"
_Y = r"(?:years?|yrs?)\b"
# (pattern, which captured numbers are the (min, max) bounds): "range" = (1, 2), "min" = (1, None)...
_YEARS: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern, re.I), shape)
    for pattern, shape in (
        (rf"\b{_N}\s*(?:[-–—‒−]|to)\s*{_N}\s*\+?\s*{_Y}", "range"),
        (rf"\b{_N}\s*\+\s*{_Y}|\b{_N}\s*{_Y}\s*(?:\+|or more\b|and (?:above|up|over)\b|plus\b)", "min"),
        (rf"\b{_N}\s+or\s+more\s+{_Y}|\b(?:at least|minimum of|min\.?|over|more than)\s+{_N}\s*{_Y}", "min"),
        (rf"(?:\b(?:less than|under|fewer than|up to|below|at most)\s+|<\s*){_N}\s*{_Y}", "max"),
        (rf"\b{_N}\s*{_Y}\s+(?:of\s+)?(?:\w+\s+)?(?:experience|exp)\b", "point"),
    )
)

_TOTAL = re.compile(
    r"\btotal[- ](?:compensation|comp|pay|package|earnings|rewards?)\b|(?-i:\bTC\b)"
    r"|(?<!not )\b(?:incl\.?|including|includes|inclusive of|with)\s+(?:\w+\s+)?"
    r"(?:stock|equity|bonus(?:es)?|RSUs?)\b",
    re.I,
)
_BASE = re.compile(
    r"\bbase[- ](?:salary|salaries|pay|comp(?:ensation)?)\b|\d[kKmM]?\s+base\b"
    r"|\b(?:excl\.?|excluding|before|not including|without|no)\s+(?:\w+\s+)?(?:stock|equity|bonus(?:es)?|RSUs?)\b",
    re.I,
)


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


_ALL_LEVELS = re.compile(
    r"\b(?:across|for|over|of) (?:all|every) (?:levels?|seniorit(?:y|ies)|experience levels?)\b|\ball levels\b|"
    r"\bregardless of (?:level|seniority|experience)\b",
    re.IGNORECASE,
)


def names_a_level(text: str) -> bool:
    """True when the text names any level or years of experience: only then may a model say which level."""
    return _level_word(text) is not Level.unspecified or parse_years(text) != (None, None)


def spans_all_levels(text: str) -> bool:
    """True when the text says its figure covers every level ('across all levels'): no level applies."""
    return _ALL_LEVELS.search(text) is not None


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
