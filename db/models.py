"""The SQL tables. They are separate from the pydantic contracts in `schemas/`; `db.mapping` converts.

Enum-like columns hold plain strings ('senior', 'USD', 'year') and are guarded by CHECK constraints where the
set of values belongs to the database layer (run and attempt states, match kinds). Times are stored in UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from schemas.documents import utcnow

RUN_TRIGGERS = ("backfill", "schedule", "test")
RUN_STATUSES = ("running", "completed", "failed", "interrupted")
ATTEMPT_STATUSES = ("ok", "unchanged", "failed")
EXTRACTION_STATUSES = ("ok", "failed")
MATCHES = ("exact", "normalized")
ENTITY_KINDS = ("skill", "certification")
MONEY_USES = ("salary", "certification_cost", "not_pay", "unaccounted", "repeat")
REVIEW_ACTIONS = ("accept", "reject", "correct", "add")  # add: a money amount is pay (record_id: the amount)
RECORD_CHANGES = ("added", "removed", "changed")


def _one_of(table: str, column: str, values: tuple[str, ...]) -> CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f'"{column}" IN ({allowed})', name=f"ck_{table}_{column}")


def _when(**kwargs):
    """A timezone-aware timestamp column (timestamptz on PostgreSQL)."""
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class Document(SQLModel, table=True):
    """One version of one source's clean text; the same source with changed text is a new row."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("source", "content_hash", name="uq_documents_source_content_hash"),
        Index("ix_documents_source_fetched_at", "source", "fetched_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str
    url: str | None = None
    canonical_url: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None
    kind: str
    fetched_at: datetime = _when()  # the latest fetch that returned exactly this text
    content_hash: str
    text: str = Field(sa_type=Text)


class Extractor(SQLModel, table=True):
    """What produced the records: record schemas, prompt and model, identified by a hash of the three."""

    __tablename__ = "extractors"

    id: str = Field(primary_key=True, max_length=32)
    schema_hash: str
    prompt_version: str
    model: str
    created_at: datetime = _when(default_factory=utcnow)


class Run(SQLModel, table=True):
    """One backfill or scheduled pass over a set of sources, with its totals."""

    __tablename__ = "runs"
    __table_args__ = (_one_of("runs", "trigger", RUN_TRIGGERS), _one_of("runs", "status", RUN_STATUSES))

    id: int | None = Field(default=None, primary_key=True)
    trigger: str
    started: datetime = _when(default_factory=utcnow)
    finished: datetime | None = _when(default=None)
    status: str = "running"
    sources_seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0
    flow_run_id: str | None = None
    pid: int | None = None  # the process running it, on `host`: a dead pid means an interrupted run
    host: str | None = None


class Attempt(SQLModel, table=True):
    """What happened to one source in one run, including failures and where they happened."""

    __tablename__ = "attempts"
    __table_args__ = (_one_of("attempts", "status", ATTEMPT_STATUSES),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="runs.id", index=True)
    source: str
    document_id: int | None = Field(default=None, foreign_key="documents.id", index=True)
    status: str
    stage: str | None = None
    error: str | None = Field(default=None, sa_type=Text)
    attempts: int = 1
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0
    started: datetime = _when(default_factory=utcnow)
    finished: datetime | None = _when(default=None)


class ExtractionRow(SQLModel, table=True):
    """One extractor's result for one document: same text and same extractor is always the same row."""

    __tablename__ = "extractions"
    __table_args__ = (
        UniqueConstraint("document_id", "extractor_id", name="uq_extractions_document_extractor"),
        _one_of("extractions", "status", EXTRACTION_STATUSES),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="documents.id", index=True)
    extractor_id: str = Field(foreign_key="extractors.id", index=True, max_length=32)
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    created_at: datetime = _when(default_factory=utcnow)
    status: str = "ok"
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0
    retries: int = 0
    dropped_ungrounded: int = 0
    dropped_invalid: int = 0
    not_pay: int = 0


class GroundedRow(SQLModel):
    """Columns every record table shares: its extraction and the verified span of the article text.

    A record kind's table subclasses it (see `db.kinds`)."""

    extraction_id: int = Field(foreign_key="extractions.id", ondelete="CASCADE", index=True)
    quote: str = Field(sa_type=Text)
    char_start: int
    char_end: int
    verified: bool = True
    match: str = "exact"


class SalaryRow(GroundedRow, table=True):
    __tablename__ = "salaries"
    __table_args__ = (_one_of("salaries", "match", MATCHES),)

    id: int | None = Field(default=None, primary_key=True)
    role: str | None = None
    level: str = "unspecified"
    years_min: float | None = None
    years_max: float | None = None
    region: str | None = None
    employer: str | None = None
    currency: str
    period: str = "year"
    amount_min: float | None = None
    amount_max: float | None = None
    open_ended: bool = False
    pay_basis: str = "unspecified"
    header_quote: str | None = Field(default=None, sa_type=Text)  # a table figure's governing header span
    header_start: int | None = None
    header_end: int | None = None
    statistic: str | None = None  # a table column's statistic (median, p90, range...); NULL outside tables
    as_of_year: int | None = None  # the year the figure refers to (pipeline.asof)
    as_of_month: int | None = None
    as_of_source: str | None = None  # text, published or fetched


class Entity(SQLModel, table=True):
    """One skill or credential, whatever name a page gives it; mentions point here (see pipeline.resolve)."""

    __tablename__ = "entities"
    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_entities_kind_key"),
        _one_of("entities", "kind", ENTITY_KINDS),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    key: str  # the normalised name that decides identity
    name: str  # the canonical name shown by the views
    category: str | None = None  # skills: language, framework, tool ...
    issuer: str | None = None  # credentials: AWS, Microsoft ...


class EntityAlias(SQLModel, table=True):
    """A name an entity was written as in some document: the lineage from page wording to entity."""

    __tablename__ = "entity_aliases"
    __table_args__ = (UniqueConstraint("entity_id", "alias", name="uq_entity_aliases_entity_alias"),)

    id: int | None = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id", index=True)
    alias: str


class SkillRow(GroundedRow, table=True):
    __tablename__ = "skill_mentions"
    __table_args__ = (_one_of("skill_mentions", "match", MATCHES),)

    id: int | None = Field(default=None, primary_key=True)
    name: str  # as written in the document; the entity holds the canonical name
    category: str
    entity_id: int | None = Field(default=None, foreign_key="entities.id", index=True)


class CertificationRow(GroundedRow, table=True):
    __tablename__ = "certification_mentions"
    __table_args__ = (_one_of("certification_mentions", "match", MATCHES),)

    id: int | None = Field(default=None, primary_key=True)
    name: str  # as written in the document; the entity holds the canonical name
    entity_id: int | None = Field(default=None, foreign_key="entities.id", index=True)
    issuer: str | None = None
    cost_amount: float | None = None
    cost_currency: str | None = None


class ClaimRow(GroundedRow, table=True):
    __tablename__ = "claims"
    __table_args__ = (_one_of("claims", "match", MATCHES),)

    id: int | None = Field(default=None, primary_key=True)
    statement: str = Field(sa_type=Text)
    # What a typed claim states (revision 0006); NULL on claims stored before claims were typed.
    metric: str | None = None
    subject: str | None = None
    value: float | None = None
    value_max: float | None = None
    unit: str | None = None
    direction: str | None = None
    start_year: int | None = None
    end_year: int | None = None
    region: str | None = None
    attribution: str | None = None
    as_of_year: int | None = None  # the year the figure refers to (pipeline.asof)
    as_of_month: int | None = None
    as_of_source: str | None = None  # text, published or fetched


class MoneyRow(SQLModel, table=True):
    """One money amount of a document's text and what its extraction made of it: a salary bound, a credential's
    cost, not pay (with the reason), or unaccounted (with the reason)."""

    __tablename__ = "money_amounts"
    __table_args__ = (_one_of("money_amounts", "use", MONEY_USES),)

    id: int | None = Field(default=None, primary_key=True)
    extraction_id: int = Field(foreign_key="extractions.id", ondelete="CASCADE", index=True)
    char_start: int
    char_end: int
    quote: str  # the amount as written: text[char_start:char_end]
    currency: str | None = None
    amount_min: float | None = None
    amount_max: float | None = None
    period: str | None = None
    kind: str | None = None  # the model's reading: pay, price, fee, tuition, revenue, other
    use: str = "unaccounted"
    reason: str = ""
    salary_id: int | None = Field(default=None, foreign_key="salaries.id")
    certification_id: int | None = Field(default=None, foreign_key="certification_mentions.id")


class Source(SQLModel, table=True):
    """A watched source and how often to look at it (seconds or a cron expression)."""

    __tablename__ = "sources"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(unique=True)
    every_seconds: int | None = None
    cron: str | None = None
    added_at: datetime = _when(default_factory=utcnow)


class Review(SQLModel, table=True):
    """A person's verdict on one record: who, when, what, and the record as it was. Extraction rows are never
    edited; the public views apply the latest review attached to each record (see pipeline.review)."""

    __tablename__ = "reviews"
    __table_args__ = (_one_of("reviews", "action", REVIEW_ACTIONS), Index("ix_reviews_source", "source"))

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # a record kind's name (db.kinds)
    action: str
    reviewer: str
    created_at: datetime = _when(default_factory=utcnow)
    source: str
    document_id: int = Field(foreign_key="documents.id")
    record_id: int  # the id the record had when it was reviewed
    quote: str = Field(sa_type=Text)
    char_start: int
    char_end: int
    context_before: str = Field(default="", sa_type=Text)  # the text around the quote: re-attachment compares it
    context_after: str = Field(default="", sa_type=Text)
    record: dict = Field(sa_type=JSON)  # the record's view row as it was reviewed
    corrected: dict | None = Field(default=None, sa_type=JSON)  # a correction: the record's view values after it
    attached_id: int | None = None  # the record it applies to now (re-attached on re-extraction); None: orphaned


class RecordChange(SQLModel, table=True):
    """One record added, removed or changed when a run extracted a source's changed text (see pipeline.changes).

    `before`/`after` are JSON objects of the record's fields; the span is in `document_id`'s text: the old
    document's for a removed record, the new one's otherwise."""

    __tablename__ = "record_changes"
    __table_args__ = (
        _one_of("record_changes", "change", RECORD_CHANGES),
        Index("ix_record_changes_source_recorded_at", "source", "recorded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    source: str
    document_id: int = Field(foreign_key="documents.id")
    kind: str
    change: str
    fields: str | None = None  # the changed fields, comma-separated (changed records only)
    before: str | None = Field(default=None, sa_type=Text)
    after: str | None = Field(default=None, sa_type=Text)
    quote: str = Field(sa_type=Text)
    char_start: int
    char_end: int
    recorded_at: datetime = _when(default_factory=utcnow)


TABLES: tuple[type[SQLModel], ...] = (
    Document,
    Extractor,
    Run,
    Attempt,
    ExtractionRow,
    Entity,
    EntityAlias,
    SalaryRow,
    SkillRow,
    CertificationRow,
    ClaimRow,
    MoneyRow,
    Source,
    Review,
    ClaimRow,
    MoneyRow,
    Source,
    RecordChange,
)
