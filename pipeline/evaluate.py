"""Score the knowledge base against gold labels (`kb eval`), with the matching rule and metrics of
shared/gold/README.md: salary precision/recall/F1, attribute accuracy, forbidden hits, certification and skill
recall, claim figure recall with the metric, years and as_of accuracy of the claims found, grounding rate,
value↔quote agreement, plus diagnostics (money left unstored, tokens, model time).

It only reads: the public views, and the extractions ledger for what each document's extraction cost.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, computed_field, field_validator
from rich.console import Console
from sqlalchemy.engine import make_url

from db.kinds import kinds
from db.query import run_readonly
from pipeline.console import print_table
from pipeline.errors import KBError
from pipeline.levels import same_rung
from pipeline.money import amounts_agree, is_written, scan_money
from pipeline.tables import derive, table_money, without_paired
from pipeline.vocab import any_of, vocabulary
from schemas.records import Level, Period

BOUND_TOLERANCE = 0.01  # a stored bound matches a gold bound within 1 %
ATTRIBUTES = ("level", "years", "region", "employer", "as_of_year")


def record_views() -> tuple[str, ...]:
    """The public view of every registered record kind: grounding is checked over all of them."""
    return tuple(k.view.name for k in kinds())


def scored_views() -> tuple[str, ...]:
    return (*record_views(), "v_money")


# ---- the gold format ---------------------------------------------------------------------------------------


class GoldSalary(BaseModel):
    """One labelled pay figure: currency, period and bounds decide a match; the rest is scored as attributes."""

    currency: list[str] = Field(min_length=1)
    period: Period
    bounds: list[float] = Field(min_length=1, max_length=2)
    level: Level | None = None
    years: tuple[float | None, float | None] | None = None
    region: str | None = None
    employer: str | None = None
    as_of_year: int | None = None  # the year the figure refers to (scored as the as_of accuracy)

    @field_validator("currency", mode="before")
    @classmethod
    def _codes(cls, value):
        return [code.upper() for code in ([value] if isinstance(value, str) else value)]


class GoldClaim(BaseModel):
    """A labelled claim: the figure a statement gives, what it measures, and optionally whom and which years."""

    figure: float
    unit: str | None = None
    metric: str
    subject: str | None = None
    start_year: int | None = None  # with end_year: the span it covers, scored when either is given
    end_year: int | None = None
    as_of_year: int | None = None  # the year the figure refers to (scored as the claim as_of accuracy)


class GoldDocument(BaseModel):
    source: str = Field(description="Path relative to the gold file's folder or to the folder above it")
    kind: str | None = Field(None, description="The kind of page (tables, forums, ...): kb eval reports per kind")
    salaries: list[GoldSalary] = []
    optional: list[GoldSalary] = []
    forbidden: list[float] = []
    certifications: list[str] = []
    skills: list[str] = []
    # a figure with its metric (the bank's form, scored), or a statement (kb gold export's older form, not scored)
    claims: list[GoldClaim | str] = []
    path: str = Field("", exclude=True, description="The source resolved to a file path (set by load_gold)")


class Gold(BaseModel):
    about: str | None = None
    documents: list[GoldDocument]

    def sources(self) -> list[str]:
        return [document.path for document in self.documents]


def load_gold(path: str | Path) -> Gold:
    """Read and validate a gold file, resolving each `source` next to it or one folder up (where it exists)."""
    path = Path(path)
    try:
        gold = Gold.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise KBError(f"not a gold file: {exc}", source=str(path), stage="eval") from exc
    for document in gold.documents:
        document.path = resolve_source(path, document.source)
    return gold


def resolve_source(gold_path: Path, source: str) -> str:
    """Absolute path of a gold `source`: under the gold file's folder (fixtures/), else its parent (shared/)."""
    folder = Path(gold_path).absolute().parent
    candidates = [os.path.normpath(base / source) for base in (folder, folder.parent)]
    return next((c for c in candidates if os.path.isfile(c)), candidates[0])


# ---- names: certifications and skills ----------------------------------------------------------------------

# Names that mean the same when scoring (vocabulary/scoring.toml), and the filler words of credential names
# (vocabulary/certifications.toml, shared with the extractor's matching).
_PHRASE_ALIASES = vocabulary().scoring.phrase_aliases
_CERT_NOISE = re.compile(rf"\b{any_of(vocabulary().certifications.filler_words)}\b")
_EXAM_CODE = re.compile(r"\b([a-z]+)-(\d+)\b")  # "AI-102" is one token, not "ai" and "102"
_PARENS = re.compile(r"\(([^)]*)\)")


def _words(text: str) -> tuple[str, ...]:
    """Case-folded words with aliases applied; a plural 's' dropped so "databases" ≡ "database"."""
    text = _EXAM_CODE.sub(r"\1\2", text.casefold())
    text = " " + " ".join(re.split(r"[^\w+#]+", text)) + " "
    for phrase, alias in _PHRASE_ALIASES.items():
        text = text.replace(f" {phrase} ", f" {alias} ")
    return tuple(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in text.split())


def cert_variants(name: str) -> list[frozenset[str]]:
    """The words of a credential's name without "Certified", "Associate"…, and each code in brackets alone."""
    folded = name.casefold()
    codes = [frozenset(_words(code)) for code in _PARENS.findall(folded)]
    main = frozenset(_words(_CERT_NOISE.sub(" ", _PARENS.sub(" ", folded))))
    return [variant for variant in (main, *codes) if variant]


def certs_match(a: str, b: str) -> bool:
    """Same credential: equal word sets, or one contained in the other when the smaller has two words or more."""
    return any(_sets_match(x, y) for x in cert_variants(a) for y in cert_variants(b))


def _sets_match(x: frozenset[str], y: frozenset[str]) -> bool:
    small, large = sorted((x, y), key=len)
    return small == large or (len(small) >= 2 and small <= large)


def skills_match(a: str, b: str) -> bool:
    """Same skill: equal words, or one name's words a run inside the other's ("RAG" in "RAG pipelines").
    A lone word of one or two letters ("AI", "C") must match exactly."""
    small, large = sorted((_words(a), _words(b)), key=len)
    if small == large:
        return bool(small)
    if not small or (len(small) == 1 and len(small[0]) <= 2):
        return False
    return any(large[i : i + len(small)] == small for i in range(len(large) - len(small) + 1))


# The name rules a record kind can name as its `matcher` (db.kinds): gold names are compared with its view's
# `name_column` by this rule.
MATCHERS = {"credential": certs_match, "skill": skills_match}


# ---- salaries: the match rule and the attributes -----------------------------------------------------------


class StoredSalary(BaseModel):
    """A row of v_salaries, as far as scoring needs it."""

    level: str | None = None
    years_min: float | None = None
    years_max: float | None = None
    region: str | None = None
    employer: str | None = None
    currency: str
    period: str
    amount_min: float | None = None
    amount_max: float | None = None
    quote: str = ""
    header_quote: str | None = None  # a table figure's header span
    as_of_year: int | None = None

    @property
    def bounds(self) -> list[float]:
        """Its non-null bounds as a set: a one-value figure (min == max) has one."""
        return sorted({b for b in (self.amount_min, self.amount_max) if b is not None})


def salary_matches(gold: GoldSalary, stored: StoredSalary) -> bool:
    """The README's rule: currency among the gold's, same period, same set of bounds within 1 %."""
    if stored.currency.upper() not in gold.currency or stored.period != gold.period.value:
        return False
    wanted, found = sorted(set(gold.bounds)), stored.bounds
    if len(wanted) != len(found):
        return False
    return all(math.isclose(f, w, rel_tol=BOUND_TOLERANCE) for w, f in zip(wanted, found, strict=True))


def attribute_checks(gold: GoldSalary, stored: StoredSalary) -> dict[str, bool]:
    """Right or wrong for each attribute the gold states (region/employer: containment either way)."""
    checks = {}
    if gold.level is not None:
        checks["level"] = same_rung(stored.level, gold.level.value)
    if gold.years is not None:
        checks["years"] = (stored.years_min, stored.years_max) == gold.years
    for name in ("region", "employer"):
        if getattr(gold, name):
            checks[name] = _contains_either(getattr(gold, name), getattr(stored, name))
    if gold.as_of_year is not None:
        checks["as_of_year"] = stored.as_of_year == gold.as_of_year
    return checks


def _contains_either(a: str, b: str | None) -> bool:
    a, b = a.casefold().strip(), (b or "").casefold().strip()
    return bool(b) and (a in b or b in a)


def match_salaries(gold: list[GoldSalary], stored: list[StoredSalary], taken=frozenset()) -> dict[int, int]:
    """A maximum one-to-one matching {gold index: stored index} over stored rows not `taken` (augmenting paths);
    among equal candidates, the one with more attributes right is tried first."""
    edges = [
        sorted(
            (j for j, s in enumerate(stored) if j not in taken and salary_matches(g, s)),
            key=lambda j, g=g: -sum(attribute_checks(g, stored[j]).values()),
        )
        for g in gold
    ]
    owner: dict[int, int] = {}  # stored index → gold index

    def claim(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or claim(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(gold)):
        claim(i, set())
    return {i: j for j, i in owner.items()}


def is_forbidden(stored: StoredSalary, forbidden: list[float]) -> bool:
    """A stored salary with any bound equal to an amount the gold says is not pay."""
    return any(math.isclose(b, f, abs_tol=0.005) for b in stored.bounds for f in forbidden)


# ---- scores ------------------------------------------------------------------------------------------------


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


class Ratio(BaseModel):
    """hits out of total; `rate` is None when there is nothing to measure."""

    hits: int = 0
    total: int = 0

    @computed_field
    @property
    def rate(self) -> float | None:
        return _rate(self.hits, self.total)

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(hits=self.hits + other.hits, total=self.total + other.total)


class SalaryScore(BaseModel):
    tp: int = 0
    fp: int = 0
    required: int = 0
    optional_kept: int = 0  # stored figures matching an optional gold salary: neither TP nor FP

    @computed_field
    @property
    def precision(self) -> float | None:
        return _rate(self.tp, self.tp + self.fp)

    @computed_field
    @property
    def recall(self) -> float | None:
        return _rate(self.tp, self.required)

    @computed_field
    @property
    def f1(self) -> float | None:
        return _rate(2 * self.tp, 2 * self.tp + self.fp + (self.required - self.tp))

    def __add__(self, other: SalaryScore) -> SalaryScore:
        fields = ("tp", "fp", "required", "optional_kept")
        return SalaryScore(**{f: getattr(self, f) + getattr(other, f) for f in fields})


class DocumentScore(BaseModel):
    source: str  # as written in the gold
    page_kind: str | None = None  # the gold document's `kind`
    db_source: str | None = None  # the matching v_documents.source, None when the document is not in the DB
    salaries: SalaryScore = SalaryScore()
    attributes: dict[str, Ratio] = {}
    missed: list[str] = []  # required gold salaries with no stored match
    extra: list[str] = []  # stored salaries matching no gold salary (false positives)
    forbidden_hits: list[str] = []
    certifications: Ratio = Ratio()
    missed_certifications: list[str] = []
    skills: Ratio = Ratio()
    missed_skills: list[str] = []
    claims: Ratio = Ratio()  # gold claim figures stored as a claim's value (or range end) of the document
    claim_metrics: Ratio = Ratio()  # of those found, the ones stored with the gold metric
    claim_years: Ratio = Ratio()  # of those found whose gold gives years, the ones stored with the same span
    claim_as_of: Ratio = Ratio()  # of those found whose gold gives as_of_year, the ones stored with that year
    missed_claims: list[str] = []
    grounding: Ratio = Ratio()  # records whose quote == text[char_start:char_end], all record views
    agreement: Ratio = Ratio()  # salaries and costed credentials whose every amount is written in their quote
    unaccounted: list[str] = []  # money in the text with no account, or accounted as lost (with the reason)
    not_pay: int = 0  # money in the text classified as not pay (prices, fees, tuition ...)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0


class Overall(BaseModel):
    documents: int
    found: int
    salaries: SalaryScore
    attributes: dict[str, Ratio]
    forbidden_hits: int
    certifications: Ratio
    skills: Ratio
    claims: Ratio = Ratio()
    claim_metrics: Ratio = Ratio()
    claim_years: Ratio = Ratio()
    claim_as_of: Ratio = Ratio()
    grounding: Ratio
    agreement: Ratio
    unaccounted: int
    not_pay: int = 0
    prompt_tokens: int
    completion_tokens: int
    llm_seconds: float

    @classmethod
    def of(cls, scores: list[DocumentScore]) -> Overall:
        def total(name, start):
            return sum((getattr(s, name) for s in scores), start)

        return cls(
            documents=len(scores),
            found=sum(s.db_source is not None for s in scores),
            salaries=total("salaries", SalaryScore()),
            attributes={a: sum((s.attributes.get(a, Ratio()) for s in scores), Ratio()) for a in ATTRIBUTES},
            forbidden_hits=sum(len(s.forbidden_hits) for s in scores),
            certifications=total("certifications", Ratio()),
            skills=total("skills", Ratio()),
            claims=total("claims", Ratio()),
            claim_metrics=total("claim_metrics", Ratio()),
            claim_years=total("claim_years", Ratio()),
            claim_as_of=total("claim_as_of", Ratio()),
            grounding=total("grounding", Ratio()),
            agreement=total("agreement", Ratio()),
            unaccounted=sum(len(s.unaccounted) for s in scores),
            not_pay=total("not_pay", 0),
            prompt_tokens=total("prompt_tokens", 0),
            completion_tokens=total("completion_tokens", 0),
            llm_seconds=round(total("llm_seconds", 0.0), 3),
        )


class Report(BaseModel):
    gold: str
    database: str
    overall: Overall
    by_kind: dict[str, Overall] = {}  # the same figures for each kind of page, when the gold names kinds
    documents: list[DocumentScore]


def by_page_kind(scores: list[DocumentScore]) -> dict[str, Overall]:
    """Overall figures of each kind of page the gold names (documents without a kind are left out)."""
    names = sorted({s.page_kind for s in scores if s.page_kind})
    return {name: Overall.of([s for s in scores if s.page_kind == name]) for name in names}


# ---- reading the knowledge base ----------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The views' rows, with records grouped by document_id, and each document's extraction cost."""

    documents: list[dict]
    records: dict[str, dict[int, list[dict]]]
    costs: dict[int, dict]

    def of(self, view: str, document_id: int) -> list[dict]:
        return self.records.get(view, {}).get(document_id, [])


def _rows(database_url: str, sql: str) -> list[dict]:
    result = run_readonly(database_url, sql)
    return [dict(zip(result.columns, row, strict=False)) for row in result.rows]


def read_kb(database_url: str) -> Snapshot:
    """Everything scoring needs, in a handful of read-only queries."""
    records = {}
    for view in scored_views():
        grouped: dict[int, list[dict]] = {}
        for row in _rows(database_url, f"select * from {view} order by char_start"):
            grouped.setdefault(row["document_id"], []).append(row)
        records[view] = grouped
    costs_sql = (
        "select document_id, prompt_tokens, completion_tokens, llm_seconds from extractions "
        "where status = 'ok' order by created_at, id"
    )
    costs = {row["document_id"]: row for row in _rows(database_url, costs_sql)}  # the latest one wins
    documents = _rows(database_url, "select document_id, source, fetched_at, text from v_documents")
    return Snapshot(documents, records, costs)


def find_document(documents: list[dict], gold: GoldDocument) -> dict | None:
    """The stored document for a gold one: its source is the resolved file, else a path ending in the gold's
    `source` (a DB built with `kb ingest ../shared/corpus`); the latest fetch when several qualify."""
    exact = [d for d in documents if _same_file(d["source"], gold.path) or d["source"] == gold.source]
    suffix = [d for d in documents if _ends_with(d["source"], gold.source)]
    candidates = exact or suffix
    return max(candidates, key=lambda d: (str(d["fetched_at"]), d["document_id"])) if candidates else None


def _same_file(source: str, path: str) -> bool:
    return "://" not in source and os.path.normpath(os.path.abspath(source)) == path


def _ends_with(source: str, relative: str) -> bool:
    if "://" in source:
        return False
    source, relative = source.replace("\\", "/"), posixpath.normpath(relative.replace("\\", "/"))
    return source == relative or source.endswith("/" + relative)


# ---- scoring -----------------------------------------------------------------------------------------------


def evaluate(gold: Gold, database_url: str, gold_path: str = "") -> Report:
    """Score every gold document against the knowledge base at `database_url`."""
    snapshot = read_kb(database_url)
    scores = [score_document(doc, find_document(snapshot.documents, doc), snapshot) for doc in gold.documents]
    database = make_url(database_url).render_as_string(hide_password=True)
    return Report(
        gold=str(gold_path),
        database=database,
        overall=Overall.of(scores),
        by_kind=by_page_kind(scores),
        documents=scores,
    )


def score_document(gold: GoldDocument, document: dict | None, snapshot: Snapshot) -> DocumentScore:
    """One gold document's figures; a document missing from the DB scores zero on everything it should hold."""
    score = DocumentScore(source=gold.source, page_kind=gold.kind)
    doc_id = document["document_id"] if document else None
    rows = {view: snapshot.of(view, doc_id) for view in scored_views()}
    stored = [StoredSalary.model_validate(row) for row in rows["v_salaries"]]
    _score_salaries(score, gold, stored)
    _score_names(score, gold, rows)
    _score_claims(score, [c for c in gold.claims if isinstance(c, GoldClaim)], rows["v_claims"])
    if document is not None:
        score.db_source = document["source"]
        _score_integrity(score, document["text"], rows, stored)
        cost = snapshot.costs.get(doc_id, {})
        score.prompt_tokens = cost.get("prompt_tokens") or 0
        score.completion_tokens = cost.get("completion_tokens") or 0
        score.llm_seconds = cost.get("llm_seconds") or 0.0
    return score


def _score_salaries(score: DocumentScore, gold: GoldDocument, stored: list[StoredSalary]) -> None:
    required = match_salaries(gold.salaries, stored)
    optional = match_salaries(gold.optional, stored, taken=set(required.values()))
    used = set(required.values()) | set(optional.values())
    extra = [s for j, s in enumerate(stored) if j not in used]
    score.salaries = SalaryScore(
        tp=len(required), fp=len(extra), required=len(gold.salaries), optional_kept=len(optional)
    )
    for i, j in required.items():
        for name, right in attribute_checks(gold.salaries[i], stored[j]).items():
            score.attributes[name] = score.attributes.get(name, Ratio()) + Ratio(hits=int(right), total=1)
    score.missed = [
        _figure(g.bounds, "/".join(g.currency), g.period.value)
        for i, g in enumerate(gold.salaries)
        if i not in required
    ]
    score.extra = [_stored_figure(s) for s in extra]
    score.forbidden_hits = [_stored_figure(s) for s in stored if is_forbidden(s, gold.forbidden)]


def _score_names(score: DocumentScore, gold: GoldDocument, rows: dict[str, list[dict]]) -> None:
    """Recall of every kind with a name rule whose names the gold format lists (certifications, skills)."""
    for k in kinds():
        if k.matcher is None or k.plural not in GoldDocument.model_fields:
            continue
        found = [row[k.name_column] for row in rows[k.view.name]]
        recall, missed = _recall(getattr(gold, k.plural), found, MATCHERS[k.matcher])
        setattr(score, k.plural, recall)
        setattr(score, f"missed_{k.plural}", missed)


def _score_claims(score: DocumentScore, gold: list[GoldClaim], stored: list[dict]) -> None:
    """Claim figure recall (a gold figure found as a stored claim's value or range end, in the same unit when
    both name one), and over the figures found the accuracy of their metric, of their years and of their as_of
    where the gold gives them. Each stored claim matches one gold claim."""
    taken: set[int] = set()
    for claim in gold:
        j = next((j for j, row in enumerate(stored) if j not in taken and claim_matches(claim, row)), None)
        score.claims += Ratio(hits=j is not None, total=1)
        if j is None:
            score.missed_claims.append(f"{claim.figure:g} {claim.unit or ''} {claim.metric}".replace("  ", " "))
            continue
        taken.add(j)
        _score_matched_claim(score, claim, stored[j])


def _score_matched_claim(score: DocumentScore, gold: GoldClaim, row: dict) -> None:
    """The metric, the span of years (both ends as the gold gives them) and the as_of of a found claim."""
    score.claim_metrics += Ratio(hits=row["metric"] == gold.metric, total=1)
    if gold.start_year is not None or gold.end_year is not None:
        same = (row.get("start_year"), row.get("end_year")) == (gold.start_year, gold.end_year)
        score.claim_years += Ratio(hits=same, total=1)
    if gold.as_of_year is not None:
        score.claim_as_of += Ratio(hits=row.get("as_of_year") == gold.as_of_year, total=1)


def claim_matches(gold: GoldClaim, row: dict) -> bool:
    """A stored claim gives a gold figure: its value or range end within 1 %, in the gold unit when both say one. A
    gold figure written with a minus ("-9" for a fall) is the stored value, which is unsigned (its direction down)."""
    if gold.unit and row.get("unit") and gold.unit != row["unit"]:
        return False
    values = [v for v in (row.get("value"), row.get("value_max")) if v is not None]
    return any(math.isclose(v, abs(gold.figure), rel_tol=BOUND_TOLERANCE) for v in values)


def _recall(wanted: list[str], found: list[str], same) -> tuple[Ratio, list[str]]:
    missed = [name for name in wanted if not any(same(name, other) for other in found)]
    return Ratio(hits=len(wanted) - len(missed), total=len(wanted)), missed


def _score_integrity(score: DocumentScore, text: str, rows: dict[str, list[dict]], stored: list[StoredSalary]) -> None:
    """Grounding over every record view, value↔quote agreement of salaries and costs, the money account."""
    spans = [row for view in record_views() for row in rows[view]]
    grounded = sum(text[row["char_start"] : row["char_end"]] == row["quote"] for row in spans)
    score.grounding = Ratio(hits=grounded, total=len(spans))
    stated = [(s.bounds, s.quote, s.header_quote) for s in stored] + [
        ([row["cost_amount"]], row["quote"], None) for row in rows["v_certifications"] if row["cost_amount"] is not None
    ]
    agreeing = sum(all(stated_in(value, quote, header) for value in values) for values, quote, header in stated)
    score.agreement = Ratio(hits=agreeing, total=len(stated))
    score.unaccounted = unaccounted_money(text, rows["v_money"])
    score.not_pay = sum(row["use"] == "not_pay" for row in rows["v_money"])


def stated_in(value: float, quote: str, header: str | None) -> bool:
    """A stored amount is written in its quote, or (a table figure) read again from its row and header span."""
    return amounts_agree(value, quote) or (header is not None and is_written(value, derive(header, quote)))


def unaccounted_money(text: str, accounts: list[dict]) -> list[str]:
    """Money the scan finds in `text` that the stored account (v_money rows) does not hold, or holds as lost;
    each with the reason."""
    by_span = {(row["char_start"], row["char_end"]): row for row in accounts}
    found = []
    scanned = scan_money(text)
    tables = table_money(text, scanned)
    for money in [*without_paired(scanned, tables), *(figure.money for figure in tables)]:
        row = by_span.get((money.start, money.end))
        if row is None:
            found.append(f"{money.text} (no account stored)")
        elif row["use"] == "unaccounted":
            found.append(f"{money.text} ({row['reason']})")
    return found


def _figure(bounds, currency: str, period: str) -> str:
    return f"{currency} {'–'.join(f'{b:,.0f}' for b in bounds)}/{period}"


def _stored_figure(salary: StoredSalary) -> str:
    return f"{_figure(salary.bounds, salary.currency, salary.period)} “{salary.quote}”"


# ---- gold from reviews -------------------------------------------------------------------------------------


def gold_from_reviews(database_url: str) -> Gold:
    """Gold labels for every document with at least one review: its current records (reviews applied) as gold, and
    the bounds of its rejected salaries as forbidden (unless a kept salary has that bound too)."""
    reviewed = _rows(
        database_url,
        "select distinct d.document_id, d.source from v_documents d "
        "join reviews r on r.source = d.source order by d.source",
    )
    snapshot = read_kb(database_url)
    rejected = _rows(database_url, "select source, record from v_reviews where kind = 'salary' and action = 'reject'")
    return Gold(
        about="Exported by kb gold export from the reviewed records of a career-kb database.",
        documents=[_gold_document(row, snapshot, rejected) for row in reviewed],
    )


def _gold_document(document: dict, snapshot: Snapshot, rejected: list[dict]) -> GoldDocument:
    salaries = [_gold_salary(row) for row in snapshot.of("v_salaries", document["document_id"])]
    kept = {bound for salary in salaries for bound in salary.bounds}
    forbidden = sorted(
        {
            bound
            for review in rejected
            if review["source"] == document["source"]
            for bound in _bounds(_record_of(review))
            if not any(math.isclose(bound, k) for k in kept)
        }
    )
    names = {
        k.plural: [row[k.name_column] for row in snapshot.of(k.public_view.name, document["document_id"])]
        for k in kinds()
        if k.plural in ("certifications", "skills")
    }
    claims = [_gold_claim(row) for row in snapshot.of("v_claims", document["document_id"])]
    return GoldDocument(source=document["source"], salaries=salaries, forbidden=forbidden, claims=claims, **names)


def _gold_claim(row: dict) -> GoldClaim | str:
    """A typed claim as a gold figure with its metric; one stored before claims were typed as its statement."""
    if row["metric"] is None or row["value"] is None:
        return row["statement"]
    fields = ("unit", "metric", "subject", "start_year", "end_year", "as_of_year")
    return GoldClaim(figure=row["value"], **{name: row[name] for name in fields})


def _gold_salary(row: dict) -> GoldSalary:
    years = (row["years_min"], row["years_max"]) if (row["years_min"], row["years_max"]) != (None, None) else None
    return GoldSalary(
        currency=[row["currency"]],
        period=row["period"],
        bounds=_bounds(row),
        level=row["level"],
        years=years,
        region=row["region"],
        employer=row["employer"],
        as_of_year=row.get("as_of_year"),
    )


def _bounds(row: dict) -> list[float]:
    return sorted({float(b) for b in (row.get("amount_min"), row.get("amount_max")) if b is not None})


def _record_of(review: dict) -> dict:
    record = review["record"]
    return json.loads(record) if isinstance(record, str) else record  # SQLite hands JSON columns back as text


def write_gold(gold: Gold, out: str | Path) -> None:
    """Write gold labels in the format `load_gold` reads."""
    Path(out).write_text(gold.model_dump_json(indent=2, exclude_defaults=True) + "\n", encoding="utf-8")


def gold_subset(gold_path: str | Path, sources: list[str]) -> dict:
    """The documents of a gold file whose `source` is one of `sources`, exactly as labelled there (every field
    kept), in the order given: a fixed part of a larger gold set (the CI gate) that cannot drift from it."""
    by_source = {document["source"]: document for document in _gold_documents(gold_path)}
    missing = [source for source in sources if source not in by_source]
    if missing:
        raise KBError(f"not in the gold file: {', '.join(missing)}", source=str(gold_path), stage="eval")
    about = f"The documents of {Path(gold_path).name} named by `kb gold subset`, labels unchanged."
    return {"about": about, "documents": [by_source[source] for source in dict.fromkeys(sources)]}


def gold_sources(gold_path: str | Path) -> list[str]:
    """The `source` of every document a gold file labels, in its order."""
    return [document["source"] for document in _gold_documents(gold_path)]


def _gold_documents(gold_path: str | Path) -> list[dict]:
    """A gold file's documents as written (raw JSON), or a clear error naming the file."""
    try:
        documents = json.loads(Path(gold_path).read_text(encoding="utf-8"))["documents"]
        if not all(isinstance(document, dict) and "source" in document for document in documents):
            raise ValueError("every document needs a source")
        return documents
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KBError(f"not a gold file: {exc!r}", source=str(gold_path), stage="eval") from exc


# ---- floors ------------------------------------------------------------------------------------------------


class Floors(BaseModel):
    """Quality floors; None means not enforced."""

    min_salary_f1: float | None = None
    max_forbidden: int | None = None
    min_grounding: float | None = None
    min_agreement: float | None = None
    min_cert_recall: float | None = None
    min_claim_recall: float | None = None
    min_metric_accuracy: float | None = None
    min_as_of: float | None = None
    min_claim_years: float | None = None
    min_claim_as_of: float | None = None
    max_unaccounted: int | None = None


def check_floors(overall: Overall, floors: Floors) -> list[str]:
    """One message per floor not met (a figure with nothing to measure, None, meets any floor)."""
    minimums = [
        ("salary F1", overall.salaries.f1, floors.min_salary_f1),
        ("grounding rate", overall.grounding.rate, floors.min_grounding),
        ("value↔quote agreement", overall.agreement.rate, floors.min_agreement),
        ("certification recall", overall.certifications.rate, floors.min_cert_recall),
        ("claim figure recall", overall.claims.rate, floors.min_claim_recall),
        ("claim metric accuracy", overall.claim_metrics.rate, floors.min_metric_accuracy),
        ("as_of accuracy", overall.attributes.get("as_of_year", Ratio()).rate, floors.min_as_of),
        ("claim years accuracy", overall.claim_years.rate, floors.min_claim_years),
        ("claim as_of accuracy", overall.claim_as_of.rate, floors.min_claim_as_of),
    ]
    failures = [
        f"{name} {value:.4g} < {floor:g}"
        for name, value, floor in minimums
        if floor is not None and value is not None and value < floor
    ]
    if floors.max_forbidden is not None and overall.forbidden_hits > floors.max_forbidden:
        failures.append(f"forbidden hits {overall.forbidden_hits} > {floors.max_forbidden}")
    if floors.max_unaccounted is not None and overall.unaccounted > floors.max_unaccounted:
        failures.append(f"unaccounted money amounts {overall.unaccounted} > {floors.max_unaccounted}")
    return failures


# ---- output ------------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _of(ratio: Ratio) -> str:
    return f"{ratio.hits}/{ratio.total}"


def print_report(report: Report, console: Console | None = None) -> None:
    """A row per document, the overall figures, and what was missed, extra or forbidden."""
    # Piped to a file or a CI log, the per-document table would be folded to 80 columns: give it room.
    console = console or Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    columns = [
        "document",
        "salaries",
        "F1",
        "forbidden",
        "certs",
        "skills",
        "claims",
        "grounded",
        "agree",
        "not pay",
        "lost $",
        "tokens",
        "llm s",
    ]
    rows = [_document_row(d) for d in report.documents]
    print_table(columns, rows, width=50, title="per document", console=console)
    if report.by_kind:
        print_table(
            KIND_COLUMNS,
            [_kind_row(name, o) for name, o in report.by_kind.items()],
            title="per kind of page",
            console=console,
        )
    print_table(["figure", "value"], _overall_rows(report.overall), title="overall", console=console)
    problems = [
        (d.source, kind, item)
        for d in report.documents
        for kind, items in (
            ("missed", d.missed),
            ("extra", d.extra),
            ("FORBIDDEN", d.forbidden_hits),
            ("unaccounted $", d.unaccounted),
            ("missed claim", d.missed_claims),
        )
        for item in items
    ]
    if problems:
        print_table(["document", "kind", "figure"], problems, width=80, title="money to look at", console=console)


def _document_row(d: DocumentScore) -> tuple:
    name = d.source if d.db_source else f"{d.source} (not in DB)"
    salaries = f"{d.salaries.tp}/{d.salaries.required} +{d.salaries.fp}"
    return (
        name,
        salaries,
        _pct(d.salaries.f1),
        len(d.forbidden_hits),
        _of(d.certifications),
        _of(d.skills),
        _of(d.claims),
        _of(d.grounding),
        _of(d.agreement),
        d.not_pay,
        len(d.unaccounted),
        d.prompt_tokens + d.completion_tokens,
        f"{d.llm_seconds:.1f}",
    )


KIND_COLUMNS = ["kind", "docs", "salaries", "precision", "recall", "F1", "forbidden", "certs", "unaccounted $"]


def _kind_row(name: str, o: Overall) -> tuple:
    s = o.salaries
    return (
        name,
        o.documents,
        f"{s.tp}/{s.required} +{s.fp}",
        _pct(s.precision),
        _pct(s.recall),
        _pct(s.f1),
        o.forbidden_hits,
        _of(o.certifications),
        o.unaccounted,
    )


def _overall_rows(o: Overall) -> list[tuple[str, str]]:
    s = o.salaries
    return [
        ("documents found in DB", f"{o.found}/{o.documents}"),
        ("salary precision", f"{_pct(s.precision)} ({s.tp}/{s.tp + s.fp}, {s.optional_kept} optional kept)"),
        ("salary recall", f"{_pct(s.recall)} ({s.tp}/{s.required})"),
        ("salary F1", _pct(s.f1)),
        *((f"attribute accuracy: {name}", f"{_pct(r.rate)} ({_of(r)})") for name, r in o.attributes.items()),
        ("forbidden hits", str(o.forbidden_hits)),
        ("certification recall", f"{_pct(o.certifications.rate)} ({_of(o.certifications)})"),
        ("skill recall", f"{_pct(o.skills.rate)} ({_of(o.skills)})"),
        ("claim figure recall", f"{_pct(o.claims.rate)} ({_of(o.claims)})"),
        ("claim metric accuracy", f"{_pct(o.claim_metrics.rate)} ({_of(o.claim_metrics)})"),
        ("claim years accuracy", f"{_pct(o.claim_years.rate)} ({_of(o.claim_years)})"),
        ("claim as_of accuracy", f"{_pct(o.claim_as_of.rate)} ({_of(o.claim_as_of)})"),
        ("grounding rate", f"{_pct(o.grounding.rate)} ({_of(o.grounding)})"),
        ("value↔quote agreement", f"{_pct(o.agreement.rate)} ({_of(o.agreement)})"),
        ("money amounts classified not pay", str(o.not_pay)),
        ("money amounts unaccounted", str(o.unaccounted)),
        ("tokens: prompt + completion", f"{o.prompt_tokens} + {o.completion_tokens}"),
        ("LLM seconds", f"{o.llm_seconds:.1f}"),
    ]
