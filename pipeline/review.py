"""Reviews: people accept, reject or correct extracted records, and their verdicts outlive re-extraction.

A review is its own row in `reviews` (who, when, what, the record as it was), never an edit of an extraction row;
the public views apply the latest review attached to each record (db.viewsql.reviewed). When a source is extracted
again, `reattach` points each of its reviews at the new record with the same quote (ties broken by the quote's
surroundings, then by the values), or leaves it orphaned when no record has that quote any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, Engine, func, insert, select, text, update

from db.kinds import RecordKind, kind, kinds
from db.models import Document, MoneyRow, Review
from db.session import write_connection
from pipeline.errors import KBError
from pipeline.money import amounts_agree
from pipeline.vocab import vocabulary
from schemas.records import Claim

KINDS = ("salary", "certification", "skill", "claim")
CONTEXT = 40  # characters either side of a quote kept with its review, to tell equal quotes apart later
NEW = "new since the last review"  # the weakest reason: every record is new after a fresh ingest
_LIMITS = vocabulary().thresholds  # min_yearly_pay decides pay; review_margin says how near to it is near


class ReviewError(KBError):
    """A review that cannot be made: unknown kind or id, a field that cannot be corrected, an invalid value."""

    stage = "review"


class ReviewItem(BaseModel):
    """One record (or, with kind 'amount', one money amount of v_money) as the review queue shows it."""

    kind: str
    record_id: int  # the id column of the kind's public view (v_money's amount_id for an amount)
    document_id: int
    source: str
    values: dict[str, Any]  # the record's current values, as its view shows them
    quote: str
    char_start: int
    char_end: int
    reasons: list[str] = []  # why it needs attention; empty when nothing stands out
    review_status: str = "unreviewed"


class Reattached(BaseModel):
    """What `reattach` did with one source's reviews: how many found their record, which review ids did not."""

    attached: int = 0
    orphaned: list[int] = []


# ---- reading --------------------------------------------------------------------------------------------------


def review_kind(name: str) -> RecordKind:
    """The record kind called `name`, or ReviewError naming the kinds that can be reviewed."""
    try:
        return kind(name)
    except ValueError:
        known = ", ".join(k.name for k in kinds())
        raise ReviewError(f"{name!r} is not a kind of record; use one of {known}") from None


def _rows(connection: Connection, sql: str, **params) -> list[dict]:
    return [dict(row._mapping) for row in connection.execute(text(sql), params)]


def _view_rows(connection: Connection, record: RecordKind, where: str = "", **params) -> list[dict]:
    """Rows of the kind's public view, rejected records included (review_status 'rejected'): a person may change
    their mind, so a rejected record stays reviewable."""
    return _rows(connection, f"SELECT * FROM ({record.review_view.query()}) q {where}", **params)


def document_text(engine: Engine, document_id: int) -> str:
    """The clean text of one stored document (quotes' spans index into it)."""
    with engine.connect() as connection:
        found = connection.execute(select(Document.text).where(Document.id == document_id)).scalar()
    if found is None:
        raise ReviewError(f"no document with id {document_id}")
    return found


def queue(engine: Engine, kind: str | None = None, limit: int | None = None) -> list[ReviewItem]:
    """Records of the public views (and unaccounted or not-pay money amounts, kind 'amount'), unreviewed ones
    first, those with the most reasons to look at them first among those."""
    if kind not in (None, "amount"):
        review_kind(kind)
    with engine.connect() as connection:
        seen = _Seen.read(connection)
        items = [item for k in kinds() if kind in (None, k.name) for item in _items(connection, k, seen)]
        if kind in (None, "amount"):
            items += _amount_items([row for row in seen.money if row["amount_id"] not in seen.marked])
    items.sort(key=_urgency)
    return items[:limit] if limit is not None else items


def _urgency(item: ReviewItem) -> tuple:
    """Unreviewed first; among those, the most reasons other than being new first (after a fresh ingest every
    record is new, so that reason alone must not decide), then the most reasons, then by place."""
    weighty = [reason for reason in item.reasons if reason != NEW]
    return item.review_status != "unreviewed", -len(weighty), -len(item.reasons), item.source, item.char_start


@dataclass
class _Seen:
    """What the queue's reasons are judged against: the money account, amounts marked as pay, when each document
    was last extracted and when the last review was made."""

    money: list[dict]
    marked: set[int]
    extracted: dict[int, object]
    last_review: object

    @classmethod
    def read(cls, connection: Connection) -> _Seen:
        extracted = _rows(
            connection,
            "SELECT document_id, MAX(created_at) AS at FROM extractions WHERE status = 'ok' GROUP BY document_id",
        )
        return cls(
            money=_rows(connection, "SELECT * FROM v_money"),
            marked=set(connection.execute(select(Review.attached_id).where(Review.action == "add")).scalars()),
            extracted={row["document_id"]: row["at"] for row in extracted},
            last_review=connection.execute(select(func.max(Review.created_at))).scalar(),
        )


def _items(connection: Connection, record: RecordKind, seen: _Seen) -> list[ReviewItem]:
    """The rows of one kind's public view, each with the reasons it needs attention."""
    loose = set(
        connection.execute(
            text(f"SELECT id FROM {record.table_name} WHERE \"match\" <> 'exact' OR NOT verified")
        ).scalars()
    )
    items = []
    for row in _view_rows(connection, record):
        record_id, reasons = row[record.id_column], []
        if row["review_status"] == "unreviewed":
            reasons = _reasons(record.name, row, seen.money)
            if record_id in loose:
                reasons.append("its quote was found in the text only after normalising spaces or quotes")
            if seen.last_review is None or _later(seen.extracted.get(row["document_id"]), seen.last_review):
                reasons.append(NEW)
        items.append(_item(record.name, record_id, row, reasons))
    return items


def _later(a, b) -> bool:
    return a is not None and str(a) > str(b)


def _item(kind_name: str, record_id: int, row: dict, reasons: list[str]) -> ReviewItem:
    span = ("document_id", "source", "quote", "char_start", "char_end", "review_status")
    values = {key: value for key, value in row.items() if key not in span and key != kind(kind_name).id_column}
    return ReviewItem(
        kind=kind_name, record_id=record_id, values=values, reasons=reasons, **{key: row[key] for key in span}
    )


def _reasons(kind_name: str, row: dict, money: list[dict]) -> list[str]:
    """Why a salary (or a credential's cost) may be wrong: the model read its amount otherwise, or the figure is
    not written in its quote."""
    reasons = []
    if kind_name == "salary":
        readings = {m["kind"] for m in money if m["salary_id"] == row["salary_id"] and m["kind"] not in (None, "pay")}
        reasons += [f"the model read its amount as {reading}, the rules as pay" for reading in sorted(readings)]
        bounds = [b for b in (row["amount_min"], row["amount_max"]) if b is not None]
        if not all(amounts_agree(b, row["quote"]) for b in bounds):
            reasons.append("an amount is not written in its quote")
        reasons += _near_threshold(row)
    return reasons


def _near_threshold(row: dict) -> list[str]:
    """A yearly figure within `review_margin` of the smallest yearly salary (thresholds.toml): the rules' pay
    decision there could have gone either way."""
    top, least = row["amount_max"] or row["amount_min"], _LIMITS.min_yearly_pay
    if row["period"] != "year" or top is None or abs(top - least) > least * _LIMITS.review_margin:
        return []
    return [f"{top:,.0f} a year is near the smallest yearly salary the rules take as pay ({least:,.0f})"]


def _amount_items(money: list[dict]) -> list[ReviewItem]:
    """Money amounts the extraction left unaccounted, or took for something other than pay."""
    items = []
    for row in money:
        if row["use"] in ("unaccounted", "not_pay"):
            reasons = [f"{row['use'].replace('_', ' ')} money: {row['reason'] or 'no reason given'}"]
            if row["use"] == "not_pay" and row["kind"] == "pay":
                reasons.append("the model read it as pay, the rules as not pay")
            if row["kind"] == "threshold":
                reasons.append("decided on a threshold cue: a limit or cut-off, not pay")
            reasons += _near_threshold(row)
            items.append(_amount_item(row, reasons))
    return items


def _amount_item(row: dict, reasons: list[str]) -> ReviewItem:
    values = {key: row[key] for key in ("currency", "amount_min", "amount_max", "period", "kind", "use", "reason")}
    return ReviewItem(
        kind="amount",
        record_id=row["amount_id"],
        document_id=row["document_id"],
        source=row["source"],
        values=values,
        quote=row["quote"],
        char_start=row["char_start"],
        char_end=row["char_end"],
        reasons=reasons,
    )


# ---- writing --------------------------------------------------------------------------------------------------


def accept(engine: Engine, kind: str, record_id: int, reviewer: str) -> int:
    """Mark a record right as it stands; returns the review's id."""
    return _review(engine, kind, record_id, "accept", reviewer)


def reject(engine: Engine, kind: str, record_id: int, reviewer: str) -> int:
    """Mark a record wrong: it leaves its public view (and the aggregates); returns the review's id."""
    return _review(engine, kind, record_id, "reject", reviewer)


def correct(engine: Engine, kind: str, record_id: int, changes: dict, reviewer: str) -> int:
    """Give a record corrected values (view column → new value), checked by the kind's model; returns the review's
    id. The view then shows the corrected values with review_status 'corrected'."""
    if not changes:
        raise ReviewError("a correction needs at least one changed field")
    return _review(engine, kind, record_id, "correct", reviewer, changes)


def mark_salary(engine: Engine, amount_id: int, changes: dict, reviewer: str) -> int:
    """A not-pay or unaccounted amount of v_money is pay: v_salaries then shows a salary with the amount's span and
    its figures overridden by `changes` (salary fields), with id minus the review's id. Returns the review's id."""
    salary = review_kind("salary")
    if not reviewer or not reviewer.strip():
        raise ReviewError("a review needs a reviewer's name")
    with write_connection(engine) as connection:
        rows = _rows(connection, "SELECT * FROM v_money WHERE amount_id = :id", id=amount_id)
        if not rows:
            raise ReviewError(f"no money amount with amount_id {amount_id} in v_money")
        row = _jsonable(rows[0])
        if row["use"] not in ("not_pay", "unaccounted"):
            raise ReviewError(f"money amount {amount_id} is already used as {row['use']}")
        start = {
            "currency": row["currency"],
            "amount_min": row["amount_min"],
            "amount_max": row["amount_max"],
            "period": row["period"] or "year",
        }
        corrected = _corrected(salary, start | {"quote": row["quote"], "salary_id": amount_id}, changes)
        return _insert_review(connection, "salary", "add", reviewer, row, amount_id, corrected)


def _review(
    engine: Engine, kind_name: str, record_id: int, action: str, reviewer: str, changes: dict | None = None
) -> int:
    """Write one review row of `record_id` as its public view shows it now."""
    record = review_kind(kind_name)
    if not reviewer or not reviewer.strip():
        raise ReviewError("a review needs a reviewer's name")
    with write_connection(engine) as connection:
        rows = _view_rows(connection, record, f"WHERE {record.id_column} = :id", id=record_id)
        if not rows:
            raise ReviewError(f"no {record.name} with {record.id_column} {record_id} in {record.public_view.name}")
        row = _jsonable(rows[0])
        corrected = _corrected(record, row, changes) if changes is not None else None
        return _insert_review(connection, record.name, action, reviewer, row, record_id, corrected)


def _insert_review(
    connection: Connection,
    kind_name: str,
    action: str,
    reviewer: str,
    row: dict,
    record_id: int,
    corrected: dict | None,
) -> int:
    """One review row of the record (or amount) `row`, attached to it, with the text around its quote."""
    document = connection.execute(select(Document.text).where(Document.id == row["document_id"])).scalar_one()
    values = dict(
        kind=kind_name,
        action=action,
        reviewer=reviewer.strip(),
        source=row["source"],
        document_id=row["document_id"],
        record_id=record_id,
        quote=row["quote"],
        char_start=row["char_start"],
        char_end=row["char_end"],
        record=row,
        corrected=corrected,
        attached_id=record_id,
        **_context(document, row["char_start"], row["char_end"]),
    )
    return connection.execute(insert(Review).returning(Review.id), values).scalar_one()


def _context(document: str, start: int, end: int) -> dict[str, str]:
    return {"context_before": document[max(0, start - CONTEXT) : start], "context_after": document[end : end + CONTEXT]}


def _jsonable(row: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()}


def _corrected(record: RecordKind, row: dict, changes: dict) -> dict:
    """The record's correctable view values after `changes`, validated by the kind's model."""
    fields = record.correctable
    if unknown := sorted(set(changes) - set(fields)):
        raise ReviewError(f"cannot correct {', '.join(unknown)} of a {record.name}; correctable: {', '.join(fields)}")
    after = {column: changes[column] if column in changes else row.get(column) for column in fields}
    given = {fields[c]: v for c, v in after.items() if v is not None or c in changes}  # unset: the model's default
    try:
        model = record.model.model_validate(given | {"quote": row["quote"]})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in error.errors())
        raise ReviewError(f"invalid correction of {record.name} {row[record.id_column]}: {problems}") from None
    checked = model.model_dump(mode="json")
    _check_vocabulary(record, model, row[record.id_column])
    return {column: checked[field] for column, field in fields.items()}


def _check_vocabulary(record: RecordKind, model: BaseModel, record_id: Any) -> None:
    """A claim's metric must be one of the vocabulary's (claims.toml): a pattern alone lets a typo in."""
    allowed = vocabulary().claims.metric_names()
    if isinstance(model, Claim) and model.metric not in allowed:
        problem = f"metric {model.metric!r} is not one of {', '.join(allowed)}"
        raise ReviewError(f"invalid correction of {record.name} {record_id}: {problem}")


# ---- re-attachment --------------------------------------------------------------------------------------------


def reattach(connection: Connection, source: str, extraction_id: int, document: str) -> Reattached:
    """Point every review of `source` at the record of `extraction_id` with its quote (the quote's surroundings,
    then the values, then the nearest position decide between equal quotes); orphan those whose quote is gone.
    An 'add' review re-attaches to a money amount; a review of the record it added follows it.

    Runs inside the save's transaction, so the views never show a new extraction with stale attachments."""
    columns = (
        Review.id,
        Review.kind,
        Review.action,
        Review.record_id,
        Review.quote,
        Review.char_start,
        Review.context_before,
        Review.context_after,
        Review.record,
    )
    found = select(*columns).where(Review.source == source).order_by(Review.action != "add", Review.id)
    reviews = [dict(row._mapping) for row in connection.execute(found)]
    result, candidates, added = Reattached(), {}, {}
    for review in reviews:
        table = MoneyRow.__tablename__ if review["action"] == "add" else kind(review["kind"]).table_name
        if table not in candidates:
            candidates[table] = _rows(connection, f"SELECT * FROM {table} WHERE extraction_id = :x", x=extraction_id)
        if review["record_id"] < 0:  # a review of a record a person added: there while its 'add' review is
            match = review["record_id"] if added.get(-review["record_id"]) is not None else None
        else:
            match = _best_match(review, candidates[table], document)
        added[review["id"]] = match
        connection.execute(update(Review).where(Review.id == review["id"]).values(attached_id=match))
        if match is None:
            result.orphaned.append(review["id"])
        else:
            result.attached += 1
    return result


def _best_match(review: dict, candidates: list[dict], document: str) -> int | None:
    """The id of the candidate record with the review's quote that fits it best, or None."""
    same = [c for c in candidates if c["quote"] == review["quote"]]
    if not same:
        return None
    record = review["record"]
    return max(
        same,
        key=lambda c: (
            _same_context(review, c, document),
            _same_values(record, c),
            -abs(c["char_start"] - review["char_start"]),
        ),
    )["id"]


def _same_context(review: dict, candidate: dict, document: str) -> bool:
    around = _context(document, candidate["char_start"], candidate["char_end"])
    return around == {"context_before": review["context_before"], "context_after": review["context_after"]}


def _same_values(record: dict, candidate: dict) -> int:
    """How many of the reviewed record's values (as it was) the candidate row holds too."""
    return sum(1 for key, value in record.items() if key in candidate and key != "id" and candidate[key] == value)
