"""The values that flow between stages: Page (fetched or read) → Article (clean text) → grounded records."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field, SerializeAsAny

from schemas.records import Certification, Claim, FigureKind, Period, Salary, Skill


def utcnow() -> datetime:
    return datetime.now(UTC)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Page(BaseModel):
    """Raw bytes of one source, as fetched from a URL or read from disk; nothing is parsed yet."""

    source: str = Field(description="The URL or file path exactly as the user gave it")
    url: str | None = None  # final URL after redirects, for web sources
    body: bytes
    content_type: str  # "text/html", "text/plain" or "text/markdown"
    charset: str | None = None  # declared by the server, if any
    fetched_at: datetime = Field(default_factory=utcnow)


class Article(BaseModel):
    """Clean main text of one page plus its metadata. Every offset in career-kb points into `text`."""

    source: str
    url: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None  # ISO date as the page states it
    canonical_url: str | None = None
    fetched_at: datetime = Field(default_factory=utcnow)
    kind: Literal["html", "text", "markdown"] = "html"
    text: str

    @property
    def content_hash(self) -> str:
        return sha256_text(self.text)


class Provenance(BaseModel):
    """Where a record's quote sits in its article's clean text."""

    quote: str
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    match: Literal["exact", "normalized"] = "exact"

    def verify(self, text: str) -> bool:
        return text[self.char_start : self.char_end] == self.quote


class Grounded(BaseModel):
    """A record with its provenance; only grounded records are ever stored.

    `kind` names a registered record kind (see `db.kinds`) and `record` is that kind's model; the save stage refuses
    a kind that is not registered or a record of another model."""

    kind: str = Field(min_length=1)
    record: SerializeAsAny[BaseModel]
    provenance: Provenance


class ExtractionStats(BaseModel):
    """What the extract and ground stages spent and threw away for one article."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0
    retries: int = 0
    dropped_ungrounded: int = 0
    dropped_invalid: int = 0
    not_pay: int = 0  # money figures the extractor classified as prices, fees, costs, revenue ...


class MoneyUse(str, Enum):
    """What became of one money amount found in the text."""

    salary = "salary"  # a bound of a stored salary
    certification_cost = "certification_cost"  # the stored cost of a credential
    not_pay = "not_pay"  # read and classified as something other than pay (price, fee, tuition, revenue ...)
    unaccounted = "unaccounted"  # none of the above: recall was lost here, and `reason` says why
    repeat = "repeat"  # the same salary as one stated elsewhere in the document, stored once (`record` points at it)


class MoneyAmount(BaseModel):
    """One money amount the deterministic scan found in the clean text, and what became of it.

    Every amount of an article gets one, so nothing the scan saw can disappear silently: `kb eval` counts the
    unaccounted ones. `record` is set by the ground stage: the index of the record in
    `GroundedExtraction.records` that this amount is a bound (or the cost) of.
    """

    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    text: str  # the article's own slice: text[char_start:char_end]
    currency: str | None = None
    amount_min: float | None = None
    amount_max: float | None = None
    period: Period | None = None
    kind: FigureKind | None = None  # what the figure is: the model's reading, or the cue words' when they overrule it
    use: MoneyUse = MoneyUse.unaccounted
    reason: str = ""
    record: int | None = None


class Extraction(BaseModel):
    """Records found in one article (quotes not yet located) and what finding them cost."""

    salaries: list[Salary] = Field(default_factory=list)
    skills: list[Skill] = Field(default_factory=list)
    certifications: list[Certification] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    amounts: list[MoneyAmount] = Field(default_factory=list)
    stats: ExtractionStats = Field(default_factory=ExtractionStats)


class GroundedExtraction(BaseModel):
    """The output of the ground stage: every record located in the article text."""

    records: list[Grounded] = Field(default_factory=list)
    amounts: list[MoneyAmount] = Field(default_factory=list)
    stats: ExtractionStats = Field(default_factory=ExtractionStats)
