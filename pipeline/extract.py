"""Extract stage: turn an Article into typed records (salaries, skills, certifications, claims).

The work is split by what each side does well. Deterministic code finds every money figure and reads its
numbers, currency and period (`pipeline.money`), and finds known skills, credentials and numeric claims with
their exact spans (`pipeline.mentions`). The model reads only the lines that hold money figures, each with its
heading or table header, every figure tagged `[M1]`, `[M2]`…; it says what each figure is (pay, or a price,
fee, tuition, revenue) and for which level, and names any further credentials, skills and claims it sees, as
exact phrases. Output is constrained to a pydantic schema through instructor and kept short, because a small
CPU model writes a few tokens a second under a grammar. A phrase that is not in the article is sent back to the
model as a validation error, and dropped (and counted) if the re-asks do not fix it.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import json
import re
import time
from dataclasses import dataclass, field

import instructor
import openai
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, create_model, model_validator

from pipeline import sentences
from pipeline.chunk import Chunk, Line, chunk_text, relevant, split_lines
from pipeline.errors import ExtractError
from pipeline.ground import MARKER, FoldedText, locate
from pipeline.levels import detect_pay_basis, detect_period, names_a_level, parse_level, spans_all_levels
from pipeline.mentions import (
    find_certifications,
    find_claims,
    find_employer,
    find_region,
    find_role,
    find_skills,
    issuer_of,
    skill_category,
)
from pipeline.money import Money, scan_money
from pipeline.retry import Attempts, retry
from pipeline.vocab import any_of, vocabulary
from schemas.documents import Article, Extraction, ExtractionStats, MoneyAmount, MoneyUse
from schemas.records import (
    Certification,
    Claim,
    FigureKind,
    FigureReading,
    Level,
    Period,
    Salary,
    Skill,
)

PROMPT_VERSION = "2026-11-29.3"

SYSTEM_PROMPT = (
    "You read lines of an article about AI-engineering careers. Each money figure is tagged [M1], [M2], ... "
    "right before it. Answer in JSON. For every tag give kind: pay (salary, wage, day or hourly rate, "
    "compensation), price, fee (exam or certification fee), tuition, revenue or other; and level: intern, "
    "entry, junior, mid, senior, staff, lead, principal, executive or unspecified.\n"
    "Then list certifications, skills and claims named in these lines, each copied exactly as written "
    "(short phrases, no tags); use empty lists when there are none."
)
MAX_LIST = {"certifications": 6, "skills": 10, "claims": 4}

# Cue words and thresholds: pipeline/vocabulary/cues.toml and thresholds.toml.
_CUES = vocabulary().cues
# Words that mark a figure as something other than pay, and words that mark it as pay.
_NOT_PAY = re.compile(rf"\b{any_of(_CUES.not_pay)}\b", re.IGNORECASE)
_PAY = re.compile(any_of(_CUES.pay), re.IGNORECASE)
# Text that addresses a model instead of a reader: a page's attempt to steer extraction. Its lines are never
# sent to the model and its money is never pay.
_ADDRESSES_MODEL = re.compile(any_of(_CUES.steering), re.IGNORECASE | re.MULTILINE)
_MIN_YEARLY_PAY = vocabulary().thresholds.min_yearly_pay


@dataclass
class Figure:
    """A money figure with the line it sits in and the line that gives that line meaning."""

    tag: str
    money: Money
    line: Line
    context: Line | None


@dataclass
class ChunkPlan:
    """What one model call reads: the excerpt text with tags, and the figures it must classify."""

    chunk: Chunk
    prompt: str
    figures: list[Figure] = field(default_factory=list)


# The article a reading is checked against, set around each model call by `read_chunk`. Not instructor's
# `context=`: instructor renders every message as a Jinja template when given one, which would eat the
# article's own "{{ … }}" and "{% … %}" (prompt-engineering articles are full of them) or fail on a stray one.
_QUOTE_CHECK: contextvars.ContextVar[dict | None] = contextvars.ContextVar("kb_quote_check", default=None)


def _check_quotes(reading: BaseModel) -> BaseModel:
    """Re-ask when a quote is not in the article; on the last attempt drop the bad items instead."""
    ctx = _QUOTE_CHECK.get()
    if ctx is None:
        return reading
    ctx["validations"] = ctx.get("validations", 0) + 1
    bad = []
    for name in MAX_LIST:
        items = getattr(reading, name)
        kept = [item for item in items if locate(ctx["article"], item, folded=ctx["folded"])]
        bad += [item for item in items if item not in kept]
        if ctx["validations"] > ctx["max_retries"]:
            setattr(reading, name, kept)
    if bad and ctx["validations"] <= ctx["max_retries"]:
        listed = "; ".join(repr(q[:120]) for q in bad[:5])
        raise ValueError(f"these phrases are not in the article: {listed}. Copy each one exactly from the lines")
    ctx["dropped"] = len(bad)
    return reading


@functools.lru_cache(maxsize=256)
def reading_model(tags: tuple[str, ...]) -> type[BaseModel]:
    """The response schema for one chunk: one required reading per tagged figure, then the lists.

    Making every tag a required field means a constrained decoder cannot skip a figure, which small models
    otherwise do when asked for "all salaries". One class per shape, made ready for instructor here: a new
    class per call cost pydantic a model build, and instructor a wrapper class and a JSON schema, every call.
    """
    fields: dict = {}
    if tags:
        fields["figures"] = (create_model("Figures", **{tag: (FigureReading, ...) for tag in tags}), ...)
    for name, most in MAX_LIST.items():
        phrase = Annotated[str, StringConstraints(min_length=2, max_length=300)]
        fields[name] = (list[phrase], Field(default_factory=list, max_length=most))
    model = create_model(
        "ChunkReading",
        __doc__="What the excerpt says: each tagged money figure, then credentials, skills and claims.",
        __validators__={"quotes": model_validator(mode="after")(_check_quotes)},
        **fields,
    )
    return instructor.response_schema(model)  # what instructor would wrap it in on every call otherwise


def plan_chunks(article: Article, money: list[Money], max_chars: int) -> list[ChunkPlan]:
    """Tag each money figure once (in the first chunk holding its line) and render every chunk's excerpt."""
    chunks = chunk_text(article.text, [m.start for m in money], max_chars)
    seen: set[int] = set()
    plans: list[ChunkPlan] = []
    counter = 0
    for chunk in chunks:
        plan = ChunkPlan(chunk=chunk, prompt="")
        rendered = []
        for line in chunk.lines:
            if addresses_model(line.text):
                continue
            inside = [m for m in money if line.start <= m.start < line.end and m.start not in seen]
            for m in inside:
                counter += 1
                seen.add(m.start)
                plan.figures.append(Figure(f"M{counter}", m, line, chunk.context.get(line.start)))
            rendered.append(_tag_line(article.text, line, plan.figures))
        plan.prompt = "\n".join(rendered)
        plans.append(plan)
    return plans


def addresses_model(text: str) -> bool:
    """True for text written to steer an AI reader ("ignore previous instructions", "note to AI assistants")."""
    return _ADDRESSES_MODEL.search(text) is not None


def _steering(text: str, money: list[Money]) -> list[Money]:
    """The money figures that sit in lines addressed to a model."""
    lines = [line for line in split_lines(text) if addresses_model(line.text)]
    return [m for m in money if any(relevant(line, [m.start]) for line in lines)]


def _tag_line(text: str, line: Line, figures: list[Figure]) -> str:
    """The line with `[Mn]` put right before each of its tagged figures."""
    out, pos = [], line.start
    for fig in sorted((f for f in figures if f.line.start == line.start), key=lambda f: f.money.start):
        out.append(text[pos : fig.money.start])
        out.append(f"[{fig.tag}]")
        pos = fig.money.start
    out.append(text[pos : line.end])
    return "".join(out)


# ---------------------------------------------------------------------------------------------- model calls


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    retries: int = 0
    dropped: int = 0


def _api_error(exc: BaseException) -> BaseException:
    """The openai error under instructor's wrapper (instructor re-raises API errors as its own)."""
    while exc.__cause__ is not None and not isinstance(exc, openai.OpenAIError):
        exc = exc.__cause__
    return exc


def _retryable(exc: BaseException) -> bool:
    return isinstance(
        _api_error(exc),
        (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError),
    )


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(_api_error(exc), "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _is_overflow(exc: BaseException) -> bool:
    exc = _api_error(exc)
    return isinstance(exc, openai.BadRequestError) and "context length" in str(exc).lower()


def read_chunk(llm, plan: ChunkPlan, article: Article, settings, usage: Usage, folded: FoldedText) -> BaseModel:
    """One constrained model call for one chunk, with re-asks on bad quotes and retries on transient errors."""
    response_model = reading_model(tuple(f.tag for f in plan.figures))
    ctx = {"article": article.text, "folded": folded, "max_retries": settings.llm_max_retries}
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": plan.prompt},
    ]
    attempts = Attempts()

    def call():
        ctx["validations"] = 0
        checking = _QUOTE_CHECK.set(ctx)  # validation runs in this thread, inside the call
        try:
            return llm.client.chat.completions.create_with_completion(
                model=llm.model,
                response_model=response_model,
                messages=messages,
                max_retries=settings.llm_max_retries,
                temperature=0,
                max_tokens=_max_tokens(plan),
            )
        finally:
            _QUOTE_CHECK.reset(checking)

    clock = llm.model_seconds or time.perf_counter  # time with the model, not queued for a free slot
    started = clock()
    try:
        reading, completion = retry(call, retryable=_retryable, wait_hint=_retry_after, attempts=attempts)
    finally:
        usage.seconds += clock() - started
    usage.calls += attempts.count + max(0, ctx["validations"] - 1)
    usage.retries += attempts.count - 1 + max(0, ctx["validations"] - 1)
    usage.dropped += ctx.get("dropped", 0)
    if completion is not None and getattr(completion, "usage", None) is not None:
        usage.prompt_tokens += completion.usage.prompt_tokens or 0
        usage.completion_tokens += completion.usage.completion_tokens or 0
    return reading


def _max_tokens(plan: ChunkPlan) -> int:
    """Enough room for every figure reading plus the lists; a runaway answer is cut, not waited for."""
    return 160 + 24 * len(plan.figures)


def read_chunk_splitting(llm, plan: ChunkPlan, article, settings, usage, folded) -> list[tuple[ChunkPlan, BaseModel]]:
    """Read a chunk; if it overflows the model's context, split it in two and read the halves."""
    try:
        return [(plan, read_chunk(llm, plan, article, settings, usage, folded))]
    except Exception as exc:
        if not _is_overflow(exc) or len(plan.chunk.lines) < 2:
            raise
    half = len(plan.chunk.lines) // 2
    results = []
    for lines in (plan.chunk.lines[:half], plan.chunk.lines[half:]):
        part = _subplan(plan, lines, article.text)
        results += read_chunk_splitting(llm, part, article, settings, usage, folded)
    return results


def _subplan(plan: ChunkPlan, lines: list[Line], text: str) -> ChunkPlan:
    starts = {line.start for line in lines}
    figures = [f for f in plan.figures if f.line.start in starts]
    prompt = "\n".join(_tag_line(text, line, figures) for line in lines)
    return ChunkPlan(chunk=Chunk(lines=list(lines), context=plan.chunk.context), prompt=prompt, figures=figures)


# ----------------------------------------------------------------------------------------- record assembly


def sentence_around(text: str, line: Line, start: int, end: int) -> tuple[int, int]:
    """Offsets of the sentence of `line` that holds [start, end); table rows are their own sentence."""
    if line.is_table_row:
        return line.start, line.end
    return sentences.sentence_around(text, start, end)


def _clause(text: str, fig: Figure, figures: list[Figure]) -> str:
    """The words that belong to this figure: its sentence, cut at the neighbouring figures of that sentence."""
    s, e = sentence_around(text, fig.line, fig.money.start, fig.money.end)
    for other in figures:
        if other is fig or other.line.start != fig.line.start:
            continue
        if s <= other.money.end <= fig.money.start:
            s = max(s, other.money.end)
        if fig.money.end <= other.money.start < e:
            e = min(e, other.money.start)
    return text[s:e]


def not_pay_reason(fig: Figure, reading: FigureReading, clause: str, context: str) -> str | None:
    """Why a figure is not pay, or None when it is: the model's word, checked by cues (a figure next to
    fee/price words and no pay words is never pay)."""
    if reading.kind is not FigureKind.pay:
        return f"read as {reading.kind.value}"
    window = f"{context} {clause}" if fig.line.is_table_row else clause
    if _NOT_PAY.search(window) and not _PAY.search(window):
        return "price or fee words beside it, no pay words"
    return None


def salary_from(text: str, fig: Figure, reading: FigureReading, figures: list[Figure]) -> tuple[Salary | None, MoneyAmount]:
    """A Salary from one figure (numbers from code, who-it-is-for from both) and the account of the amount:
    a salary bound, or not pay / unaccounted with the reason."""
    amount = _amount(fig.money, kind=reading.kind)
    clause = _clause(text, fig, figures)
    context = fig.context.text if fig.context else ""
    reason = not_pay_reason(fig, reading, clause, context)
    if reason:
        return None, amount.model_copy(update={"use": MoneyUse.not_pay, "reason": reason})
    if fig.money.currency is None:
        return None, amount.model_copy(update={"reason": "read as pay, but no currency is written or implied"})
    level, years_min, years_max = parse_level(clause)
    context_level, context_min, context_max = _context_level(context)
    if years_min is None and years_max is None:
        years_min, years_max = context_min, context_max
    # The model picks among levels the text names (a header "Junior | Mid | Senior" over a row of figures); it
    # never invents one for a figure whose words name none, nor for one said to cover all levels.
    if level is Level.unspecified and not spans_all_levels(clause) and names_a_level(f"{clause}\n{context}"):
        level = reading.level if reading.level is not Level.unspecified else context_level
    period = fig.money.period or detect_period(f"{clause} {context}") or Period.year
    top = fig.money.amount_max or fig.money.amount_min or 0
    if period is Period.year and top < _MIN_YEARLY_PAY:
        return None, amount.model_copy(update={"use": MoneyUse.not_pay, "reason": "too small for a yearly salary"})
    s, e = sentence_around(text, fig.line, fig.money.start, fig.money.end)
    sentence = text[s:e]
    try:
        salary = Salary(
            role=find_role(clause, sentence, context),
            level=level,
            years_min=years_min,
            years_max=years_max,
            region=find_region(clause, sentence, context),
            employer=find_employer(clause, sentence),
            currency=fig.money.currency,
            period=period,
            amount_min=fig.money.amount_min,
            amount_max=fig.money.amount_max,
            open_ended=fig.money.open_ended,
            pay_basis=detect_pay_basis(f"{clause} {context}"),
            quote=sentence.strip(),
        )
    except ValueError as exc:
        return None, amount.model_copy(update={"reason": f"read as pay, but not a valid salary: {_first_error(exc)}"})
    return salary, amount.model_copy(update={"use": MoneyUse.salary})


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


def _amount(money: Money, **fields) -> MoneyAmount:
    """The account entry of a scanned amount; unaccounted until a stage says what it is."""
    return MoneyAmount(
        char_start=money.start, char_end=money.end, text=money.text, currency=money.currency,
        amount_min=money.amount_min, amount_max=money.amount_max, period=money.period, **fields,
    )


def _with_cost(text: str, cert: Certification, fees: dict[int, MoneyAmount]) -> Certification:
    """The cost of a credential: the nearest non-pay figure after its name on the same line, read by code.

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
    return cert.model_copy(update={
        "cost_amount": cost.amount_min, "cost_currency": cost.currency, "quote": text[where.char_start : cost.char_end],
    })


def _model_lists(reading: BaseModel) -> tuple[list[Certification], list[Skill], list[Claim]]:
    """The model's exact phrases as records, named as written (the save stage resolves them to entities)."""
    certs = [Certification(name=p, issuer=issuer_of(p), quote=p) for p in reading.certifications]
    skills = [Skill(name=p, category=skill_category(p), quote=p) for p in reading.skills]
    claims = [Claim(statement=p, quote=p) for p in reading.claims if len(p) >= 5]
    return certs, skills, claims


def _key(kind: str, record: BaseModel) -> tuple:
    if kind in ("skill", "certification"):
        return (kind, record.name.casefold())
    if kind == "claim":
        return (kind, record.quote.casefold())
    return (kind, record.quote, record.amount_min, record.amount_max, record.currency)


def _add(bucket: list, seen: set, kind: str, record: BaseModel) -> None:
    """Append a record unless one with the same key was already found (e.g. in an earlier chunk)."""
    key = _key(kind, record)
    if key not in seen:
        seen.add(key)
        bucket.append(record)


def extract(article: Article, llm, settings) -> Extraction:
    """All records of one article: one constrained model call per chunk of relevant lines.

    Every scanned money amount leaves with an account (salary bound, credential cost, not pay, or unaccounted
    with a reason), so recall lost anywhere on the way is visible.
    """
    money = scan_money(article.text)
    steering = _steering(article.text, money)
    plans = plan_chunks(article, [m for m in money if m not in steering], settings.chunk_chars)
    folded = FoldedText(article.text)
    usage = Usage()
    out = Extraction()
    seen: set = set()
    all_figures = [f for p in plans for f in p.figures]
    amounts = {m.start: _amount(m, reason="in no excerpt the model read") for m in money}
    for m in steering:
        amounts[m.start] = _amount(m, use=MoneyUse.not_pay, reason="in text addressed to an AI model, never pay")
    certs, skills, claims = find_certifications(article.text), find_skills(article.text), find_claims(article.text)
    for plan in plans:
        try:
            results = read_chunk_splitting(llm, plan, article, settings, usage, folded)
        except Exception as exc:  # the model, its client or instructor gave up on this chunk
            raise ExtractError(_describe(exc), source=article.source) from exc
        for part, reading in results:
            for fig in part.figures:
                salary, amounts[fig.money.start] = salary_from(
                    article.text, fig, getattr(reading.figures, fig.tag), all_figures
                )
                if salary is not None:
                    _add(out.salaries, seen, "salary", salary)
            more_certs, more_skills, more_claims = _model_lists(reading)
            certs, skills, claims = certs + more_certs, skills + more_skills, claims + more_claims
    fees = {start: a for start, a in amounts.items() if a.use is MoneyUse.not_pay}
    for cert in certs:
        if _key("certification", cert) not in seen:  # a repeated name must not claim a second cost
            _add(out.certifications, seen, "certification", _with_cost(article.text, cert, fees))
    amounts.update(fees)
    for kind, bucket, items in (("skill", out.skills, skills), ("claim", out.claims, claims)):
        for item in items:
            _add(bucket, seen, kind, item)
    out.amounts = [amounts[start] for start in sorted(amounts)]
    out.stats = ExtractionStats(
        llm_calls=usage.calls,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        llm_seconds=round(usage.seconds, 3),
        retries=usage.retries,
        dropped_ungrounded=usage.dropped,
        not_pay=sum(a.use is MoneyUse.not_pay for a in out.amounts),
    )
    return out


def _describe(exc: BaseException) -> str:
    """A one-line reason for the ledger: the API error under instructor's wrapper, or what failed validation."""
    root = _api_error(exc)
    lines = [line.strip() for line in str(root).strip().splitlines() if line.strip()]
    if isinstance(root, openai.OpenAIError) or root is exc:
        return f"{type(root).__name__}: {lines[0] if lines else ''}"[:500]
    attempts = getattr(exc, "n_attempts", None) or "several"
    return f"invalid model output after {attempts} attempts: {'; '.join(lines[:2])}"[:500]


def extractor_fingerprint(model: str) -> tuple[str, str, str]:
    """(schema hash, prompt version, model): what makes two extractions of the same text comparable. The
    schema hash covers the vocabulary too, so a changed word list re-extracts stored documents."""
    digest = hashlib.sha256(f"{_schema_hash()}:{vocabulary().digest}".encode()).hexdigest()[:16]
    return digest, PROMPT_VERSION, model


@functools.cache
def _schema_hash() -> str:
    """A hash of the record schemas and the prompt, computed once per process (~30 ms of JSON schemas)."""
    schemas = [m.model_json_schema() for m in (FigureReading, Certification, Skill, Claim, Salary)]
    payload = json.dumps({"schemas": schemas, "prompt": SYSTEM_PROMPT}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
