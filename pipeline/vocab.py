"""The vocabulary the deterministic readers use, loaded from the TOML files in pipeline/vocabulary/.

Word lists (currencies, multipliers, periods, levels, regions, skills, credentials, cue and time words) and thresholds
are domain knowledge, not code: each fact is written once, in one file, and the modules that need it compile
their patterns from it. Every file is validated when loaded, and a bad entry fails with a `VocabularyError`
naming the file and the entry. A folder named by KB_VOCABULARY_DIR may hold files of the same names whose
entries are added to the built-in ones. The files' content hash (`Vocabulary.digest`) is part of the extractor
version, so a changed word list re-extracts stored documents on the next run.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated

from babel.numbers import list_currencies
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import VocabularyError
from schemas.records import FigureKind, Statistic

BUILT_IN = Path(__file__).with_name("vocabulary")
EXTRA_ENV = "KB_VOCABULARY_DIR"


def _compiles(pattern: str) -> str:
    """A regular expression that compiles; its error names what is wrong with it."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc}): {pattern!r}") from None
    return pattern


def _currency_code(code: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError(f"{code!r} is not an ISO 4217 code (three capital letters)")
    return code


def _currency_codes(value: str | list[str]) -> str | list[str]:
    """One ISO 4217 code, or a list of them (a marker several currencies share)."""
    for code in [value] if isinstance(value, str) else value:
        _currency_code(code)
    return value


def _territory(code: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError(f"{code!r} is not an ISO 3166 territory code (two capital letters)")
    return code


Regex = Annotated[str, AfterValidator(_compiles)]
Code = Annotated[str, AfterValidator(_currency_code)]
Territory = Annotated[str, AfterValidator(_territory)]
Codes = Annotated[str | list[str], AfterValidator(_currency_codes)]
Word = Annotated[str, Field(min_length=1)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _unknown(names, known, what: str) -> None:
    """Fail naming every entry of `names` not among `known`."""
    missing = sorted(set(names) - set(known))
    if missing:
        raise ValueError(f"{', '.join(map(repr, missing))}: not {what}")


def _enum_values(name: str) -> list[str]:
    """The values of an enum of schemas.records (imported late: schemas.records loads the vocabulary)."""
    import schemas.records as records

    return [member.value for member in getattr(records, name)]


class UsNames(_Section):
    names: list[Word]
    not_after: list[Word] = []


class Currencies(_Section):
    in_use_from: int
    in_use_until: int
    weak_codes: list[Word] = []
    dollar_markers: list[Word]
    not_unit_words: list[Word] = []
    placed_only: list[Word] = []
    before_number_only: list[Word] = []
    after_number_only: list[Word] = []
    unstated_units: list[Word] = []
    statement_words: list[Word] = []
    statement_lead_words: list[Word] = []
    defaults: dict[str, Code] = {}
    markers: dict[str, Codes]
    dollar_countries: dict[Code, Word]
    dollar_place_words: list[Word]
    dollar_definitions: list[Word] = []
    us: UsNames
    country_words: dict[str, Territory] = {}
    not_country_before: list[Word] = []

    @model_validator(mode="after")
    def _known_codes(self) -> Currencies:
        codes = [c for value in self.markers.values() for c in ([value] if isinstance(value, str) else value)]
        _unknown([*codes, *self.defaults.values(), *self.dollar_countries], list_currencies(), "an ISO 4217 code")
        _unknown(self.before_number_only, [*self.markers, *self.dollar_markers], "a marker")
        if self.in_use_from > self.in_use_until:
            raise ValueError(f"in_use_from {self.in_use_from} is after in_use_until {self.in_use_until}")
        return self

    def codes_of(self, marker: str) -> list[str]:
        """The codes a marker of [markers] may name (one or several)."""
        value = self.markers[marker]
        return [value] if isinstance(value, str) else list(value)


class Shorthand(_Section):
    """Forum shorthand ("245 TC", "Base 185"): the words that make a bare number pay, the units it may take."""

    words: list[Regex] = Field(min_length=1)
    units: list[Word] = Field(min_length=1)
    digits: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]]
    fillers: list[Word] = []
    own_pay_phrases: list[Regex] = []
    own_pay_ends: list[Regex] = []
    added_parts: list[Regex] = []
    change_marks: list[Word] = []
    triples: list[Regex] = []

    @model_validator(mode="after")
    def _digits_in_order(self) -> Shorthand:
        if self.digits[0] > self.digits[1]:
            raise ValueError(f"digits {list(self.digits)}: the fewest must come first")
        return self


class Multipliers(_Section):
    rupee_units: list[Word] = []
    lakh_currencies: list[Code] = ["INR"]
    yearly_units: list[Word] = []
    spaced_before_symbol: list[Word] = []
    spaced: dict[str, Annotated[float, Field(gt=0)]]
    attached: dict[str, Annotated[float, Field(gt=0)]]
    shorthand: Shorthand

    @model_validator(mode="after")
    def _one_value_per_unit(self) -> Multipliers:
        seen: dict[str, float] = {}
        for unit, value in [*self.spaced.items(), *self.attached.items()]:
            if seen.setdefault(unit.lower(), value) != value:
                raise ValueError(f"{unit!r} is worth {value} here and {seen[unit.lower()]} elsewhere")
        _unknown([*self.rupee_units, *self.yearly_units, *self.shorthand.units], seen, "a multiplier (in lower case)")
        _unknown(self.spaced_before_symbol, self.attached, "a letter of [attached]")
        return self

    def by_unit(self) -> dict[str, float]:
        """Every unit in lower case → what it multiplies by."""
        return {unit.lower(): value for unit, value in (*self.spaced.items(), *self.attached.items())}


class NamedPattern(_Section):
    name: Word
    pattern: Regex


class Periods(_Section):
    units: list[Word]
    unit_leads: list[Word] = Field(min_length=1)
    slash_letters: list[Word] = []
    adverbs: list[Word] = []
    adverbs_after_only: list[Word] = []
    adverbs_before_only: list[Word] = []
    not_after: list[Word] = []
    not_before: list[Word] = []
    pay_after: list[Word] = []
    unit_adjectives: list[Word] = []
    parallel_ratio_max: float = Field(default=4.0, ge=1.0)
    period: list[NamedPattern] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_periods(self) -> Periods:
        _unknown([p.name for p in self.period], _enum_values("Period"), "a period")
        return self


class Qualifiers(_Section):
    over: list[Regex]
    approximately: list[Regex]
    range_words: list[Regex]
    change_verbs: list[Regex]
    cap_before: list[Regex]
    floor_before: list[Regex]
    floor_after: list[Regex]
    cap_after: list[Regex]
    count_nouns: list[Regex]


class Levels(_Section):
    job_words: list[Regex]
    all_levels: Regex
    years_at_least: list[Regex]
    years_or_more: list[Regex]
    years_at_most: list[Regex]
    year_words: list[Regex] = Field(min_length=1)
    word_numbers: dict[str, int]
    same_rung: dict[str, str] = {}
    level: list[NamedPattern] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_levels(self) -> Levels:
        _unknown([lv.name for lv in self.level], _enum_values("Level"), "a level")
        _unknown([*self.same_rung, *self.same_rung.values()], _enum_values("Level"), "a level")
        for lv in self.level:
            _compiles(self.pattern(lv))
        return self

    def pattern(self, level: NamedPattern) -> str:
        """A level's pattern with {job} standing for any of the job words."""
        return level.pattern.replace("{job}", "(?:" + "|".join(self.job_words) + ")")


class Regions(_Section):
    regions: dict[str, list[Word]]
    not_countries: list[Word] = []


class Postings(_Section):
    """Labels of a page's fields that say who its pay is for, and schema.org's salary units as period words."""

    title: list[Word] = Field(min_length=1)
    employer: list[Word] = Field(min_length=1)
    region: list[Word] = Field(min_length=1)
    years: list[Word] = Field(min_length=1)
    level: list[Word] = Field(min_length=1)
    salary: list[Word] = Field(min_length=1)
    requirements: list[Word] = []
    legal_forms: list[Word] = []
    unit_text: dict[str, Word] = {}


class Skills(_Section):
    case_sensitive: list[Word] = []
    skills: dict[str, list[Word]]
    aliases: dict[str, Word] = {}

    @model_validator(mode="after")
    def _consistent(self) -> Skills:
        _unknown(self.skills, _enum_values("SkillCategory"), "a skill category")
        names = [name for names in self.skills.values() for name in names]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"{', '.join(map(repr, twice))}: listed in more than one place")
        _unknown([*self.aliases.values(), *self.case_sensitive], names, "a skill listed under [skills]")
        return self

    def category(self) -> dict[str, str]:
        """Every canonical skill name → its category."""
        return {name: category for category, names in self.skills.items() for name in names}


class Credential(_Section):
    name: Word
    aliases: list[Word] = []
    issuer: Word | None = None  # only when no family says it


class Family(_Section):
    """Credentials from one issuer: those whose name contains one of `names` or `products` (and of `needs`)."""

    issuer: Word
    names: list[Word] = []
    products: list[Word] = []
    needs: list[Word] = []

    @model_validator(mode="after")
    def _named(self) -> Family:
        if not self.names and not self.products:
            raise ValueError(f"family {self.issuer!r} lists no names and no products: nothing could belong to it")
        return self


class Certifications(_Section):
    credential_words: list[Word]
    opening_words: list[Word] = []
    role_words: list[Word] = []
    filler_words: list[Regex] = []
    abbreviations: dict[str, Word] = {}
    family: list[Family]
    certification: list[Credential] = []


class Role(_Section):
    levels: list[Word] = []
    qualifiers: list[Word] = []
    fields: list[Regex]
    jobs: list[Regex]


class KindCue(_Section):
    """Words that make a figure a kind other than pay whatever else its clause says: `before` ends right before
    the figure, `after` starts right after it, `words` are whole words anywhere in its sentence, `clause_words`
    whole words in its clause (its sentence cut at the neighbouring figures) that count only when the clause and
    its heading or header hold none of `unless` (a clause about bonuses that names no salary); `words_unless`
    keep `words` from counting when the figure's own clause holds one ("earns €60,000, paid in 14 instalments")."""

    kind: Word
    reason: Word
    before: list[Regex] = []
    after: list[Regex] = []
    words: list[Regex] = []
    words_unless: list[Regex] = []
    clause_words: list[Regex] = []
    unless: list[Regex] = []

    @model_validator(mode="after")
    def _known_kind(self) -> KindCue:
        _unknown([self.kind], _enum_values("FigureKind"), "a figure kind (schemas.records.FigureKind)")
        return self


class Cues(_Section):
    not_pay: list[Regex]
    kinds: list[KindCue] = []
    pay: list[Regex]
    pay_evidence: list[Regex] = []
    pay_reports: list[Regex] = []
    clause_joins: list[Regex] = []
    antecedent_words: list[Regex] = []
    anaphor_words: list[Regex] = []
    anaphor_unless: list[Regex] = []
    conversion_gaps: list[Regex] = []
    steering: list[Regex] = []
    total_pay: list[Regex] = []
    base_pay: list[Regex] = []
    employers: list[Regex] = []
    role: Role


class Metric(_Section):
    """What a claim may measure: its name (the value stored), what it means (shown to the model), its cue words."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z_]*$")]
    description: Word
    cues: list[Regex] = []


class WordFigure(_Section):
    word: Word
    unit: Word
    value: Annotated[float, Field(gt=0)]


class Counts(_Section):
    not_before: list[Regex] = []
    names_before: list[Word] = []


class Directions(_Section):
    up: list[Regex]
    down: list[Regex]


class Attribution(_Section):
    patterns: list[Regex]

    @model_validator(mode="after")
    def _named_group(self) -> Attribution:
        _unknown([p for p in self.patterns if "(?P<who>" not in p], [], "a pattern with a (?P<who>...) group")
        return self


class Years(_Section):
    spans: list[Regex]


class ChangeColumns(_Section):
    words: list[Word]
    percent: list[Word]
    metric: Word
    metrics: dict[str, list[Word]] = {}


class Claims(_Section):
    topics: list[Regex]
    standalone_units: list[Word] = []
    metric: list[Metric] = Field(min_length=1)
    units: dict[str, list[Word]]
    word_figure: list[WordFigure] = []
    counts: Counts = Counts()
    direction: Directions
    attribution: Attribution
    years: Years
    change_columns: ChangeColumns

    @model_validator(mode="after")
    def _consistent(self) -> Claims:
        names = [m.name for m in self.metric]
        if "other" not in names:
            raise ValueError("the metrics must include 'other', the metric of a claim no cue names")
        if twice := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"{', '.join(map(repr, twice))}: listed as a metric more than once")
        _unknown([w.unit for w in self.word_figure] + self.standalone_units, self.units, "a unit listed under [units]")
        changes = self.change_columns
        _unknown([changes.metric, *changes.metrics], names, "a metric listed as a [[metric]]")
        return self

    def metric_names(self) -> list[str]:
        return [m.name for m in self.metric]


class Thresholds(_Section):
    min_yearly_pay: float = Field(ge=0)
    min_monthly_pay: float = Field(ge=0)
    max_pay_amount: float = Field(default=1e9, gt=0)
    max_pay_exempt: list[Code] = []
    weak_code_min_amount: float = Field(ge=0)
    lookback_chars: int = Field(gt=0)
    year_min: int
    year_max: int
    claim_min_chars: int = Field(ge=0)
    claim_max_chars: int = Field(gt=0)
    claim_limit: int = Field(ge=0)
    table_cell_max_chars: int = Field(gt=0)
    wrapped_line_min_chars: int = Field(gt=0)
    review_margin: float = Field(ge=0, lt=1)
    thread_post_max_chars: int = Field(default=2000, gt=0)
    thread_post_min_chars: int = Field(default=80, ge=0)


class Tables(_Section):
    count_columns: list[Word] = []
    count_rows: list[Word] = []
    years_columns: list[Word] = []
    multipliers: dict[str, Annotated[float, Field(gt=0)]] = {}
    currency_names: dict[str, Code] = {}
    statistics: dict[str, Statistic] = {}
    range_columns: dict[Statistic, tuple[Statistic, Statistic]] = {}
    total_columns: list[Word] = []
    base_columns: list[Word] = []
    not_currencies: list[Word] = []
    column_kinds: dict[str, FigureKind] = {}
    empty_cells: list[Word] = []


class TimeWords(_Section):
    cues: list[Word]
    not_as_of: list[Word]
    span_words: list[Word]
    not_after: list[Word] = []


class Time(_Section):
    earliest_year: int
    opening_chars: int = Field(gt=0)
    months: dict[str, Annotated[int, Field(ge=1, le=12)]]
    relative_years: dict[str, Annotated[int, Field(le=0)]]
    words: TimeWords


class Scoring(_Section):
    phrase_aliases: dict[str, Word] = {}


SECTIONS: dict[str, type[_Section]] = {
    "currencies": Currencies,
    "multipliers": Multipliers,
    "periods": Periods,
    "qualifiers": Qualifiers,
    "levels": Levels,
    "regions": Regions,
    "postings": Postings,
    "skills": Skills,
    "certifications": Certifications,
    "cues": Cues,
    "thresholds": Thresholds,
    "scoring": Scoring,
    "tables": Tables,
    "claims": Claims,
    "time": Time,
}


class Vocabulary(BaseModel):
    """Every vocabulary file, validated, and the hash of their contents."""

    model_config = ConfigDict(frozen=True)

    currencies: Currencies
    multipliers: Multipliers
    periods: Periods
    qualifiers: Qualifiers
    levels: Levels
    regions: Regions
    postings: Postings
    skills: Skills
    certifications: Certifications
    cues: Cues
    thresholds: Thresholds
    scoring: Scoring
    tables: Tables
    claims: Claims
    time: Time
    digest: str


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VocabularyError(f"cannot read it: {exc}", source=str(path)) from exc


def _merge(base: dict, extra: dict) -> dict:
    """`extra` added to `base`: lists are extended, tables merged entry by entry, other values replaced."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        elif isinstance(value, list) and isinstance(base.get(key), list):
            merged[key] = [*base[key], *value]
        else:
            merged[key] = value
    return merged


def _validated(name: str, data: dict, paths: list[Path]) -> _Section:
    """One file's data as its section model, or a VocabularyError naming the file and the entry."""
    try:
        return SECTIONS[name].model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            ": ".join(filter(None, (".".join(map(str, error["loc"])), error["msg"]))) for error in exc.errors()
        )
        raise VocabularyError(problems, source=" + ".join(map(str, paths))) from exc


def load_vocabulary(folder: Path = BUILT_IN, extra: Path | None = None) -> Vocabulary:
    """Read and validate every vocabulary file of `folder`, each extended by its namesake in `extra`."""
    if extra is not None and not extra.is_dir():
        raise VocabularyError("not a folder", source=str(extra))
    sections: dict[str, _Section] = {}
    digest = hashlib.sha256()
    for name in SECTIONS:
        paths = [p for p in (folder / f"{name}.toml", extra and extra / f"{name}.toml") if p and p.is_file()]
        if not paths or paths[0].parent != folder:
            raise VocabularyError("missing vocabulary file", source=str(folder / f"{name}.toml"))
        data: dict = {}
        for path in paths:
            data = _merge(data, _read(path))
            digest.update(f"{path.name}\0".encode() + path.read_bytes() + b"\0")
        sections[name] = _validated(name, data, paths)
    return Vocabulary(**sections, digest=digest.hexdigest()[:16])


@functools.cache
def vocabulary() -> Vocabulary:
    """The vocabulary of this process: the built-in files plus those of KB_VOCABULARY_DIR, loaded once."""
    extra = os.environ.get(EXTRA_ENV, "").strip()
    return load_vocabulary(BUILT_IN, Path(extra).expanduser() if extra else None)


def alternation(tokens, *, edge: bool = True) -> str:
    """A regex matching any of the literal `tokens`, longest first; with `edge`, a token ending in a letter
    must end at a word edge (so "k" in "$120K" matches but not in "$120Kilo")."""
    parts = []
    for token in sorted(tokens, key=len, reverse=True):
        parts.append(re.escape(token) + (r"(?![A-Za-z])" if edge and token[-1].isalpha() else ""))
    return "|".join(parts)


def any_of(patterns) -> str:
    """The regexes `patterns` as one group of alternatives."""
    return "(?:" + "|".join(patterns) + ")"
