"""The model call of the extract stage: one constrained call per excerpt, with instructor's re-asks on bad
phrases, retries on transient API errors, a split in two when an excerpt overflows the model's context, and
the accounting of calls, tokens, model time and retries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import openai
from instructor.core import IncompleteOutputException
from pydantic import BaseModel

from pipeline.examples import ReviewExamples
from pipeline.figures import ChunkPlan, subplan
from pipeline.ground import FoldedText
from pipeline.reading import EXAMPLES_TEMPLATE, EXCERPT_TEMPLATE, SYSTEM_PROMPT, QuoteCheck, reading_model
from pipeline.retry import Attempts, retry


@dataclass
class Usage:
    """What one document's model calls cost: calls (re-asks included), tokens, seconds, retries, drops."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    retries: int = 0
    dropped: int = 0
    invalid: int = 0  # phrases the model listed that no record can hold


def api_error(exc: BaseException) -> BaseException:
    """The openai error under instructor's wrapper (instructor re-raises API errors as its own)."""
    while exc.__cause__ is not None and not isinstance(exc, openai.OpenAIError):
        exc = exc.__cause__
    return exc


def _retryable(exc: BaseException) -> bool:
    return isinstance(
        api_error(exc),
        (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError),
    )


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(api_error(exc), "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _is_overflow(exc: BaseException) -> bool:
    """The chunk is too big for one answer: its prompt overflows the model's context, or its answer reached its
    token budget (instructor's IncompleteOutputException); each half of it fits."""
    exc = api_error(exc)
    too_long = isinstance(exc, openai.BadRequestError) and "context length" in str(exc).lower()
    return too_long or isinstance(exc, IncompleteOutputException)


def read_chunk(
    llm, plan: ChunkPlan, text: str, settings, usage: Usage, folded: FoldedText, examples: ReviewExamples | None = None
) -> BaseModel:
    """One constrained model call for one chunk, with re-asks on bad quotes and retries on transient errors;
    reviewed figures like the chunk's go with it as examples when `examples` are given (KB_REVIEW_EXAMPLES)."""
    response_model = reading_model(tuple(f.tag for f in plan.figures))
    shown = examples.for_plan(plan, settings.review_examples) if examples else ""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": EXCERPT_TEMPLATE}]
    if shown:  # a template variable like the excerpt, so a quote's own braces reach the model as written
        messages.insert(1, {"role": "system", "content": EXAMPLES_TEMPLATE})
    attempts = Attempts()
    checks: list[QuoteCheck] = []  # one per attempt: each attempt's re-asks start from zero

    def call():
        checks.append(QuoteCheck(text, folded, settings.llm_max_retries))
        return llm.client.chat.completions.create_with_completion(
            model=llm.model,
            response_model=response_model,
            messages=messages,
            context=checks[-1].context(plan.prompt) | {"examples": shown},
            max_retries=settings.llm_max_retries,
            temperature=0,
            max_tokens=_max_tokens(plan),
        )

    clock = llm.model_seconds or time.perf_counter  # time with the model, not queued for a free slot
    started = clock()
    endpoint = llm.endpoint
    try:
        reading, completion = retry(
            call,
            retryable=lambda exc: _retryable(exc) and not (endpoint and endpoint.is_down()),  # down: no retry
            wait_hint=_retry_after,
            attempts=attempts,
        )
    finally:
        usage.seconds += clock() - started
    _count(usage, attempts, checks[-1], completion)
    return reading


def _count(usage: Usage, attempts: Attempts, check: QuoteCheck, completion) -> None:
    """Add one chunk's calls, re-asks, drops and tokens to the document's usage."""
    reasks = max(0, check.validations - 1)
    usage.calls += attempts.count + reasks
    usage.retries += attempts.count - 1 + reasks
    usage.dropped += check.dropped
    if completion is not None and getattr(completion, "usage", None) is not None:
        usage.prompt_tokens += completion.usage.prompt_tokens or 0
        usage.completion_tokens += completion.usage.completion_tokens or 0


def _max_tokens(plan: ChunkPlan) -> int:
    """Enough room for every figure reading plus the lists; a runaway answer is cut, not waited for. The lists
    (credentials, skills, claims) grow with the lines sent, so the figures there the model is not asked about
    count too: a chunk of many such lines may list more than it reads."""
    return 160 + 24 * (len(plan.figures) + len(plan.unasked))


def read_chunk_splitting(
    llm,
    plan: ChunkPlan,
    text: str,
    settings,
    usage: Usage,
    folded: FoldedText,
    examples: ReviewExamples | None = None,
) -> list[tuple[ChunkPlan, BaseModel]]:
    """Read a chunk; if it overflows the model's context, split it in two and read the halves."""
    try:
        return [(plan, read_chunk(llm, plan, text, settings, usage, folded, examples))]
    except Exception as exc:
        if not _is_overflow(exc) or len(plan.chunk.lines) < 2:
            raise
    half = len(plan.chunk.lines) // 2
    results = []
    for lines in (plan.chunk.lines[:half], plan.chunk.lines[half:]):
        results += read_chunk_splitting(llm, subplan(plan, lines, text), text, settings, usage, folded, examples)
    return results


def describe(exc: BaseException) -> str:
    """A one-line reason for the ledger: the API error under instructor's wrapper, or what failed validation."""
    root = api_error(exc)
    lines = [line.strip() for line in str(root).strip().splitlines() if line.strip()]
    if isinstance(root, openai.OpenAIError) or root is exc:
        return f"{type(root).__name__}: {lines[0] if lines else ''}"[:500]
    attempts = getattr(exc, "n_attempts", None) or "several"
    return f"invalid model output after {attempts} attempts: {'; '.join(lines[:2])}"[:500]
