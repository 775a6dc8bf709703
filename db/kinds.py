"""The registry of record kinds: each kind (salary, skill, certification, claim) is declared here once.

A `RecordKind` names everything the rest of career-kb needs to handle one kind: its pydantic model (the contract
with the LLM), its table, its public view, what the search index holds of it, its colour and label in the report,
how `kb eval` matches gold names against it, and how many the model may list per excerpt. Mapping, save, views,
search, report, eval and export loop over `kinds()` instead of naming kinds, so a kind registered with `register`
(by a user or a test) is stored, viewed, searched and reported with no other edit. The four built-in kinds' tables
come from the migrations; a registered kind's table, search triggers and view are made by `ensure_kinds` (called
on every database start) when they are missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import Connection, inspect
from sqlmodel import SQLModel

from db.models import CertificationRow, ClaimRow, GroundedRow, SalaryRow, SkillRow
from db.viewsql import ENTITY, LATEST, SPAN, View, cols, record_view, records_of, reviewed, with_added
from schemas.records import Certification, Claim, Salary, Skill

SPAN_FIELDS = ("quote", "header_quote", "header_start", "header_end")  # where a record is: grounded, not corrected
SEARCH_CODES = range(1, 8)  # search_index row key = id * 8 + code; 0 is the documents'


@dataclass(frozen=True)
class RecordKind:
    """One kind of grounded record and everything that handles it. The view's first column is the record's id."""

    name: str  # 'salary': Grounded.kind, the search index's kind, the report's CSS class
    plural: str  # 'salaries': the kind's list in an extraction and in the gold labels
    model: type[BaseModel]
    table: type[SQLModel]
    view: View
    label: str  # what the report calls it
    colour: str  # its highlight in the report
    search_code: int  # its key space in search_index (one of SEARCH_CODES, unique)
    search_fields: tuple[str, ...] = ("quote",)  # the columns whose words the search index holds
    list_cap: int | None = None  # most items the model may list per excerpt (None: not listed by the model)
    entity: bool = False  # mentions resolved to an entity (its `entity_id` column)
    name_column: str | None = None  # the view column naming the record, compared with gold names by `kb eval`
    matcher: str | None = None  # the name rule `kb eval` compares with (see pipeline.evaluate.MATCHERS)
    corrections: tuple[tuple[str, str], ...] | None = None  # (view column, model field) a review may correct;
    # None: the view columns named like a model field
    addable: bool = False  # a person may mark a money amount as one (its view then shows those too)

    @property
    def correctable(self) -> dict[str, str]:
        """View column → model field, for every column a person may correct."""
        if self.corrections is not None:
            return dict(self.corrections)
        return {c: c for c in self.view.columns if c in self.model.model_fields and c not in SPAN_FIELDS}

    @property
    def public_view(self) -> View:
        """The view as the public sees it: with reviews applied and a `review_status` column (db.viewsql)."""
        return self._reviewed(keep_rejected=False)

    @property
    def review_view(self) -> View:
        """The public view with rejected records kept (review_status 'rejected'): what a person may review again.
        Not created in the database; pipeline.review runs its query."""
        return self._reviewed(keep_rejected=True)

    def _reviewed(self, keep_rejected: bool) -> View:
        types = {column: self._type(field) for column, field in self.correctable.items()}
        if self.addable:  # an added record's row has every column the view reads (a table cell's header too)
            spans = {c: self._type(c) for c in SPAN_FIELDS[1:] if c in self.view.columns}  # the quote is the amount's
            view = with_added(self.view, self.table_name, self.name, types | spans)
        else:
            view = self.view
        return reviewed(view, self.name, types, keep_rejected)

    def _type(self, field: str) -> str:
        return str(self.table.__table__.c[field].type)

    @property
    def id_column(self) -> str:
        return self.view.columns[0]

    @property
    def table_name(self) -> str:
        return self.table.__tablename__


_KINDS: dict[str, RecordKind] = {}


def kinds() -> tuple[RecordKind, ...]:
    """Every registered kind, built-in ones first, in the order they were registered."""
    return tuple(_KINDS.values())


def kind(name: str) -> RecordKind:
    """The kind called `name`; ValueError naming the registered kinds when there is none."""
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a registered record kind; known: {', '.join(_KINDS)}") from None


def list_caps() -> dict[str, int]:
    """Most items the model may list per excerpt, by the kind's list name ('skills': 10): the extract stage's caps."""
    return {k.plural: k.list_cap for k in kinds() if k.list_cap is not None}


def register(new: RecordKind) -> RecordKind:
    """Add a kind to the registry, after checking that it fits beside the others; returns it."""
    if problems := _problems(new):
        raise ValueError(f"cannot register record kind {new.name!r}: {'; '.join(problems)}")
    _KINDS[new.name] = new
    return new


def unregister(name: str) -> None:
    """Take a registered kind out again (its table and rows stay in the database)."""
    kind(name)
    del _KINDS[name]


def _problems(new: RecordKind) -> list[str]:
    """What would make `new` clash with the registered kinds or not fit its table; empty when it fits."""
    problems = []
    for other in _KINDS.values():
        for what, mine, theirs in (
            ("name", new.name, other.name),
            ("view", new.view.name, other.view.name),
            ("table", new.table_name, other.table_name),
            ("search code", new.search_code, other.search_code),
        ):
            if mine == theirs:
                problems.append(f"its {what} {mine!r} is taken by kind {other.name!r}")
    if new.search_code not in SEARCH_CODES:
        problems.append(f"search code {new.search_code} is not one of {SEARCH_CODES.start}-{SEARCH_CODES.stop - 1}")
    if not new.name.isidentifier():  # it is written into SQL, CSS classes and anchors
        problems.append("its name must be a Python identifier such as tool_price")
    if "quote" not in new.model.model_fields:
        problems.append(f"{new.model.__name__} has no quote field")
    columns = set(new.table.__table__.columns.keys())
    needed = (set(new.model.model_fields) - {"quote"}) | set(GroundedRow.model_fields)
    if missing := sorted(needed - columns):
        problems.append(f"table {new.table_name} has no column for {', '.join(missing)}")
    if unknown := sorted(set(new.search_fields) - columns):
        problems.append(f"search fields {', '.join(unknown)} are not columns of {new.table_name}")
    return problems


def ensure_kinds(connection: Connection) -> list[str]:
    """Create the table and search triggers of every registered kind whose table is missing; the tables made.

    The built-in kinds' tables come from the migrations, so this only makes tables of kinds registered since.
    """
    made = [k for k in kinds() if not inspect(connection).has_table(k.table_name)]
    for new in made:
        new.table.__table__.create(connection)
        for statement in search_ddl(new, connection.dialect.name):
            connection.exec_driver_sql(statement)
    return [k.table_name for k in made]


def search_ddl(record: RecordKind, dialect: str) -> list[str]:
    """Triggers that keep search_index in step with one kind's table (see migration m003_search)."""
    table, code = record.table_name, record.search_code
    if dialect == "postgresql":
        fields = ", ".join(f"'{field}'" for field in record.search_fields)
        return [
            _POSTGRES_SYNC,
            f"CREATE TRIGGER search_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION kb_search_sync_record('{record.name}', '{code}', {fields})",
        ]
    body = " || ' ' || ".join(f"COALESCE(new.\"{field}\", '')" for field in record.search_fields)
    insert = (
        "INSERT INTO search_index (rowid, body, kind, document_id, record_id) "
        f"SELECT new.id * 8 + {code}, {body}, '{record.name}', "
        "(SELECT document_id FROM extractions WHERE id = new.extraction_id), new.id"
    )
    delete = f"DELETE FROM search_index WHERE rowid = old.id * 8 + {code}"
    return [
        f"CREATE TRIGGER search_{table}_insert AFTER INSERT ON {table} BEGIN {insert}; END",
        f"CREATE TRIGGER search_{table}_delete AFTER DELETE ON {table} BEGIN {delete}; END",
        f"CREATE TRIGGER search_{table}_update AFTER UPDATE ON {table} BEGIN {delete}; {insert}; END",
    ]


# The trigger function of registered kinds on PostgreSQL: arguments are the kind, its code and the fields to index.
_POSTGRES_SYNC = """CREATE OR REPLACE FUNCTION kb_search_sync_record() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    code int := TG_ARGV[1]::int;
    doc jsonb;
    body text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM search_index WHERE key = OLD.id::bigint * 8 + code;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    doc := to_jsonb(NEW);
    FOR i IN 2 .. TG_NARGS - 1 LOOP
        body := concat_ws(' ', body, doc->>TG_ARGV[i]);
    END LOOP;
    INSERT INTO search_index (key, kind, document_id, record_id, body)
    SELECT NEW.id::bigint * 8 + code, TG_ARGV[0], e.document_id, NEW.id, COALESCE(body, '')
    FROM extractions e WHERE e.id = NEW.extraction_id;
    RETURN NEW;
END
$fn$"""


# ---- the built-in kinds ------------------------------------------------------------------------------------

_MENTION = (("document_id", "d.id"), ("source", "d.source"))
AS_OF = ("as_of_year", "as_of_month", "as_of_source")  # when a figure applies (pipeline.asof)

register(
    RecordKind(
        name="salary",
        plural="salaries",
        model=Salary,
        table=SalaryRow,
        label="salary",
        colour="#ffd966",
        search_code=1,
        name_column="role",
        addable=True,
        view=record_view(
            "v_salaries",
            "salaries",
            "salary_id",
            (
                "role",
                "level",
                "years_min",
                "years_max",
                "region",
                "employer",
                "currency",
                "period",
                "amount_min",
                "amount_max",
                "open_ended",
                "pay_basis",
                "header_quote",
                "header_start",
                "header_end",
                "statistic",
                *AS_OF,
            ),
        ),
    )
)
register(
    RecordKind(
        name="certification",
        plural="certifications",
        model=Certification,
        table=CertificationRow,
        label="certification",
        colour="#b7ccff",
        search_code=3,
        list_cap=6,
        entity=True,
        name_column="certification",
        matcher="credential",
        corrections=(
            ("certification", "name"),
            ("issuer", "issuer"),
            ("cost_amount", "cost_amount"),
            ("cost_currency", "cost_currency"),
        ),
        view=View(
            "v_certifications",
            (
                ("mention_id", "r.id"),
                *_MENTION,
                ("certification", "COALESCE(e.name, r.name)"),
                ("as_written", "r.name"),
                ("entity_id", "r.entity_id"),
                ("issuer", "COALESCE(e.issuer, r.issuer)"),
            )
            + cols("r", "cost_amount", "cost_currency")
            + SPAN,
            records_of("certification_mentions") + ENTITY,
            LATEST,
        ),
    )
)
register(
    RecordKind(
        name="skill",
        plural="skills",
        model=Skill,
        table=SkillRow,
        label="skill",
        colour="#a8e6b8",
        search_code=2,
        list_cap=10,
        entity=True,
        name_column="skill",
        matcher="skill",
        corrections=(("skill", "name"), ("category", "category")),
        view=View(
            "v_skills",
            (
                ("mention_id", "r.id"),
                *_MENTION,
                ("skill", "COALESCE(e.name, r.name)"),
                ("as_written", "r.name"),
                ("entity_id", "r.entity_id"),
                ("category", "COALESCE(e.category, r.category)"),
            )
            + SPAN,
            records_of("skill_mentions") + ENTITY,
            LATEST,
        ),
    )
)
register(
    RecordKind(
        name="claim",
        plural="claims",
        model=Claim,
        table=ClaimRow,
        label="claim",
        colour="#f4b8e0",
        search_code=4,
        search_fields=("statement", "quote"),
        list_cap=4,
        name_column="statement",
        view=record_view(
            "v_claims",
            "claims",
            "claim_id",
            (
                "metric",
                "subject",
                "value",
                "value_max",
                "unit",
                "direction",
                "start_year",
                "end_year",
                "region",
                "attribution",
                *AS_OF,
                "statement",
            ),
        ),
    )
)
