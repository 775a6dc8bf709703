"""The save stage: one article and its grounded records into the database, in one transaction.

Writes are idempotent and keyed by content: the same source with the same text is one document, the same
document with the same extractor is one extraction. Saving an extraction that already exists *replaces* its
records (the newest run's result wins, the extraction keeps its id). A record whose quote is not exactly
`article.text[char_start:char_end]` is refused and nothing of the document is written: only grounded records
are ever stored. New text for a known source also records what changed, record by record (pipeline.changes). Also
here: the run bookkeeping the flows need (runs, attempts, incremental checks).
"""

from __future__ import annotations

import functools
import os
import socket
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, Delete, Engine, Insert, Select, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from db.kinds import kind, kinds
from db.mapping import (
    article_values,
    entity_values,
    extraction_stats,
    money_values,
    record_values,
    utc,
)
from db.models import Attempt, Document, Entity, EntityAlias, ExtractionRow, Extractor, MoneyRow, Run
from db.session import write_connection
from pipeline.changes import record_changes
from pipeline.errors import StorageError
from pipeline.resolve import resolve
from pipeline.review import reattach
from schemas.documents import Article, Grounded, GroundedExtraction, MoneyAmount, sha256_text, utcnow

Trigger = Literal["backfill", "schedule", "test"]
RunStatus = Literal["running", "completed", "failed", "interrupted"]
AttemptStatus = Literal["ok", "unchanged", "failed"]


class ExtractorVersion(BaseModel):
    """What made the records: a hash of the record schemas, the prompt's version and the model's name."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    schema_hash: str
    prompt_version: str
    model: str

    @property
    def id(self) -> str:
        """Short content hash of the three parts: equal versions share one `extractors` row."""
        return sha256_text("\x1f".join((self.schema_hash, self.prompt_version, self.model)))[:16]


class SaveResult(BaseModel):
    """Where one article went. `created` is False when an existing extraction's records were replaced."""

    document_id: int
    extraction_id: int
    created: bool
    document: Literal["new", "changed", "unchanged"]  # a new source, new text for a known source, known text
    counts: dict[str, int]  # records written, by kind ('salary', 'skill', 'certification', 'claim')
    orphaned_reviews: list[int] = []  # reviews of the source whose quote no new record has (pipeline.review)


class LedgerEntry(BaseModel):
    """The `attempts` row of a source that `save` (or `touch_document`) writes in its own transaction: one commit
    per document instead of two. The status, the document and the finish time come from that write."""

    run_id: int
    source: str  # as the run was given it, which is not always the article's source
    started: datetime
    attempts: int = 1
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0

    def values(self, status: AttemptStatus, document_id: int) -> dict:
        """The row's column values, for the save that ends with `status` on `document_id`."""
        return {
            **self.model_dump(),
            "started": utc(self.started),
            "finished": utcnow(),
            "status": status,
            "stage": None,
            "error": None,
            "document_id": document_id,
        }


# Statements built once: SQLAlchemy then reuses their compiled form, where a statement built per call costs more
# to build and to look up in the cache than the database takes to run it. Values travel as bound parameters.
_METADATA = ("url", "canonical_url", "title", "author", "published", "kind", "fetched_at")
_DOCUMENT_OF_SOURCE = (  # this source's row with this text if there is one, else any row of the source
    select(Document.id, Document.content_hash, *(Document.__table__.c[name] for name in _METADATA))
    .where(Document.source == bindparam("source"))
    .order_by((Document.content_hash == bindparam("content_hash")).desc())
    .limit(1)
)
_INSERT_DOCUMENT = insert(Document).returning(Document.id)
_UPDATE_DOCUMENT = update(Document).where(Document.id == bindparam("document_id"))
_LATEST_EXTRACTION = (
    select(ExtractionRow.id)
    .join(Document, Document.id == ExtractionRow.document_id)
    .where(Document.source == bindparam("source"), Document.content_hash == bindparam("content_hash"))
    .where(ExtractionRow.extractor_id == bindparam("extractor_id"), ExtractionRow.status == "ok")
)
_STORED_SOURCES = select(Document.source).distinct().where(Document.source.in_(bindparam("sources", expanding=True)))
STORED_SOURCES_BATCH = 500  # sources per query: well under SQLite's and PostgreSQL's parameter limits
_FIND_EXTRACTOR = select(Extractor.id).where(Extractor.id == bindparam("extractor_id"))
_INSERT_EXTRACTOR = insert(Extractor)
_FIND_EXTRACTION = select(ExtractionRow.id).where(
    ExtractionRow.document_id == bindparam("document_id"), ExtractionRow.extractor_id == bindparam("extractor_id")
)
_INSERT_EXTRACTION = insert(ExtractionRow).returning(ExtractionRow.id)
_UPDATE_EXTRACTION = update(ExtractionRow).where(ExtractionRow.id == bindparam("extraction_id"))


@dataclass(frozen=True)
class _TableStatements:
    """The statements that write one record table (or money_amounts), built once per table."""

    delete: Delete
    insert: Insert
    insert_returning_ids: Insert  # the new ids in the order of the parameters (RETURNING, SQLite ≥ 3.35)
    max_id: Select


@functools.cache
def _statements(table) -> _TableStatements:
    return _TableStatements(
        delete(table).where(table.extraction_id == bindparam("extraction_id")),
        insert(table),
        insert(table).returning(table.id, sort_by_parameter_order=True),
        select(func.max(table.id)),
    )


def _record_tables() -> list:
    """Money amounts first, then every registered kind's table: amounts point at salaries and credentials."""
    return [MoneyRow, *(k.table for k in kinds())]


_FIND_ENTITIES = select(Entity.kind, Entity.key, Entity.id).where(Entity.key.in_(bindparam("keys", expanding=True)))
_INSERT_ENTITIES = insert(Entity).returning(Entity.id, sort_by_parameter_order=True)
_FIND_ALIASES = select(EntityAlias.entity_id, EntityAlias.alias).where(
    EntityAlias.entity_id.in_(bindparam("entity_ids", expanding=True))
)
_INSERT_ALIASES = insert(EntityAlias)
_INSERT_ATTEMPT = insert(Attempt).returning(Attempt.id)


@dataclass
class _Committed:
    """Rows of one database that this process saw committed and that career-kb never changes or deletes, so later
    saves need not look for them: extractors by id, and for each mention (kind, name as written) its entity's id,
    whose alias row of that wording exists too. Filled only after a save commits; it grows with the vocabulary."""

    extractors: set[str] = field(default_factory=set)
    mentions: dict[tuple[str, str], int] = field(default_factory=dict)


_COMMITTED: weakref.WeakKeyDictionary[Engine, _Committed] = weakref.WeakKeyDictionary()


def save(
    engine: Engine,
    article: Article,
    grounded: GroundedExtraction,
    extractor: ExtractorVersion,
    run_id: int | None = None,
    ledger: LedgerEntry | None = None,
) -> SaveResult:
    """Upsert the document, extractor and extraction and write every record, all in one transaction; with a
    `ledger` entry, the source's 'ok' attempt row too. Ungrounded records are refused before anything is written."""
    _refuse_any_ungrounded(article, grounded)
    committed = _COMMITTED.setdefault(engine, _Committed())
    with _writing(engine, "save", article.source) as connection:
        document_id, state = _upsert_document(connection, article)
        _ensure_extractor(connection, committed, extractor)
        extraction_id, created = _upsert_extraction(connection, document_id, state, extractor.id, run_id, grounded)
        entity_ids = _entity_ids(connection, committed, grounded)
        counts = _insert_records(connection, extraction_id, grounded, entity_ids)
        reviews = reattach(connection, article.source, extraction_id, article.text)
        if state == "changed":
            record_changes(connection, article.source, document_id, extraction_id, run_id)
        if ledger is not None:
            connection.execute(_INSERT_ATTEMPT, ledger.values("ok", document_id))
    committed.extractors.add(extractor.id)
    committed.mentions.update(entity_ids)
    return SaveResult(
        document_id=document_id,
        extraction_id=extraction_id,
        created=created,
        document=state,
        counts=counts,
        orphaned_reviews=reviews.orphaned,
    )


def touch_document(engine: Engine, article: Article, ledger: LedgerEntry | None = None) -> tuple[int, str]:
    """Record a fetch of text that needs no new extraction: refresh its metadata and fetch time (and, with a
    `ledger` entry, write the source's 'unchanged' attempt row in the same transaction).

    Keeps "latest document of a source" right when a page changes back to text already stored (A → B → A).
    """
    with _writing(engine, "save", article.source) as connection:
        document_id, state = _upsert_document(connection, article)
        if ledger is not None:
            connection.execute(_INSERT_ATTEMPT, ledger.values("unchanged", document_id))
        return document_id, state


def latest_extraction(engine: Engine, source: str, content_hash: str, extractor_id: str) -> int | None:
    """The id of the successful extraction of this exact text by this extractor, if one exists."""
    wanted = {"source": source, "content_hash": content_hash, "extractor_id": extractor_id}
    with _reading(engine, "look up extractions", source) as connection:
        return connection.execute(_LATEST_EXTRACTION, wanted).scalar()


def stored_sources(engine: Engine, sources: list[str]) -> set[str]:
    """Those of `sources` that have any document stored, in one query per STORED_SOURCES_BATCH sources."""
    found: set[str] = set()
    with _reading(engine, "look up sources") as connection:
        for first in range(0, len(sources), STORED_SOURCES_BATCH):
            batch = sources[first : first + STORED_SOURCES_BATCH]
            found.update(connection.execute(_STORED_SOURCES, {"sources": batch}).scalars())
    return found


def start_run(engine: Engine, trigger: Trigger, flow_run_id: str | None = None) -> int:
    """Record a new run in state 'running' and return its id."""
    run = dict(trigger=trigger, flow_run_id=flow_run_id, pid=os.getpid(), host=socket.gethostname())
    with _writing(engine, "start a run") as connection:
        return connection.execute(insert(Run).returning(Run.id), run).scalar_one()


def finish_run(
    engine: Engine,
    run_id: int,
    status: RunStatus,
    *,
    sources_seen: int = 0,
    new: int = 0,
    changed: int = 0,
    unchanged: int = 0,
    failed: int = 0,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    llm_seconds: float = 0.0,
) -> None:
    """Close a run with its final status and totals."""
    totals = dict(sources_seen=sources_seen, new=new, changed=changed, unchanged=unchanged, failed=failed)
    spent = dict(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, llm_seconds=llm_seconds)
    closing = update(Run).where(Run.id == run_id).values(**totals, **spent, status=status, finished=utcnow())
    with _writing(engine, "finish a run") as connection:
        if connection.execute(closing).rowcount == 0:
            raise StorageError(f"no run with id {run_id}")


def record_attempt(
    engine: Engine,
    run_id: int,
    source: str,
    status: AttemptStatus,
    stage: str | None = None,
    error: str | None = None,
    attempts: int = 1,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    llm_seconds: float = 0.0,
    started: datetime | None = None,
    finished: datetime | None = None,
    document_id: int | None = None,
) -> int:
    """Record what happened to one source in one run (failures too: stage and error say where and why)."""
    fields = dict(run_id=run_id, source=source, status=status, stage=stage, error=error, attempts=attempts)
    spent = dict(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, llm_seconds=llm_seconds)
    times = dict(started=utc(started or utcnow()), finished=utc(finished or utcnow()))
    row = {**fields, **spent, **times, "document_id": document_id}
    with _writing(engine, "record an attempt", source) as connection:
        return connection.execute(_INSERT_ATTEMPT, row).scalar_one()


def mark_interrupted_runs(engine: Engine, *, started_before: datetime | None = None) -> int:
    """Runs left 'running' by a process that is gone become 'interrupted'; returns how many.

    Call it on start. A run is only judged on the host that runs it: there, a pid that is no longer alive
    means the process was killed. Runs of other hosts, and of live processes here, are left alone. Runs
    recorded before pids were (pid NULL) count as interrupted, unless they started after `started_before`.
    """
    host = socket.gethostname()
    with _writing(engine, "mark interrupted runs") as connection:
        running = connection.execute(select(Run.id, Run.pid, Run.host, Run.started).where(Run.status == "running"))
        dead = [
            run_id
            for run_id, pid, on, started in running
            if (pid is None and (started_before is None or utc(started) < utc(started_before)))
            or (pid is not None and on == host and not _alive(pid))
        ]
        for run_id in dead:  # what each saw: the ledger rows its sources wrote before it ended
            totals = {"status": "interrupted", "finished": utcnow(), **_ledger_totals(connection, run_id)}
            connection.execute(update(Run).where(Run.id == run_id).values(**totals))
        return len(dead)


def _ledger_totals(connection: Connection, run_id: int) -> dict:
    """A run's counts as its `attempts` rows tell them (new and changed are not in the ledger)."""
    row = connection.execute(
        select(
            func.count(),
            func.count().filter(Attempt.status == "unchanged"),
            func.count().filter(Attempt.status == "failed"),
            func.coalesce(func.sum(Attempt.prompt_tokens), 0),
            func.coalesce(func.sum(Attempt.completion_tokens), 0),
            func.coalesce(func.sum(Attempt.llm_seconds), 0.0),
        ).where(Attempt.run_id == run_id)
    ).one()
    names = ("sources_seen", "unchanged", "failed", "prompt_tokens", "completion_tokens", "llm_seconds")
    return dict(zip(names, row, strict=True))


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (signal 0 checks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


@contextmanager
def _storage_errors(doing: str, source: str | None) -> Iterator[None]:
    """Database errors (the commit's too) become StorageError."""
    try:
        yield
    except SQLAlchemyError as error:
        raise StorageError(f"could not {doing}: {_reason(error)}", source=source) from error


@contextmanager
def _writing(engine: Engine, doing: str, source: str | None = None) -> Iterator[Connection]:
    """A locked write transaction (see `db.session`): it commits when the block ends, else rolls back."""
    with _storage_errors(doing, source), write_connection(engine) as connection:
        yield connection


@contextmanager
def _reading(engine: Engine, doing: str, source: str | None = None) -> Iterator[Connection]:
    """A plain connection for reads (no writer lock)."""
    with _storage_errors(doing, source), engine.connect() as connection:
        yield connection


def _reason(error: SQLAlchemyError) -> str:
    # The driver's message, not SQLAlchemy's, which would repeat the statement and its parameters (the text).
    return str(getattr(error, "orig", None) or error).strip()


def _upsert_document(connection: Connection, article: Article) -> tuple[int, str]:
    """The id of the row for this source and text (its metadata refreshed from the newest fetch) and what it was.

    One query answers both "is this text stored" and "is this source known". Only metadata that changed is
    written: an UPDATE naming `title` would make the search index re-read the whole text.
    """
    row = article_values(article)
    wanted = {"source": row["source"], "content_hash": row["content_hash"]}
    existing = connection.execute(_DOCUMENT_OF_SOURCE, wanted).first()
    if existing is None or existing.content_hash != row["content_hash"]:
        document_id = connection.execute(_INSERT_DOCUMENT, row).scalar_one()
        return document_id, "new" if existing is None else "changed"
    if row["fetched_at"] >= utc(existing.fetched_at):
        stored = existing._mapping
        changed = {name: row[name] for name in _METADATA if row[name] != stored[name]}
        if changed:
            connection.execute(_UPDATE_DOCUMENT, {**changed, "document_id": existing.id})
    return existing.id, "unchanged"


def _ensure_extractor(connection: Connection, committed: _Committed, extractor: ExtractorVersion) -> None:
    """Store the extractor's row unless this process already saw it committed (or finds it stored)."""
    if extractor.id in committed.extractors:
        return
    if connection.execute(_FIND_EXTRACTOR, {"extractor_id": extractor.id}).first() is None:
        connection.execute(_INSERT_EXTRACTOR, {**extractor.model_dump(), "id": extractor.id})


def _upsert_extraction(
    connection: Connection,
    document_id: int,
    document: str,
    extractor_id: str,
    run_id: int | None,
    grounded: GroundedExtraction,
) -> tuple[int, bool]:
    """The extraction for this document and extractor, emptied of its old records if it already existed.

    A document that was not stored before this save ("new", "changed") cannot have one: no need to look."""
    values = {**extraction_stats(grounded.stats), "run_id": run_id, "created_at": utcnow(), "status": "ok"}
    keys = {"document_id": document_id, "extractor_id": extractor_id}
    extraction_id = connection.execute(_FIND_EXTRACTION, keys).scalar() if document == "unchanged" else None
    if extraction_id is None:
        return connection.execute(_INSERT_EXTRACTION, {**values, **keys}).scalar_one(), True
    for table in _record_tables():
        connection.execute(_statements(table).delete, {"extraction_id": extraction_id})
    connection.execute(_UPDATE_EXTRACTION, {**values, "extraction_id": extraction_id})
    return extraction_id, False


def _insert_records(
    connection: Connection, extraction_id: int, grounded: GroundedExtraction, entity_ids: dict[tuple[str, str], int]
) -> dict[str, int]:
    """Every record (skills and credentials linked to their entities), then every money amount's account: one
    INSERT per table. Only the tables whose rows an amount points at send their new ids back."""
    linked = {amount.record for amount in grounded.amounts if amount.record is not None}
    indexes: dict[str, list[int]] = {k.name: [] for k in kinds()}
    for index, item in enumerate(grounded.records):
        indexes[item.kind].append(index)
    row_ids: dict[int, int] = {}
    for name, positions in indexes.items():
        values = [
            record_values(grounded.records[i], extraction_id, _entity_of(entity_ids, grounded.records[i]))
            for i in positions
        ]
        ids = _insert_many(connection, kind(name).table, values, ids=not linked.isdisjoint(positions))
        row_ids |= dict(zip(positions, ids, strict=False))
    money = [
        money_values(a, extraction_id, row_ids.get(a.record), _kind_of(grounded, a.record)) for a in grounded.amounts
    ]
    _insert_many(connection, MoneyRow, money, ids=False)
    return {name: len(positions) for name, positions in indexes.items()}


def _entity_of(entity_ids: dict[tuple[str, str], int], item: Grounded) -> int | None:
    return entity_ids.get((item.kind, item.record.name)) if kind(item.kind).entity else None


def _kind_of(grounded: GroundedExtraction, index: int | None) -> str | None:
    return grounded.records[index].kind if index is not None else None


def _insert_many(connection: Connection, table, values: list[dict], ids: bool = True) -> list[int]:
    """One INSERT of many rows; the new rows' ids in the order of `values` when asked."""
    if not values:
        return []
    if not ids:
        connection.execute(_statements(table).insert, values)
        return []
    if connection.dialect.name == "sqlite" and len(values) > 2:
        # On SQLite, RETURNING ids in the rows' order means one INSERT per row. This transaction holds the writer
        # lock (BEGIN IMMEDIATE), so the ids SQLite would give, one past the largest, can be given here instead.
        first = (connection.execute(_statements(table).max_id).scalar() or 0) + 1
        connection.execute(_statements(table).insert, [{**row, "id": first + n} for n, row in enumerate(values)])
        return list(range(first, first + len(values)))
    return list(connection.execute(_statements(table).insert_returning_ids, values).scalars())


def _entity_ids(
    connection: Connection, committed: _Committed, grounded: GroundedExtraction
) -> dict[tuple[str, str], int]:
    """(kind, name as written) → entity id for every skill and credential mentioned; wordings this process has not
    seen committed are looked up, with their entities and aliases created where missing."""
    mentions = {(item.kind, item.record.name) for item in grounded.records if kind(item.kind).entity}
    known = {mention: committed.mentions[mention] for mention in mentions if mention in committed.mentions}
    return known | _look_up_entities(connection, mentions - known.keys())


def _look_up_entities(connection: Connection, mentions: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(kind, name as written) → entity id, creating missing entities and aliases; two queries when every entity
    and alias exists, and an INSERT for whatever is new."""
    refs = {(kind, name): resolve(kind, name) for kind, name in mentions}
    if not refs:
        return {}
    keys = {(ref.kind, ref.key) for ref in refs.values()}
    found = connection.execute(_FIND_ENTITIES, {"keys": sorted({key for _, key in keys})})
    by_key = {(kind, key): entity_id for kind, key, entity_id in found if (kind, key) in keys}
    missing = {key: entity_values(ref) for ref in refs.values() if (key := (ref.kind, ref.key)) not in by_key}
    if missing:
        by_key |= zip(missing, connection.execute(_INSERT_ENTITIES, list(missing.values())).scalars(), strict=False)
    ids = {written: by_key[(ref.kind, ref.key)] for written, ref in refs.items()}
    _add_aliases(connection, {(ids[written], " ".join(written[1].split())) for written in refs})
    return ids


def _add_aliases(connection: Connection, wanted: set[tuple[int, str]]) -> None:
    have = connection.execute(_FIND_ALIASES, {"entity_ids": sorted({entity_id for entity_id, _ in wanted})})
    new = wanted - {(entity_id, alias) for entity_id, alias in have}
    if new:
        connection.execute(_INSERT_ALIASES, [{"entity_id": e, "alias": a} for e, a in new])


def _refuse_any_ungrounded(article: Article, grounded: GroundedExtraction) -> None:
    """StorageError for the first record or money amount that is not exactly its span of the article text."""
    for item in grounded.records:
        _refuse_ungrounded(article, item)
    for amount in grounded.amounts:
        _refuse_misplaced(article, amount)


def _refuse_misplaced(article: Article, amount: MoneyAmount) -> None:
    """StorageError unless the amount's text is exactly its span of the article text."""
    if article.text[amount.char_start : amount.char_end] != amount.text:
        raise StorageError(
            f"refusing a money amount {amount.text!r} that is not text[{amount.char_start}:{amount.char_end}]",
            source=article.source,
        )


def _refuse_ungrounded(article: Article, item: Grounded) -> None:
    """StorageError unless the record is of its declared kind and its quote is exactly its span of the text."""
    span = item.provenance
    try:
        model = kind(item.kind).model
    except ValueError as error:
        raise StorageError(str(error), source=article.source) from None
    if not isinstance(item.record, model):
        found = type(item.record).__name__
        raise StorageError(f"a {item.kind} record holds a {found}", source=article.source)
    if not span.quote or span.char_end > len(article.text) or not span.verify(article.text):
        found = article.text[span.char_start : span.char_end]
        raise StorageError(
            f"refusing an ungrounded {item.kind}: text[{span.char_start}:{span.char_end}] is {found!r}, "
            f"not the quote {span.quote!r}",
            source=article.source,
        )
