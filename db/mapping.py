"""The one place that converts between the pydantic contracts (`schemas/`) and the SQL rows (`db.models`).

Record fields map one to one onto columns with their plain JSON values (enums become 'senior', 'USD',
'year'); a row's `quote` is the provenance quote, the exact span of the article text, not the model's words.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlmodel import SQLModel

from db.kinds import kind
from db.models import Document, ExtractionRow
from schemas.documents import Article, ExtractionStats, Grounded, MoneyAmount, Provenance
from schemas.records import EntityRef

_SPAN_FIELDS = ("quote", "char_start", "char_end", "match")


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; naive values (SQLite gives them back so) are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def article_row(article: Article) -> Document:
    return Document(**article_values(article))


def article_values(article: Article) -> dict:
    """The column values of `article_row` (every column but the id), for a Core INSERT or UPDATE."""
    fields = article.model_dump(exclude={"fetched_at"})
    return {**fields, "fetched_at": utc(article.fetched_at), "content_hash": article.content_hash}


def article_from_row(row: Document) -> Article:
    fields = row.model_dump(include=set(Article.model_fields) - {"fetched_at"})
    return Article(**fields, fetched_at=utc(row.fetched_at))


def record_row(grounded: Grounded, extraction_id: int, entity_id: int | None = None) -> SQLModel:
    """The row for one grounded record; `verified` says the span was checked against the article text."""
    return kind(grounded.kind).table(**record_values(grounded, extraction_id, entity_id))


def record_values(grounded: Grounded, extraction_id: int, entity_id: int | None = None) -> dict:
    """The column values of `record_row` (every column but the id), for inserting many rows in one statement.

    Record fields and row columns match one to one, so a field without a column fails the INSERT loudly.
    """
    fields = grounded.record.model_dump(mode="json", exclude={"quote"})
    span = grounded.provenance.model_dump(include=set(_SPAN_FIELDS))
    if kind(grounded.kind).entity:
        fields["entity_id"] = entity_id
    return {**fields, **span, "extraction_id": extraction_id, "verified": True}


def entity_values(ref: EntityRef) -> dict:
    """The column values of a new entity (every column but the id)."""
    return {"kind": ref.kind, "key": ref.key, "name": ref.name, "category": ref.category, "issuer": ref.issuer}


def money_values(amount: MoneyAmount, extraction_id: int, record_id: int | None, record_kind: str | None) -> dict:
    """The columns of one accounted amount; `record_id` is the row of the record it is a bound or cost of."""
    fields = amount.model_dump(mode="json", exclude={"text", "record"})
    links = {
        "salary_id": record_id if record_kind == "salary" else None,
        "certification_id": record_id if record_kind == "certification" else None,
    }
    return {**fields, **links, "quote": amount.text, "extraction_id": extraction_id}


def grounded_from_row(name: str, row: SQLModel) -> Grounded:
    record_type: type[BaseModel] = kind(name).model
    record = record_type(**row.model_dump(include=set(record_type.model_fields) - {"quote"}), quote=row.quote)
    provenance = Provenance(**row.model_dump(include=set(_SPAN_FIELDS)))
    return Grounded(kind=name, record=record, provenance=provenance)


def extraction_stats(stats: ExtractionStats) -> dict[str, int | float]:
    """The columns of `extractions` that hold what the extract and ground stages spent and dropped."""
    return stats.model_dump(include=set(ExtractionRow.model_fields))
