"""Find every money amount in a text and normalise it (currency, bounds, period) with plain code, no LLM.

The small extraction model is unreliable at arithmetic ("8 lakh" → 80,000, "40–70%" → ₹4–7 lakh), so every
number that becomes a salary bound or a price is found and converted here, and the model's values are checked
against these (`amounts_agree`).

Semantics of a `Money`:
- a range ("$110K–$145K", "between €80k and €95k") sets amount_min and amount_max;
- a point figure ("averages $109,000", "$120K") sets amount_min == amount_max == the value;
- an open lower bound ("$200,000+", "over/above/more than/exceeds/at least/from/starting at $200,000",
  "$X or more", "$X and up") sets amount_min only, amount_max None, open_ended True ("up from $X" and
  "from $X to $Y" that falls are changes, not floors; after a verb of change, "went from $X to $Y", both are
  point figures: the pay before and after);
- a cap ("up to", "as high as", "under", "free to" $X) sets amount_max only, amount_min None;
- a range whose top is open ("$195K – $260K+", "$101,752 to over $245,000") keeps both numbers as stated and
  sets open_ended True.
The span `text[start:end]` covers the qualifier that changes these semantics ("up to", "over", "between"),
both bounds, and a period phrase written right after ("a year", "/yr", "per hour"). The period may also come
from a word earlier in the same clause ("an annual salary of $X"); it is None when nothing says.
Currency: a marker written on the number names it (pipeline/currencies.py: every ISO code, CLDR symbol and
name; a shared marker such as "kr" or "¥" by the country the text names; a bare "$" is USD unless the
sentence places the pay "in Canada/Australia/..." and names nothing American); an explicit code wins over a
bare dollar sign ("$100 CAD"); lakh/crore/LPA with no symbol are INR. A number with no marker is money only
with a thousands unit and a pay word in its clause ("base 198k", "310k TC"); it takes the one currency the
rest of its line (a post) states, else the one the whole text states (`currency_from_text`). Forum shorthand
("245 TC", "Base 185", "85-95 base": a bare number of two or three digits next to a shorthand pay word; a base
with a part of pay added on top, "118 + 12% bonus"; the new pay after a change mark, "120 -> 131") is money
in the unit the text writes its other pay in ("$310k" → thousands, "26 LPA" → lakhs); in a text whose money has
no such unit it stays a number (multipliers.toml, [shorthand]). `currency` is None when the text does not say
which: a shared marker in no country, or an unmarked figure in a text of several currencies or none.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from babel.numbers import get_currency_precision

from pipeline import sentences
from pipeline.currencies import (
    colon_statements,
    currency_of,
    markers,
    place_currencies,
    placed_currency,
    stated_currencies,
    statements,
)
from pipeline.vocab import alternation, any_of, vocabulary
from schemas.records import Period


@dataclass(frozen=True)
class Money:
    """One money expression found in a text; `text == scanned[start:end]`."""

    start: int
    end: int
    text: str
    amount_min: float | None
    amount_max: float | None
    currency: str | None
    period: Period | None
    open_ended: bool
    currency_from_text: bool = False  # written without one; the currency is the one the rest of the text states
    qualifier: str = ""  # the words opening the span that change its bounds ("up to " in "up to €25,000")


# ---- vocabulary (pipeline/vocabulary/: currencies, multipliers, periods, qualifiers, thresholds) ----------

_VOCAB = vocabulary()
_MULTIPLIER_WORDS, _PERIODS = _VOCAB.multipliers, _VOCAB.periods
_LIMITS, _WORDS = _VOCAB.thresholds, _VOCAB.qualifiers

_UNIT_VALUES = _MULTIPLIER_WORDS.by_unit()  # "k" → 1e3, "lakh" → 1e5 (units lower-cased)
_RUPEE_UNITS = frozenset(_MULTIPLIER_WORDS.rupee_units)
_LAKH_CURRENCIES = frozenset(_MULTIPLIER_WORDS.lakh_currencies)
_YEARLY_UNITS = frozenset(_MULTIPLIER_WORDS.yearly_units)

# Period patterns tried in order; the first found in a phrase names its period.
_PERIOD_KEYS = tuple((re.compile(p.pattern, re.I), Period(p.name)) for p in _PERIODS.period)

# ---- regular expressions --------------------------------------------------------------------------------

_SP = "[ \u00a0\u2009\u202f]"  # a space, or the no-break / thin / narrow no-break spaces between digit groups

_NUMBER = (
    r"\d{1,2}(?:,\d{2})+,\d{3}(?!\d)(?:\.\d+)?"  # Indian grouping: 12,00,000
    r"|\d{1,3}(?P<sep>[,.'’ \u00a0\u2009\u202f])\d{3}(?:(?P=sep)\d{3})*(?!\d)(?:(?!(?P=sep))[.,]\d{1,2}(?!\d))?"
    r"|\d+(?:[.,]\d+)?"
)
_MULTIPLIER = (
    rf"{_SP}?(?:{alternation(_MULTIPLIER_WORDS.spaced, edge=False)})(?![A-Za-z])"
    rf"|(?:{alternation(_MULTIPLIER_WORDS.attached, edge=False)})(?![A-Za-z0-9])"
)
_SPACED_BEFORE_SYMBOL = alternation(_MULTIPLIER_WORDS.spaced_before_symbol, edge=False)


@functools.cache
def _atom_pattern() -> re.Pattern:
    """One number with the currency markers, unit, percent and plus written on it. Built on first use: the
    markers come from Babel's locale data, which takes a moment to read."""
    prefix = alternation(m for m, entry in markers().items() if not entry.after_only)
    suffix = alternation(m for m, entry in markers().items() if not entry.before_only)
    # A number inside a Latin word ("H100", "a1") is no amount; one right after CJK text ("年収600万円") may be.
    return re.compile(
        rf"(?<![0-9A-Za-z\u00c0-\u024f_.,])(?:(?P<pre>{prefix}){_SP}?)?"
        rf"(?P<num>{_NUMBER})(?![\d.,]*:\d)"  # a ratio or a time ("USD 1:1", "9:30") is no amount
        rf"(?P<mult>{_MULTIPLIER}|{_SP}(?:{_SPACED_BEFORE_SYMBOL})(?=(?:{suffix})))?"  # "52 k€"
        rf"(?P<pct>{_SP}?(?:%|percent\b|per cent\b))?"
        rf"(?:{_SP}?(?P<suf>(?:{suffix})(?!{_SP}?\d)))?"
        # "$200k+" is open-ended; "£72k + bonus" and "£58k + £5k" join two things, unless nothing follows
        rf"(?P<plus>\+(?!{_SP}?\d)|{_SP}\+(?={_SP}*(?:$|[.,;:)!?])))?"
        r"(?:/-)?"  # "Rs. 50,000/-"
        r"(?!(?<=\d)[A-Za-z0-9])"  # a number run into a word is a name, not an amount ("AMD 7950X")
    )


_OVER = any_of(_WORDS.over)
_FILLER = rf"(?:{any_of(_WORDS.approximately)}\s*)?"
_RANGE_GAP = re.compile(
    rf"(?P<period>{_SP}*(?:/[a-z]+|per{_SP}+[a-z]+))?"
    rf"(?:(?P<space>{_SP}*)(?P<dash>[-–—‒−]){_SP}*|\s+(?P<word>{any_of(_WORDS.range_words)})\s+)"
    rf"(?:(?P<over>{_OVER})\s+)?{_FILLER}",
    re.I,
)
_QUALIFIER = re.compile(
    rf"\b(?:(?P<cap>{any_of(_WORDS.cap_before)})|(?P<floor>{_OVER}|{any_of(_WORDS.floor_before)})"
    rf"|(?P<origin>(?<!up )(?<!down )from)|(?P<between>between))\s+{_FILLER}$",
    re.I,
)
# ("below $40K or above $900K": an "or above" that another figure follows opens that one, not this one; a
# bracket after it, "or more (2025 data)", opens nothing)
_POSTFIX = re.compile(
    rf"{_SP}*(?:(?P<floor>{any_of(_WORDS.floor_after)})|(?P<cap>{any_of(_WORDS.cap_after)}))"
    rf"(?!{_SP}+(?:[^\w\s(\[]{{1,3}}|[A-Z]{{3}}{_SP}?)?\d)",
    re.I,
)
_UNIT = rf"(?:{alternation(_PERIODS.units, edge=False)})s?"
_UNIT_LEAD = alternation(_PERIODS.unit_leads)  # "per", "a", "pro" …
_SLASH_UNIT = rf"(?:{_UNIT}|{alternation(_PERIODS.slash_letters, edge=False)})\b"
# "a year ago" is a time, not a pay period; "a month before tax" is a pay period.
_NOT_AGO = rf"(?!\s+(?:{alternation(_PERIODS.not_after)})(?!\s+(?:{alternation(_PERIODS.pay_after)})))"
_PERIOD_AFTER = re.compile(
    rf"{_SP}*/{_SP}?(?:[a-z]+{_SP}?/{_SP}?)?{_SLASH_UNIT}"  # /yr, /seat/year
    rf"|{_SP}+(?:per\s+[a-z]+\s+)?(?:{_UNIT_LEAD})\s+{_UNIT}\b{_NOT_AGO}"
    rf"|-(?:a|an|per)-{_UNIT}\b"  # "$10-a-month"
    rf"|{_SP}+(?:{alternation([*_PERIODS.adverbs, *_PERIODS.adverbs_after_only])})",
    re.I,
)
_NOT_WITHIN = "".join(rf"(?<!\b{re.escape(word)} )" for word in _PERIODS.not_before)  # "within a day" is a time
_UNIT_ADJECTIVE = rf"(?:(?:{alternation(_PERIODS.unit_adjectives)})\s+)?"  # "a full day is CHF 1,350"
_PERIOD_ANYWHERE = re.compile(
    rf"{_NOT_WITHIN}\b(?:{_UNIT_LEAD})\s+{_UNIT_ADJECTIVE}{_UNIT}\b{_NOT_AGO}|/\s?{_SLASH_UNIT}"
    rf"|\b(?:{alternation([*_PERIODS.adverbs, *_PERIODS.adverbs_before_only])})",
    re.I,
)
# "went from $X to" before a second figure: a pay change, its two figures stand apart (qualifiers.toml).
_CHANGE_FROM = re.compile(rf"\b{any_of(_WORDS.change_verbs)}\b[^.!?;]{{0,60}}?\bfrom\s+{_FILLER}$", re.I)
_COUNT_NOUN = re.compile(rf"{_SP}*{any_of(_WORDS.count_nouns)}\b", re.I)
_ONWARD = re.compile(r"\s+to\b", re.I)
_BETWEEN = re.compile(rf"\bbetween\s+{_FILLER}$", re.I)
_CLAUSE_BREAK = re.compile(r"[.!?;|]\s|\n|\|")
_LOOKBACK = _LIMITS.lookback_chars  # characters searched before a figure for a qualifier or a period word
# A pay word in a figure's clause: what lets "base 198k", written without a currency, be money (cues.toml).
_PAY_WORD = re.compile(any_of(_VOCAB.cues.pay), re.I)
_UNSTATED_UNITS = frozenset(_VOCAB.currencies.unstated_units)
# Forum shorthand: a bare number with a shorthand pay word right before or after it (multipliers.toml).
_SHORTHAND = _MULTIPLIER_WORDS.shorthand
_FILLER = rf"(?:(?:{alternation(_SHORTHAND.fillers, edge=False)})(?!\w)|[~≈])"  # "TC ~210", "base went 95"
_SHORTHAND_BEFORE = re.compile(rf"\b{any_of(_SHORTHAND.words)}{_SP}*:?(?:{_SP}*{_FILLER})*{_SP}*$", re.I)
_SHORTHAND_PHRASE = re.compile(rf"\b(?:{any_of(_SHORTHAND.own_pay_phrases)}){_SP}*$", re.I)  # "I'm on 52"
_ENDS = [f"(?:{end})" + (r"(?![A-Za-z])" if end.isalpha() else "") for end in _SHORTHAND.own_pay_ends]
_PHRASE_END = re.compile(rf"{_SP}*(?:{'|'.join(_ENDS)})", re.I)  # what may follow "I'm on 52"
_SHORTHAND_AFTER = re.compile(rf"{_SP}*{any_of(_SHORTHAND.words)}\b", re.I)
# "118 + 12% bonus", "130 + sign-on": a base with a part of pay added on top (its own amount may stand between).
_ADDED_PART = re.compile(rf"{_SP}*\+{_SP}*(?:[~≈]?\d\S*{_SP}+)?{any_of(_SHORTHAND.added_parts)}\b", re.I)
_TRIPLE = re.compile(any_of(_SHORTHAND.triples) if _SHORTHAND.triples else r"(?!)")  # "185/20/60"
_CHANGE_MARK = re.compile(rf"{_SP}*(?:{alternation(_SHORTHAND.change_marks, edge=False)}){_SP}*")  # "120 -> 131"


# ---- atoms: one number with its own markers --------------------------------------------------------------


@dataclass(frozen=True)
class _Atom:
    start: int
    end: int
    value: float  # the written number, before any multiplier
    unit: str  # multiplier as written, lowercased ("" when none)
    pre: str | None  # currency marker written before the number
    suf: str | None  # currency marker written after it
    percent: bool
    plus: bool
    plain: bool  # an integer written without separators or unit, as years are

    @property
    def multiplier(self) -> float:
        return _UNIT_VALUES.get(self.unit, 1.0)

    @property
    def marker(self) -> str | None:
        """The more telling marker: in "$100 CAD" the code, not the dollar sign."""
        if self.pre and self.suf and not markers()[self.pre].codes:
            return self.suf
        return self.pre or self.suf

    @property
    def bare(self) -> bool:
        return self.marker is None and not self.unit

    @property
    def weak(self) -> bool:
        """Only marked by a code that is also an everyday token ("PHP 8", "CAD 3D")."""
        return self.marker is not None and all(markers()[m].weak for m in (self.pre, self.suf) if m)


def _to_number(raw: str) -> float:
    """Read a written number: '110,000', '85.000', '90 000', '12,00,000', '1.234,56', '14.8', '1,5'."""
    digits = re.sub(r"[ '’\u00a0\u2009\u202f]", "", raw)
    seps = [c for c in digits if c in ",."]
    if not seps:
        return float(digits)
    last = max(digits.rfind(","), digits.rfind("."))
    grouping_only = len(set(seps)) == 1 and (len(seps) > 1 or len(digits) - last - 1 == 3)
    if grouping_only:
        return float(re.sub(r"[,.]", "", digits))
    whole, frac = digits[:last], digits[last + 1 :]
    return float(re.sub(r"[,.]", "", whole) + "." + frac)


def _atoms(text: str) -> list[_Atom]:
    """Every number in the text with the currency, unit, percent and plus signs written on it."""
    atoms = []
    for m in _atom_pattern().finditer(text):
        unit = (m["mult"] or "").strip().lower()
        plain = not unit and m["num"].isdigit()
        atoms.append(
            _Atom(
                m.start(),
                m.end(),
                _to_number(m["num"]),
                unit,
                m["pre"],
                m["suf"],
                bool(m["pct"]),
                bool(m["plus"]),
                plain,
            )
        )
    return atoms


# ---- ranges -------------------------------------------------------------------------------------------------


def _range_gap(text: str, a: _Atom, b: _Atom) -> re.Match | None:
    """The separator between two atoms when they read as one range ("–", "to", "and" after "between")."""
    gap = _RANGE_GAP.fullmatch(text, a.end, b.start)
    if gap is None or a.percent or b.percent:
        return None
    if (gap["word"] or "").lower() == "and" and not _BETWEEN.search(text, max(0, a.start - 30), a.start):
        return None
    if gap["dash"] == "—" and gap["space"] and b.bare:  # a spaced em dash between clauses, not a range
        return None
    if gap["word"] and _CHANGE_FROM.search(text[max(0, a.start - _LOOKBACK) : a.start]):
        return None  # "went from $X to $Y": a change, even across a hard line wrap
    return gap


def _compatible(text: str, a: _Atom, b: _Atom) -> bool:
    """Whether two atoms can bound one range: markers agree, a count does not lead a price."""
    if a.marker is None and b.pre:
        return False  # "3 - $110,000"
    named = [markers()[m].codes for m in (a.marker, b.marker) if m and markers()[m].codes]
    if len(named) == 2 and not named[0] & named[1]:
        return False
    return not (b.bare and _COUNT_NOUN.match(text, b.end))  # "$10 to 20 hours"


def _whole(amount: float) -> float:
    """Drop float noise from scaling (14.8 × 100,000 = 1480000.0000000002) but keep real decimals ($1.1075)."""
    return round(amount, 6)


def _range_bounds(a: _Atom, b: _Atom) -> tuple[float, float]:
    """Both bounds in whole units; the upper bound's unit also applies to a lower bound written without one."""
    high = b.value * b.multiplier
    low = a.value * a.multiplier
    if not a.unit and b.unit and a.value * b.multiplier <= high:
        low = a.value * b.multiplier  # "$110–145K", "₹8–12 LPA"
    return _whole(low), _whole(high)


def _join(text: str, atoms: list[_Atom], i: int) -> re.Match | None:
    """The gap that makes atoms[i] and atoms[i + 1] one range, or None when they stand apart."""
    if i + 1 >= len(atoms):
        return None
    a, b = atoms[i], atoms[i + 1]
    gap = _range_gap(text, a, b)
    if gap is None or not _compatible(text, a, b):
        return None
    low, high = _range_bounds(a, b)
    return gap if low <= high else None


# ---- context: currency, qualifiers, period -----------------------------------------------------------------


def _currency(text: str, group: list[_Atom]) -> str | None:
    """ISO code of a group: a marker that names a currency wins over a bare dollar sign; lakh/crore alone mean
    the currency of the lakh-counting country the text names, else rupees; None when the markers are shared
    and the text places them in no country."""
    placed = [a for a in group if a.marker]
    placed.sort(key=lambda a: not markers()[a.marker].codes)
    if placed:
        return currency_of(placed[0].marker, text, placed[0].start)
    if any(a.unit in _RUPEE_UNITS for a in group):
        return placed_currency(text, group[0].start, _LAKH_CURRENCIES, "INR")
    return None


def _window_start(text: str, pos: int, floor: int, size: int) -> int:
    """Where a look-back from `pos` stops: `size` characters, the previous figure, or a clause break."""
    lo = max(floor, pos - size)
    return max((m.end() for m in _CLAUSE_BREAK.finditer(text, lo, pos)), default=lo)


def _qualifier(text: str, group: list[_Atom], floor: int) -> tuple[int, str | None]:
    """Where the span starts and the word before it that changes the bounds: 'cap' (up to), 'floor' (over,
    from) or 'between'. A range keeps only 'between'; "from $47bn to $8bn" is a change, not a floor."""
    first = group[0].start
    m = _QUALIFIER.search(text, _window_start(text, first, floor, _LOOKBACK), first)
    kind = m.lastgroup if m else None
    if len(group) == 2 and kind != "between":
        kind = None
    elif kind == "origin":
        kind = None if _ONWARD.match(text, group[-1].end) else "floor"
    return (m.start(), kind) if kind else (first, None)


def _period_of(phrase: str) -> Period | None:
    """The period a phrase names ('/yr', 'an hour', 'monthly', 'day rate'), if any."""
    return next((period for key, period in _PERIOD_KEYS if key.search(phrase)), None)


def _tail(text: str, end: int) -> tuple[int, str | None, Period | None]:
    """Extend past a period phrase and an open/capped postfix ('or more', 'max') written after the figure."""
    kind = period = None
    while True:
        if period is None and (m := _PERIOD_AFTER.match(text, end)) and _period_of(m[0]):
            period, end = _period_of(m[0]), m.end()
        elif kind is None and (m := _POSTFIX.match(text, end)):
            kind, end = m.lastgroup, m.end()
        else:
            return end, kind, period


def _period_before(text: str, start: int, floor: int) -> Period | None:
    """A period word earlier in the same clause ('annual salary ... $X', 'day rate of £600')."""
    lo = _window_start(text, start, floor, 2 * _LOOKBACK)
    words = [m[0] for m in _PERIOD_ANYWHERE.finditer(text, lo, start)]
    return _period_of(words[-1]) if words else None


# ---- assembling one Money -------------------------------------------------------------------------------------


def _bounds(
    group: list[_Atom], gap: re.Match | None, qualifier: str | None, postfix: str | None
) -> tuple[float | None, float | None, bool]:
    """(amount_min, amount_max, open_ended) following the semantics in the module docstring."""
    if len(group) == 2:
        low, high = _range_bounds(*group)
        return low, high, bool(group[1].plus or gap["over"] or postfix == "floor")
    value = _whole(group[0].value * group[0].multiplier)
    if group[0].plus or "floor" in (qualifier, postfix):
        return value, None, True
    if "cap" in (qualifier, postfix):
        return None, value, False
    return value, value, False


def _unstated(text: str, group: list[_Atom], floor: int) -> bool:
    """A figure written without a currency that still reads as money: no marker, a thousands unit on its top
    ("198k", "310k"), and a pay word in its clause ("base 198k", "310k TC") or a statement of the text's currency
    before it ("All numbers below are EUR btw." over "making 42k gross"); or, after a currency marker and a colon
    in its sentence, a figure of at least a thousand ("Annual base salary in Oslo, NOK: junior ML engineer
    620,000–700,000").
    "128k tokens" is not money."""
    if any(a.marker for a in group):
        return False
    if group[-1].unit not in _UNSTATED_UNITS:  # "NOK: junior 620,000–700,000", inside the statement only
        in_statement = any(s <= group[0].start < e for s, e, _ in colon_statements(text))
        large = all(a.value * a.multiplier >= _LIMITS.weak_code_min_amount for a in group)
        return in_statement and large and not _COUNT_NOUN.match(text, group[-1].end)  # "based on 1,180 offers"
    if any(start < group[0].start for start, _, _ in stated_currencies(text)):
        return True
    start, end = _window_start(text, group[0].start, floor, _LOOKBACK), group[-1].end
    stop = _CLAUSE_BREAK.search(text, end, end + _LOOKBACK)
    return _PAY_WORD.search(text, start, stop.start() if stop else end + _LOOKBACK) is not None


def _plausible(group: list[_Atom]) -> bool:
    """Reject groups that are not money: percentages, '2024 dollars', 'PHP 8'."""
    if any(a.percent for a in group):
        return False
    first = group[0]
    if len(group) == 1 and first.plain and not first.pre and _LIMITS.year_min <= first.value <= _LIMITS.year_max:
        return False
    top = max(a.value * a.multiplier for a in group)
    return not (all(a.weak or a.bare for a in group) and top < _LIMITS.weak_code_min_amount)


def _period(
    text: str, group: list[_Atom], gap: re.Match | None, after: Period | None, start: int, floor: int
) -> Period | None:
    """LPA, else the period phrase after the figure or between its bounds, else a period word before it."""
    if any(a.unit in _YEARLY_UNITS for a in group):
        return Period.year
    between = _period_of(gap["period"]) if gap is not None and gap["period"] else None
    return after or between or _period_before(text, start, floor)


def _money(text: str, group: list[_Atom], gap: re.Match | None, floor: int) -> Money | None:
    """Build the Money for one atom or one range of two atoms, or None when it is not money."""
    currency = _currency(text, group)
    # a shared marker ("kr") in a text that names no country; a lone letter ("Q 3") there is no marker at all
    marked = any(a.marker and not markers()[a.marker].placed_only for a in group)
    if (currency is None and not (marked or _unstated(text, group, floor))) or not _plausible(group):
        return None
    money = _built(text, group, gap, floor, currency)
    codes = {currency} if currency else {c for a in group if a.marker for c in markers()[a.marker].codes}
    bounds = [b for b in (money.amount_min, money.amount_max) if b is not None]
    return money if all(_in_minor_units(b, codes) for b in bounds) else None


def _in_minor_units(amount: float, codes: set[str]) -> bool:
    """Whether an amount is written to its currency's smallest unit, as money is (CLDR's digits: 2 for the
    euro, 3 for the Kuwaiti dinar; for a shared marker, the finest of its currencies); "1.95583 leva to the
    euro" is a rate of exchange, not an amount."""
    if not codes:
        return True
    digits = max(get_currency_precision(c) for c in codes)
    return abs(amount - round(amount, digits)) < 1e-6


def _built(text: str, group: list[_Atom], gap: re.Match | None, floor: int, currency: str | None) -> Money:
    """The Money of a group that reads as money: its span, bounds and period."""
    start, qualifier = _qualifier(text, group, floor)
    end, postfix, after = _tail(text, group[-1].end)
    period = _period(text, group, gap, after, start, floor)
    low, high, open_ended = _bounds(group, gap, qualifier, postfix)
    qualifier_words = text[start : group[0].start] if qualifier else ""
    return Money(start, end, text[start:end], low, high, currency, period, open_ended, qualifier=qualifier_words)


# ---- public ----------------------------------------------------------------------------------------------------


def scan_money(text: str) -> list[Money]:
    """Every money amount in `text`, in order; ranges come back as one Money with both bounds."""
    atoms = _atoms(text)
    found: list[Money] = []
    unmarked: set[int] = set()  # starts of figures written with no currency marker
    units: list[str] = []  # the units the money figures are written in ("k", "lpa")
    shorthand: list[tuple[list[_Atom], re.Match | None, int]] = []  # bare groups beside a shorthand pay word
    phrased: list[tuple[list[_Atom], re.Match | None, int]] = []  # bare groups after a phrase ("I'm on 52")
    floor, previous = 0, None
    for group, gap in _groups(text, atoms):
        money = _money(text, group, gap, floor)
        if money is not None:
            found.append(money)
            floor = money.end
            units.append(group[-1].unit)
            if not any(a.marker for a in group):
                unmarked.add(money.start)
        read = "money" if money else _shorthand_kind(text, group, previous)
        if read in ("shorthand", "phrased"):
            (shorthand if read == "shorthand" else phrased).append((group, gap, floor))
        previous = (group, read)
    unit = _pay_unit(units)
    thousands = unit is not None and _UNIT_VALUES[unit] == 1e3  # "I'm on 14" is no shorthand for 14 lakh
    extra = _shorthand_money(text, shorthand + (phrased if thousands else []), unit)
    unmarked.update(m.start for m in extra if m.currency is None)
    return _with_stated_currency(text, sorted(found + extra, key=lambda m: m.start), unmarked)


def _groups(text: str, atoms: list[_Atom]) -> Iterator[tuple[list[_Atom], re.Match | None]]:
    """The atoms in order, one at a time or two that read as one range, with the gap joining the two; the
    old figure of a change ("moved from 55,000 to 63,000 lei") stands alone, written in the new one's unit."""
    i = 0
    while i < len(atoms):
        gap = _join(text, atoms, i)
        if gap is None and _changed_from(text, atoms, i):
            a, b = atoms[i], atoms[i + 1]
            yield [dataclasses.replace(a, pre=b.pre, suf=b.suf, unit=a.unit or b.unit, plain=False)], None
        else:
            yield atoms[i : i + (2 if gap else 1)], gap
        i += 2 if gap else 1


def _changed_from(text: str, atoms: list[_Atom], i: int) -> bool:
    """Whether atoms[i] is the bare old figure of "went from X to Y" and atoms[i + 1] the marked new one."""
    if i + 1 >= len(atoms) or atoms[i].marker or not atoms[i + 1].marker:
        return False
    a, b = atoms[i], atoms[i + 1]
    gap = _RANGE_GAP.fullmatch(text, a.end, b.start)
    before = text[max(0, a.start - _LOOKBACK) : a.start]
    return bool(gap and gap["word"] and _CHANGE_FROM.search(before) and _compatible(text, a, b))


# ---- forum shorthand ------------------------------------------------------------------------------------------


def _shorthand_kind(text: str, group: list[_Atom], previous: tuple[list[_Atom], str | None] | None) -> str | None:
    """How a group that is not money by itself reads: "shorthand" beside a shorthand pay word, "phrased" after
    a phrase about one's pay, else the reading of the figure a change mark follows ("120 -> 131": money or
    shorthand makes it shorthand); None when it stays a number."""
    if _is_shorthand(text, group, phrases=False):
        return "shorthand"
    if _is_shorthand(text, group):
        return "phrased"
    if (
        previous
        and previous[1]
        and _shorthand_shaped(group)
        and _CHANGE_MARK.fullmatch(text, previous[0][-1].end, group[0].start)
    ):
        return "phrased" if previous[1] == "phrased" else "shorthand"
    return None


def _shorthand_shaped(group: list[_Atom]) -> bool:
    """Bare numbers of two or three digits: not a year, a percentage or a figure with its own marker or unit."""
    low, high = _SHORTHAND.digits
    return all(a.bare and not a.percent and not a.plus and low <= len(str(int(a.value))) <= high for a in group)


def _is_shorthand(text: str, group: list[_Atom], phrases: bool = True) -> bool:
    """Bare numbers of two or three digits with a shorthand pay word right before or after them ("245 TC",
    "Base 185", "85-95 base"), a part of pay added on top ("118 + 12% bonus") or the first of a base/bonus/stock
    triple ("185/20/60"), or, with `phrases`, after a
    phrase about one's pay that they end ("I'm on 52 at a fintech"). A year, a count ("14 replies", "6 YOE")
    or a percentage is none."""
    if not _shorthand_shaped(group):
        return False
    lookback, end = max(0, group[0].start - _LOOKBACK), group[-1].end
    before = _SHORTHAND_BEFORE.search(text, lookback, group[0].start)
    if before or _SHORTHAND_AFTER.match(text, end) or _ADDED_PART.match(text, end):
        return True
    if len(group) == 1 and _TRIPLE.match(text, group[0].start):
        return True
    phrase = phrases and _SHORTHAND_PHRASE.search(text, lookback, group[0].start)
    return bool(phrase) and _PHRASE_END.match(text, end) is not None


def _pay_unit(units: list[str]) -> str | None:
    """The unit the text writes its pay in: the shorthand unit its money figures carry most, first on a tie."""
    known = [unit for unit in units if unit in _SHORTHAND.units]
    return max(known, key=known.count) if known else None


def _shorthand_money(
    text: str, groups: list[tuple[list[_Atom], re.Match | None, int]], unit: str | None
) -> list[Money]:
    """The shorthand figures read in the text's pay unit; none when the text writes its pay in no such unit."""
    if unit is None:
        return []
    found = []
    for group, gap, floor in groups:
        scaled = [dataclasses.replace(a, unit=unit) for a in group]
        found.append(_built(text, scaled, gap, floor, _currency(text, scaled)))
    return found


# ---- currency stated elsewhere ----------------------------------------------------------------------------------


def _with_stated_currency(text: str, found: list[Money], unmarked: set[int]) -> list[Money]:
    """Figures written without a currency ("base 198k" in a thread that says "$310k TC") take the one currency
    the rest of their line (a post) states, else the one the text last said its figures are in, else the one
    the whole text states; else they keep None."""
    if not any(m.currency is None and m.start in unmarked for m in found):
        return found
    statements = stated_currencies(text)
    return [
        dataclasses.replace(m, currency=stated, currency_from_text=True)
        if m.currency is None and m.start in unmarked and (stated := _stated_currency(text, found, statements, m))
        else m
        for m in found
    ]


def _stated_currency(text: str, found: list[Money], statements: list[tuple[int, int, str]], money: Money) -> str | None:
    """The currency a marker and a colon before it in its sentence name ("NOK: junior 620,000–700,000"), else the
    one currency the figures or a statement ("All numbers in €") of `money`'s line state, else the one
    the last statement before it names, else the one the text's statements name (a thread's title stands above
    its post's "All numbers USD"), else the one the whole text's figures state; of these, only the currency of
    a country the line names, when it names one ("120 TC for a US company" in a euro thread takes none; "I'm
    at 140 in Ottawa" in a thread of USD and CAD takes CAD)."""
    colon = [code for start, end, code in colon_statements(text) if start <= money.start < end]
    if colon:  # "Annual base salary in Oslo, NOK: junior ML engineer 620,000–700,000"
        return colon[0]
    line_start, line_end = text.rfind("\n", 0, money.start) + 1, text.find("\n", money.end)
    line_end = len(text) if line_end < 0 else line_end
    on_line = {m.currency for m in found if m.currency and line_start <= m.start < line_end}
    on_line |= {code for start, end, code in statements if line_start <= start and end <= line_end}
    if len(on_line) == 1:
        return on_line.pop()
    places = place_currencies(text, line_start, line_end)
    before = [code for start, _, code in statements if start < money.start]
    stated = {before[-1]} if before else {code for _, _, code in statements}  # a title above the statement
    everywhere = stated or {m.currency for m in found if m.currency}
    if places:  # "I'm at 140 in Vancouver" in a thread of USD and CAD offers
        everywhere &= places
    return everywhere.pop() if len(everywhere) == 1 else None


def amounts_agree(value: float, quote: str) -> bool:
    """True when `value` is one of the amounts (a bound or a point) written in `quote`, within 0.5 %; forum
    shorthand in the quote ("245 TC", "base went 84 -> 92") counts in each shorthand unit, and a figure marked
    by a symbol that needs its country ("JD 300", "P14,500") or written in thousands with no currency after a
    statement of the text's ("~3.9k net/month") counts as written, since the quote alone does not show which
    unit the rest of its text writes pay in, which country it names or what currency it states."""
    return is_written(value, written_amounts(quote) + _quote_readings(quote))


def _quote_readings(text: str) -> list[float]:
    """Every amount the shorthand figures of `text` stand for in one of the shorthand units, and the amounts
    written with a marker that names a currency only where the text names its country or in thousands with no
    currency at all."""
    readings: list[float] = []
    previous = None
    for group, gap in _groups(text, _atoms(text)):
        placed = any(a.marker and markers()[a.marker].placed_only for a in group)
        unstated = not any(a.marker for a in group) and group[-1].unit in _UNSTATED_UNITS  # "~3.9k net/month"
        if placed or unstated:
            readings += list(_range_bounds(*group)) if gap else [_whole(a.value * a.multiplier) for a in group]
        read = "money" if any(a.marker for a in group) else _shorthand_kind(text, group, previous)
        if read in ("shorthand", "phrased"):
            readings += [_whole(a.value * _UNIT_VALUES[unit]) for a in group for unit in _SHORTHAND.units]
        previous = (group, read)
    return readings


def written_amounts(text: str) -> list[float]:
    """Every amount written in `text`: the bounds of its ranges and its single figures."""
    return [x for m in scan_money(text) for x in (m.amount_min, m.amount_max) if x is not None]


def is_written(value: float, written: list[float]) -> bool:
    """True when `value` is one of `written` (see `written_amounts`) within 0.5 %."""
    return any(math.isclose(value, amount, rel_tol=0.005) for amount in written)


def stated_period_before(text: str, pos: int) -> Period | None:
    """The one period the last statement before `pos` gives the text's figures ("All numbers below are CZK,
    gross per month"; `pipeline.currencies.statements`), if any."""
    said = [detect_period(text[s:e]) for s, e in statements(text) if s < pos]
    return said[-1] if said else None


def stated_period(text: str) -> Period | None:
    """The period of the first sentence of `text` that names one: "All figures per month. Multiply by 14 for
    the annual total." is monthly, where `detect_period` sees two periods and says none."""
    return next((p for s, e in sentences.sentences(text) if (p := detect_period(text[s:e]))), None)


def detect_period(text: str) -> Period | None:
    """The pay period a text states ('per hour', '/yr', 'monthly', 'LPA'); None if none or if they conflict."""
    periods = {_period_of(m[0]) for m in _PERIOD_ANYWHERE.finditer(text)} - {None}
    return periods.pop() if len(periods) == 1 else None
