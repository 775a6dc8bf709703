"""Which currency a marker written beside a number names: every ISO 4217 code, symbol and English name.

The codes, the local symbols ("kr", "Kč", "Ft", "zł", "RM", "NT$"), the English names ("Swedish kronor") and
their last words ("kwacha", "dinars") come from Babel's copy of CLDR, a maintained table, for every currency
tendered somewhere in the years the vocabulary names; currencies.toml adds the local forms CLDR lacks ("TL",
"円", "원") and says which markers are also everyday tokens. A marker several currencies share ("kr", "¥", "Rs")
names the one whose country the text places it in: a country in its sentence, else the nearest country named
before it, else the marker's default, else none. A bare dollar sign keeps its own stricter rule: USD when its
sentence names anything American; else the dollar of a country whose own currency is written "$" that the
sentence, or else an earlier sentence of its section, places the figure in ("in Toronto", "in Mexico"); else
the dollar the text states ("All amounts are New Zealand dollars"); else the one the text before the figure's
sentence names most, twice at least, by its places and lettered dollars ("Melbourne", "S$").
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import babel
from babel import Locale, UnknownLocaleError
from babel.languages import get_official_languages
from babel.numbers import get_currency_name, get_territory_currencies

from pipeline.chunk import section_start
from pipeline.sentences import sentence_around, sentences
from pipeline.settings import Settings
from pipeline.vocab import alternation, vocabulary

_CURRENCIES = vocabulary().currencies
_ENGLISH = Locale("en")


@dataclass(frozen=True)
class Marker:
    """What a marker may name, and where it may stand."""

    codes: frozenset[str]  # every currency it may name; empty for a bare dollar sign (see `currency_of`)
    default: str | None  # the one it names when the text places it in no country
    weak: bool  # also an everyday token ("PHP 8", "Br 2"): money only from a threshold up
    before_only: bool  # never read after a number ("Rs", "Fr.")
    after_only: bool  # never read before a number (names: "5,000 Swedish kronor")
    placed_only: bool = False  # names a currency only where the text names its country ("Q 8,500", "MT 900")


# ---- the tables, built once from Babel and currencies.toml ------------------------------------------------


@functools.cache
def territory_codes() -> dict[str, frozenset[str]]:
    """Every territory (ISO 3166 alpha-2) → the currencies tendered there in the vocabulary's years."""
    start = datetime.date(_CURRENCIES.in_use_from, 1, 1)
    end = datetime.date(_CURRENCIES.in_use_until, 12, 31)
    found = {
        t: frozenset(get_territory_currencies(t, start_date=start, end_date=end))
        for t in _ENGLISH.territories
        if len(t) == 2 and t.isalpha()
    }
    return {t: codes for t, codes in found.items() if codes}


@functools.cache
def iso_codes() -> frozenset[str]:
    """Every ISO 4217 code tendered somewhere in the vocabulary's years."""
    return frozenset().union(*territory_codes().values())


def _local_symbols() -> dict[str, set[str]]:
    """`_cldr_symbols`, kept in a file under KB_HOME: reading CLDR for every territory's official languages
    takes seconds, which every process would otherwise pay on its first document. The file is named by what
    the table is made from (Babel's version and the vocabulary's years), so a change makes a new one."""
    years = f"{_CURRENCIES.in_use_from}-{_CURRENCIES.in_use_until}"
    path = Settings.from_env().home / "cache" / f"currency-symbols-babel-{babel.__version__}-{years}.json"
    try:
        return {symbol: set(codes) for symbol, codes in json.loads(path.read_text("utf-8")).items()}
    except (OSError, ValueError, AttributeError):  # not written yet, or unreadable: make it again
        found = _cldr_symbols()
    _write_atomically(path, json.dumps({symbol: sorted(codes) for symbol, codes in found.items()}))
    return found


def _write_atomically(path: Path, text: str) -> None:
    """`text` into `path` through a temporary file, so a concurrent reader sees the old file or the whole new
    one; a folder that cannot be written is no error (the table is then made again next time)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as tmp:
            tmp.write(text)
        os.replace(tmp.name, path)
    except OSError:
        pass


def _cldr_symbols() -> dict[str, set[str]]:
    """Symbol → codes, as each currency's own territories write it (in their official languages) and as
    English writes it ("NT$", "CA$")."""
    found: dict[str, set[str]] = {}
    for territory, codes in territory_codes().items():
        for language in get_official_languages(territory, de_facto=True):
            try:
                symbols = Locale.parse(f"{language}_{territory}").currency_symbols  # zh_CN is zh_Hans_CN
            except UnknownLocaleError:  # CLDR has no data for this language in this territory
                continue
            for code in codes:
                found.setdefault(symbols.get(code, code), set()).add(code)
    for code in iso_codes():
        found.setdefault(_ENGLISH.currency_symbols.get(code, code), set()).add(code)
    return found


def _usable(symbol: str) -> bool:
    """Whether a CLDR symbol can be read as a marker: not an invisible character, not a multiplier ("mn"); a
    lone letter is read only before a number, where no multiplier stands ("L 38,000", not "15L")."""
    units = {u.lower() for u in vocabulary().multipliers.by_unit()}
    multiplier = symbol.lower() in units and not _lone_letter(symbol)
    return symbol.isprintable() and symbol.strip() == symbol and not multiplier


def _lone_letter(symbol: str) -> bool:
    """A symbol of one letter ("Q", "L", "P"), which also starts quarters, sizes and grades: a marker only
    where the text names a country that writes it."""
    return len(symbol) == 1 and symbol.isascii() and symbol.isalpha()


def _dollar_prefixes() -> dict[str, set[str]]:
    """Markers like "TT$", "FJ$", "B$" → the dollars CLDR writes "$" whose code starts with those letters, as a
    text tells one dollar from another; the letter for thousands is left out ("K$" is thousands of dollars)."""
    thousands = {u.upper() for u, value in vocabulary().multipliers.by_unit().items() if value == 1e3}
    found: dict[str, set[str]] = {}
    for code in _local_symbols().get("$", set()):
        for prefix in {code[:2], code[0]} - thousands:
            found.setdefault(f"{prefix}$", set()).add(code)
    return found


def _english_names() -> dict[str, str]:
    """English name → code, singular and plural, as written and in lower case ("Swedish kronor", "euros")."""
    names: dict[str, str] = {}
    for code in iso_codes():
        for name in (_ENGLISH.currencies.get(code), get_currency_name(code, count=2, locale=_ENGLISH)):
            if name and name != code:
                names.setdefault(name, code)
                names.setdefault(name.lower(), code)
    return names


def _unit_words() -> dict[str, set[str]]:
    """The last word of every English currency name ("kwacha", "dinars", "pesos") → the codes whose names end
    so, in lower case and capitalised: how a text names its currency after a number once its country is clear
    ("1,800 marks", "45,000 Dinars"); the vocabulary's not_unit_words are left out."""
    words: dict[str, set[str]] = {}
    for name, code in _english_names().items():
        word = name.split()[-1].lower()
        if word.isalpha() and word not in _CURRENCIES.not_unit_words and word not in _CURRENCIES.dollar_markers:
            for form in (word, word.capitalize()):
                words.setdefault(form, set()).add(code)
    return words


@functools.cache
def markers() -> dict[str, Marker]:
    """Every currency marker → what it may name."""
    candidates: dict[str, set[str]] = {code: {code} for code in iso_codes()}
    for symbol, codes in _local_symbols().items():
        if _usable(symbol):
            candidates.setdefault(symbol, set()).update(codes)
    names = _english_names()
    for name, code in names.items():
        candidates.setdefault(name, set()).add(code)
    units = _unit_words()
    for word, codes in units.items():
        candidates.setdefault(word, set()).update(codes)
    for prefix, codes in _dollar_prefixes().items():
        candidates.setdefault(prefix, set()).update(codes)
    for marker in _CURRENCIES.markers:
        candidates.setdefault(marker, set()).update(_CURRENCIES.codes_of(marker))
    for marker, codes in candidates.items():  # "52 000 kr." may be "kr" at the end of a sentence
        if marker.endswith(".") and marker[:-1] in candidates:
            codes.update(candidates[marker[:-1]])
    table = {m: _marker(m, frozenset(codes), m in names or m in units) for m, codes in candidates.items()}
    table.update({m: _marker(m, frozenset(), False) for m in _CURRENCIES.dollar_markers})
    return table


def _default(marker: str, codes: frozenset[str]) -> str | None:
    """The code a marker names when no country decides: its only one, the vocabulary's one, or none."""
    listed = _CURRENCIES.codes_of(marker) if marker in _CURRENCIES.markers else []
    if len(codes) == 1:
        return next(iter(codes))
    return listed[0] if len(listed) == 1 else _CURRENCIES.defaults.get(marker)


def _marker(marker: str, codes: frozenset[str], is_name: bool) -> Marker:
    """One marker's entry; a CLDR symbol of one or two ASCII letters the vocabulary does not list is weak."""
    listed = marker in _CURRENCIES.markers or marker in _CURRENCIES.dollar_markers
    short = marker.isascii() and marker.isalpha() and len(marker) <= 2 and not listed
    placed_only = marker in _CURRENCIES.placed_only or (_lone_letter(marker) and not listed)
    return Marker(
        codes=codes,
        default=None if placed_only else _default(marker, codes),
        weak=marker in _CURRENCIES.weak_codes or short,
        before_only=marker in _CURRENCIES.before_number_only or placed_only and _lone_letter(marker),
        after_only=is_name or marker in _CURRENCIES.after_number_only,
        placed_only=placed_only,
    )


# ---- countries a text names --------------------------------------------------------------------------------


@functools.cache
def _country_words() -> dict[str, str]:
    """Country names in English (CLDR) and the vocabulary's country words (demonyms, cities) → territory."""
    words = {name: t for t, name in _ENGLISH.territories.items() if t in territory_codes()}
    return {**words, **_CURRENCIES.country_words}


@functools.cache
def _country_pattern() -> re.Pattern:
    words = alternation(_country_words())
    if not _CURRENCIES.not_country_before:
        return re.compile(rf"(?<![\w-])(?:{words})")
    not_after = alternation(_CURRENCIES.not_country_before)  # "the Indian Ocean" names no country
    return re.compile(rf"(?<![\w-])(?:{words})(?!\s+(?:{not_after})\b)")


def _naming(mentions: list[str], candidates: frozenset[str]) -> str | None:
    """The one candidate the named countries use, or None when they point at none or several."""
    territories, words = territory_codes(), _country_words()
    codes = {c for m in mentions for c in territories.get(words[m], ()) if c in candidates}
    return codes.pop() if len(codes) == 1 else None


def _placed(text: str, pos: int, candidates: frozenset[str], stated: bool = True) -> str | None:
    """The candidate of the country named in the sentence at `pos`, else (with `stated`) the one the last
    statement before it names ("All salaries below are in Moldovan lei"), else of the nearest country named
    before it."""
    pattern = _country_pattern()
    start, end = sentence_around(text, pos)
    here = _naming([m[0] for m in pattern.finditer(text, start, end)], candidates)
    if here:
        return here
    said = [code for s, _, code in stated_currencies(text) if s < start and code in candidates] if stated else []
    if said:
        return said[-1]
    for mention in reversed([m[0] for m in pattern.finditer(text, 0, start)]):
        if found := _naming([mention], candidates):
            return found
    return None


# ---- public ----------------------------------------------------------------------------------------------


@functools.cache
def _dollar_places() -> dict[str, str]:
    """Every word that may place a bare "$" → the dollar it names there: the English name of every country
    whose own currency CLDR writes "$" (Argentina, Canada, Mexico, the US ...), the words of its region in
    regions.toml, and the vocabulary's dollar_countries."""
    territories = {name: t for t, name in _ENGLISH.territories.items()}
    dollars = _local_symbols().get("$", set())
    places: dict[str, str] = {}
    for territory, codes in territory_codes().items():
        if len(codes & dollars) == 1:
            places[_ENGLISH.territories[territory]] = next(iter(codes & dollars))
    for region, words in vocabulary().regions.regions.items():
        territory = next((territories[w] for w in [region, *words] if w in territories), None)
        codes = territory_codes().get(territory, frozenset()) & dollars
        if len(codes) == 1:
            places.update(dict.fromkeys([region, *words], next(iter(codes))))
    places.update({name: code for code, name in _CURRENCIES.dollar_countries.items()})
    return places


@functools.cache
def _in_place() -> re.Pattern:
    """A place word before a dollar place ("in Toronto", "across the Mexico market")."""
    return re.compile(
        rf"\b(?i:{alternation(_CURRENCIES.dollar_place_words)})\s+(?:the\s+)?"
        rf"(?P<place>{alternation(_dollar_places())})(?![\w-])"
    )


@functools.cache
def _us_context() -> re.Pattern:
    """Words that make a bare "$" American: the vocabulary's names of the US and the US's places."""
    usd = [word for word, code in _dollar_places().items() if code == "USD"]
    return re.compile(rf"\b{_not_us_before()}(?:{alternation([*_CURRENCIES.us.names, *usd])})")


def _not_us_before() -> str:
    """Look-behinds for the words that make a US name another place ("Latin America", "South American")."""
    return "".join(rf"(?<!{re.escape(word)} )" for word in _CURRENCIES.us.not_after)


def _dollar_country(text: str, pos: int, stated: bool = True) -> str:
    """USD when the sentence names anything American (a US city too); else the dollar of the one place the
    sentence places the figure in ("in Toronto"), else of the last place so placed earlier in its section (a
    table under "… which in Mexico means pesos"); else the dollar the text last states before it ("All amounts
    are New Zealand dollars"), else the one it last defines ('"$" means Argentine pesos'); else the dollar the
    text before its sentence names most (`_text_dollar`); else USD. `stated` is off while a statement itself
    is read."""
    start, end = sentence_around(text, pos)
    if _us_context().search(text, start, end):
        return "USD"
    places = _dollar_places()
    here = {places[m["place"]] for m in _in_place().finditer(text, start, end)}
    if here:
        return here.pop() if len(here) == 1 else "USD"
    before = [places[m["place"]] for m in _in_place().finditer(text, section_start(text, start), start)]
    if before:
        return before[-1]
    dollars = _local_symbols().get("$", set())
    said = [code for s, _, code in stated_currencies(text) if s < start and code in dollars] if stated else []
    defined = [_english_names()[m["unit"]] for m in _dollar_definition().finditer(text, 0, start)]
    return (said or defined or [_text_dollar(text, start)])[-1]


def _text_dollar(text: str, before: int) -> str:
    """The dollar the text before `before` names most by its places and its lettered dollars (Singapore,
    Melbourne, "S$"; a dateline's "SINGAPORE —" counts twice; "US$" none), when one leads and is named at
    least twice; else USD."""
    counts = Counter()
    for pos, code, weight in _dollar_mentions(text):
        if pos < before:
            counts[code] += weight
    (first, n), *rest = counts.most_common(2) or [("USD", 0)]
    return first if n >= 2 and (not rest or n > rest[0][1]) else "USD"


@functools.lru_cache(maxsize=8)
def _dollar_mentions(text: str) -> tuple[tuple[int, str, int], ...]:
    """Where `text` names a dollar's place or writes a lettered dollar, with that dollar and its weight."""
    places, marks = _text_dollar_places(), _dollar_marks()
    found = [
        (m.start(), places[m[0]], 2 if _DATELINE.match(text, m.end()) else 1)
        for m in _dollar_place_pattern().finditer(text)
    ]
    # "US$" is written to tell US dollars from the text's own "$": it names no place the bare "$" is in
    found += [(m.start(), code, 1) for m in _dollar_mark_pattern().finditer(text) if (code := marks[m[0]]) != "USD"]
    return tuple(found)


_DATELINE = re.compile(r"(?:,\s*[A-Z .]+)?\s*(?:\([^)\n]{0,30}\)\s*)?[—–-]\s")  # "SINGAPORE —", "SYDNEY (Reuters) -"


@functools.cache
def _text_dollar_places() -> dict[str, str]:
    """Every word that names a dollar's place (US names too), as written and in capitals as a dateline has it."""
    places = {**dict.fromkeys(_CURRENCIES.us.names, "USD"), **_dollar_places()}
    return {**{word.upper(): code for word, code in places.items()}, **places}


@functools.cache
def _dollar_place_pattern() -> re.Pattern:
    """A dollar place as a whole word ("Latin America" none)."""
    us = {word for word, code in _text_dollar_places().items() if code == "USD"}
    others = [word for word in _text_dollar_places() if word not in us]
    return re.compile(rf"(?<![\w-])(?:{_not_us_before()}(?:{alternation(us)})|(?:{alternation(others)}))(?![\w$-])")


@functools.cache
def _dollar_marks() -> dict[str, str]:
    """Dollar signs written with their country's letters ("S$", "NZ$", "US$") → the one dollar each names."""
    dollars = _local_symbols().get("$", set())
    return {
        m: next(iter(e.codes)) for m, e in markers().items() if "$" in m and len(e.codes) == 1 and e.codes <= dollars
    }


@functools.cache
def _dollar_mark_pattern() -> re.Pattern:
    """A lettered dollar written before a number."""
    return re.compile(rf"(?<![\w$])(?:{alternation(_dollar_marks(), edge=False)})(?=\s?\d)")


@functools.cache
def _dollar_definition() -> re.Pattern:
    """A sentence saying what "$" stands for in the text ('"$" means Argentine pesos')."""
    names = [name for name, code in _english_names().items() if code in _local_symbols().get("$", set())]
    return re.compile(
        rf"[\"“'‘]?\$[\"”'’]?\s*(?:{alternation(_CURRENCIES.dollar_definitions)})\s+(?:the\s+)?"
        rf"(?P<unit>{alternation(names)})(?![\w-])"
    )


def place_currencies(text: str, start: int, end: int) -> frozenset[str]:
    """The currencies of the countries `text[start:end]` names, by name or by a place of theirs regions.toml
    lists ("in Lisbon": EUR; "a US company": USD; "in Calgary": CAD)."""
    territories, words, regions = territory_codes(), _country_words(), _region_territories()
    named = [words[m[0]] for m in _country_pattern().finditer(text, start, end)]
    named += [regions[m[0]] for m in _region_pattern().finditer(text, start, end)]
    codes = {code for territory in named for code in territories.get(territory, ())}
    if _us_context().search(text, start, end):
        codes.add("USD")
    return frozenset(codes)


@functools.cache
def _region_territories() -> dict[str, str]:
    """Every word of a regions.toml region that is a country (its name or a word of it is CLDR's English name
    of one) → that country's territory: "Vancouver" → CA."""
    territories = {name: t for t, name in _ENGLISH.territories.items()}
    found: dict[str, str] = {}
    for region, words in vocabulary().regions.regions.items():
        territory = next((territories[w] for w in [region, *words] if w in territories), None)
        if territory:
            found.update(dict.fromkeys([region, *words], territory))
    return found


@functools.cache
def _region_pattern() -> re.Pattern:
    return re.compile(rf"(?<![\w-])(?:{alternation(_region_territories())})(?![\w-])")


@functools.cache
def _statement_words() -> re.Pattern:
    return re.compile(rf"(?<!\w)(?:{alternation(_CURRENCIES.statement_words)})(?!\w)", re.IGNORECASE)


@functools.cache
def _statement_units() -> re.Pattern:
    """The markers a statement may name a currency by: codes, symbols and names, but no weak one ("R"); an ISO
    code is never weak there ("Figures are in PEN."), since a sentence saying what its figures are in names a
    currency by it, not the everyday token it also spells."""
    units = [m for m, entry in markers().items() if not entry.weak or m in iso_codes()]
    return re.compile(rf"(?<!\w)(?:{alternation(units)})(?!\w)")


@functools.lru_cache(maxsize=8)
def statements(text: str) -> tuple[tuple[int, int], ...]:
    """The sentences of `text` that say what its figures are written in ("All numbers USD:", "All salaries
    below are monthly and gross", "All SGD obviously."): those holding a statement word, or a statement lead
    word right before a currency marker (currencies.toml)."""
    return tuple(
        (s, e) for s, e in sentences(text) if _statement_words().search(text, s, e) or _lead_unit().match(text, s, e)
    )


@functools.lru_cache(maxsize=8)
def colon_statements(text: str) -> tuple[tuple[int, int, str], ...]:
    """The rest of each sentence after a currency marker and a colon, which says what the figures after it are
    written in ("Annual base salary in Oslo, NOK: junior ML engineer 620,000–700,000; …"), as (start, end, code)
    when the marker names one currency; it speaks for its own sentence only."""
    found = []
    for start, end in sentences(text):
        for m in _colon_unit().finditer(text, start, end):
            codes = _may_name(m["unit"], text, m.start())
            if len(codes) == 1:
                found.append((m.end(), end, next(iter(codes))))
    return tuple(found)


@functools.cache
def _colon_unit() -> re.Pattern:
    """A currency marker a colon follows ("NOK:", "in dollars:")."""
    return re.compile(rf"(?P<unit>{_statement_units().pattern})\s*:(?!\d)")


@functools.cache
def _lead_unit() -> re.Pattern:
    """A sentence that opens with a statement lead word right before a currency marker ("All SGD obviously.")."""
    words = alternation(_CURRENCIES.statement_lead_words)
    return re.compile(rf"\s*(?i:{words})\s+(?:{_statement_units().pattern})")


@functools.lru_cache(maxsize=8)
def stated_currencies(text: str) -> tuple[tuple[int, int, str], ...]:
    """Where `text` states the one currency its figures are written in ("All numbers USD:", "All numbers in
    €, by the way."), as (start, end, code) of each statement whose markers all may name one currency and
    together name only it."""
    found = []
    for start, end in statements(text):
        named = [_may_name(m[0], text, m.start()) for m in _statement_units().finditer(text, start, end)]
        codes = frozenset.intersection(*named) if named else frozenset()
        if len(codes) == 1:
            found.append((start, end, next(iter(codes))))
    return tuple(found)


def _may_name(marker: str, text: str, pos: int) -> frozenset[str]:
    """The currencies a marker in a statement may name: all of a shared one's ("lei" beside "MDL" is MDL), the
    one a dollar sign names where it stands."""
    codes = markers()[marker].codes
    return codes or frozenset({currency_of(marker, text, pos, stated=False)} - {None})


def currency_of(marker: str, text: str, pos: int, stated: bool = True) -> str | None:
    """The ISO code `marker` names where it stands at `pos` of `text`, or None when the text does not say;
    `stated` lets a statement of the text's currency decide a shared marker (not while reading one)."""
    entry = markers()[marker]
    if not entry.codes:
        return _dollar_country(text, pos, stated)
    if len(entry.codes) == 1 and not entry.placed_only:
        return next(iter(entry.codes))
    return _placed(text, pos, entry.codes, stated) or entry.default


def placed_currency(text: str, pos: int, candidates: frozenset[str], default: str) -> str:
    """Which of `candidates` the country the text names at `pos` (or before it) uses; else `default`."""
    return _placed(text, pos, candidates) or default
