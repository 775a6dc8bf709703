"""The save stage: one article and its grounded records into the database, in one transaction.

Writes are idempotent and keyed by content: the same source with the same text is one document, the same
document with the same extractor is one extraction. Saving an extraction that already exists *replaces* its
records (the newest run's result wins, the extraction keeps its id). A record whose quote is not exactly
`article.text[char_start:char_end]` is refused and nothing of the document is written: only grounded records
are ever stored. Also here: the run bookkeeping the flows need (runs, attempts, incremental checks).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from db.mapping import ENTITY_KINDS, RECORD_TABLES, article_row, entity_row, extraction_stats, money_values, record_values, utc
from db.models import Attempt, Document, Entity, EntityAlias, ExtractionRow, Extractor, MoneyRow, Run
from db.session import write_session
from pipeline.errors import StorageError
from pipeline.resolve import resolve
from schemas.documents import Article, Grounded, GroundedExtraction, MoneyAmount, sha256_text, utcnow
from schemas.records import RECORD_TYPES

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


def save(
    engine: Engine,
    article: Article,
    grounded: GroundedExtraction,
    extractor: ExtractorVersion,
    run_id: int | None = None,
) -> SaveResult:
    """Upsert the document, extractor and extraction and write every record, all in one transaction."""
    with _writing(engine, "save", article.source) as session:
        document, state = _upsert_document(session, article)
        if session.get(Extractor, extractor.id) is None:
            session.add(Extractor(**extractor.model_dump(), id=extractor.id))
        extraction, created = _upsert_extraction(session, document.id, extractor.id, run_id, grounded)
        counts = _insert_records(session, article, extraction.id, grounded)
        return SaveResult(
            document_id=document.id, extraction_id=extraction.id, created=created, document=state, counts=counts
        )


def touch_document(engine: Engine, article: Article) -> tuple[int, str]:
    """Record a fetch of text that needs no new extraction: refresh its metadata and fetch time.

    Keeps "latest document of a source" right when a page changes back to text already stored (A → B → A).
    """
    with _writing(engine, "save", article.source) as session:
        document, state = _upsert_document(session, article)
        return document.id, state


def latest_extraction(engine: Engine, source: str, content_hash: str, extractor_id: str) -> int | None:
    """The id of the successful extraction of this exact text by this extractor, if one exists."""
    query = (
        select(ExtractionRow.id)
        .join(Document, Document.id == ExtractionRow.document_id)
        .where(Document.source == source, Document.content_hash == content_hash)
        .where(ExtractionRow.extractor_id == extractor_id, ExtractionRow.status == "ok")
    )
    with _reading(engine, "look up extractions", source) as session:
        return session.exec(query).first()


def start_run(engine: Engine, trigger: Trigger, flow_run_id: str | None = None) -> int:
    """Record a new run in state 'running' and return its id."""
    with _writing(engine, "start a run") as session:
        run = Run(trigger=trigger, flow_run_id=flow_run_id, pid=os.getpid(), host=socket.gethostname())
        session.add(run)
        session.flush()
        return run.id


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
    with _writing(engine, "finish a run") as session:
        run = session.get(Run, run_id)
        if run is None:
            raise StorageError(f"no run with id {run_id}")
        run.sqlmodel_update({**totals, **spent, "status": status, "finished": utcnow()})
        session.add(run)


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
    with _writing(engine, "record an attempt", source) as session:
        attempt = Attempt(**fields, **spent, **times, document_id=document_id)
        session.add(attempt)
        session.flush()
        return attempt.id


def mark_interrupted_runs(engine: Engine, *, started_before: datetime | None = None) -> int:
    """Runs left 'running' by a process that is gone become 'interrupted'; returns how many.

    Call it on start. A run is only judged on the host that runs it: there, a pid that is no longer alive
    means the process was killed. Runs of other hosts, and of live processes here, are left alone. Runs
    recorded before pids were (pid NULL) count as interrupted, unless they started after `started_before`.
    """
    host = socket.gethostname()
    with _writing(engine, "mark interrupted runs") as session:
        running = session.exec(select(Run.id, Run.pid, Run.host, Run.started).where(Run.status == "running")).all()
        dead = [run_id for run_id, pid, on, started in running
                if (pid is None and (started_before is None or utc(started) < utc(started_before)))
                or (pid is not None and on == host and not _alive(pid))]
        if not dead:
            return 0
        query = update(Run).where(Run.id.in_(dead)).values(status="interrupted", finished=utcnow())
        return session.connection().execute(query).rowcount


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
def _session(engine: Engine, doing: str, source: str | None, *, write: bool) -> Iterator[Session]:
    """A session (a locked write transaction, or a plain read) whose database errors become StorageError."""
    try:
        with write_session(engine) if write else Session(engine) as session:
            yield session
    except SQLAlchemyError as error:
        raise StorageError(f"could not {doing}: {_reason(error)}", source=source) from error


def _writing(engine: Engine, doing: str, source: str | None = None):
    return _session(engine, doing, source, write=True)


def _reading(engine: Engine, doing: str, source: str | None = None):
    return _session(engine, doing, source, write=False)


def _reason(error: SQLAlchemyError) -> str:
    # The driver's message, not SQLAlchemy's, which would repeat the statement and its parameters (the text).
    return str(getattr(error, "orig", None) or error).strip()


def _upsert_document(session: Session, article: Article) -> tuple[Document, str]:
    """The row for this source and text (its metadata refreshed from the newest fetch) and what it was."""
    row = article_row(article)
    same_text = Document.source == row.source, Document.content_hash == row.content_hash
    existing = session.exec(select(Document).where(*same_text)).first()
    if existing is None:
        known_source = session.exec(select(Document.id).where(Document.source == row.source)).first()
        session.add(row)
        session.flush()
        return row, "new" if known_source is None else "changed"
    if row.fetched_at >= utc(existing.fetched_at):
        metadata = ("url", "canonical_url", "title", "author", "published", "kind", "fetched_at")
        existing.sqlmodel_update(row.model_dump(include=set(metadata)))
        session.add(existing)
    return existing, "unchanged"


def _upsert_extraction(
    session: Session, document_id: int, extractor_id: str, run_id: int | None, grounded: GroundedExtraction
) -> tuple[ExtractionRow, bool]:
    """The extraction for this document and extractor, emptied of its old records if it already existed."""
    row = session.exec(
        select(ExtractionRow).where(
            ExtractionRow.document_id == document_id, ExtractionRow.extractor_id == extractor_id
        )
    ).first()
    created = row is None
    if created:
        row = ExtractionRow(document_id=document_id, extractor_id=extractor_id)
    else:
        for table in (MoneyRow, *RECORD_TABLES.values()):  # amounts first: they point at salaries and credentials
            session.connection().execute(delete(table).where(table.extraction_id == row.id))
    row.sqlmodel_update({**extraction_stats(grounded.stats), "run_id": run_id, "created_at": utcnow(), "status": "ok"})
    session.add(row)
    session.flush()
    return row, created


def _insert_records(
    session: Session, article: Article, extraction_id: int, grounded: GroundedExtraction
) -> dict[str, int]:
    """Every record (skills and credentials linked to their entities), then every money amount's account: one
    multi-row INSERT per table; the ids of salaries and credentials come back for the amounts that point at them."""
    for item in grounded.records:
        _refuse_ungrounded(article, item)
    for amount in grounded.amounts:
        _refuse_misplaced(article, amount)
    entity_ids = _entity_ids(session, {(i.kind, i.record.name) for i in grounded.records if i.kind in ENTITY_KINDS})
    indexes: dict[str, list[int]] = {kind: [] for kind in RECORD_TABLES}
    for index, item in enumerate(grounded.records):
        indexes[item.kind].append(index)
    row_ids: dict[int, int] = {}
    for kind, positions in indexes.items():
        values = [record_values(grounded.records[i], extraction_id, _entity_of(entity_ids, grounded.records[i]))
                  for i in positions]
        row_ids |= dict(zip(positions, _insert_many(session, RECORD_TABLES[kind], values)))
    money = [money_values(a, extraction_id, row_ids.get(a.record), _kind_of(grounded, a.record)) for a in grounded.amounts]
    _insert_many(session, MoneyRow, money, ids=False)
    return {kind: len(positions) for kind, positions in indexes.items()}


def _entity_of(entity_ids: dict[tuple[str, str], int], item: Grounded) -> int | None:
    return entity_ids.get((item.kind, item.record.name)) if item.kind in ENTITY_KINDS else None


def _kind_of(grounded: GroundedExtraction, index: int | None) -> str | None:
    return grounded.records[index].kind if index is not None else None


def _insert_many(session: Session, table, values: list[dict], ids: bool = True) -> list[int]:
    """One multi-row INSERT; the new rows' ids in the order of `values` when asked (RETURNING, SQLite ≥ 3.35)."""
    if not values:
        return []
    if not ids:
        session.connection().execute(insert(table), values)
        return []
    statement = insert(table).returning(table.id, sort_by_parameter_order=True)
    return list(session.connection().execute(statement, values).scalars())


def _entity_ids(session: Session, mentions: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(kind, name as written) → entity id, creating missing entities and aliases; three queries per save."""
    refs = {(kind, name): resolve(kind, name) for kind, name in mentions}
    if not refs:
        return {}
    keys = {(ref.kind, ref.key) for ref in refs.values()}
    found = session.exec(select(Entity).where(Entity.key.in_({key for _, key in keys}))).all()
    by_key = {(e.kind, e.key): e for e in found if (e.kind, e.key) in keys}
    missing = {key: entity_row(ref) for ref in refs.values() if (key := (ref.kind, ref.key)) not in by_key}
    session.add_all(missing.values())
    session.flush()
    by_key |= missing
    ids = {written: by_key[(ref.kind, ref.key)].id for written, ref in refs.items()}
    _add_aliases(session, {(ids[written], " ".join(written[1].split())) for written in refs})
    return ids


def _add_aliases(session: Session, wanted: set[tuple[int, str]]) -> None:
    entity_ids = {entity_id for entity_id, _ in wanted}
    have = session.exec(
        select(EntityAlias.entity_id, EntityAlias.alias).where(EntityAlias.entity_id.in_(entity_ids))
    ).all()
    session.add_all(EntityAlias(entity_id=e, alias=a) for e, a in wanted - set(map(tuple, have)))


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
    if not isinstance(item.record, RECORD_TYPES[item.kind]):
        found = type(item.record).__name__
        raise StorageError(f"a {item.kind} record holds a {found}", source=article.source)
    if not span.quote or span.char_end > len(article.text) or not span.verify(article.text):
        found = article.text[span.char_start : span.char_end]
        raise StorageError(
            f"refusing an ungrounded {item.kind}: text[{span.char_start}:{span.char_end}] is {found!r}, "
            f"not the quote {span.quote!r}",
            source=article.source,
        )
