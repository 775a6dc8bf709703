"""The schema career-kb had when it moved to Alembic (main at e3c8cfa: its own migrations m001-m004).

Revision ID: 0001
Revises: (none)

Frozen: literal table definitions and DDL, nothing imported from db.models or the vocabulary, so this revision
builds the same database forever. It brings any database to that schema by creating only what is missing:

- a new, empty database gets every table, index and the search index;
- a database made before Alembic (it has the ledger `_migrations`) gets what its applied migrations lacked: the
  tables of m004, `runs.pid`/`runs.host` (m002), `entity_id` on the mention tables and their indexes (m004), the
  search index with every existing row indexed (m003). Then the old ledger is dropped.

m004 also pointed old mentions at entities by resolving their names with the vocabulary of the day. A frozen
revision cannot do that (the vocabulary changes, and the same revision would link differently over time), so
mentions stored before entities existed keep `entity_id` NULL: the public views already show such a mention under
the name it was written with (LEFT JOIN entities). They are linked when their document is extracted again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

META = sa.MetaData()
TZ = sa.DateTime(timezone=True)


def _grounded(name: str, *columns: sa.Column) -> sa.Table:
    """A record table: the span columns every grounded record has, then the record's own columns."""
    return sa.Table(
        name,
        META,
        sa.Column(
            "extraction_id", sa.Integer, sa.ForeignKey("extractions.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("quote", sa.Text, nullable=False),
        sa.Column("char_start", sa.Integer, nullable=False),
        sa.Column("char_end", sa.Integer, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("match", sa.String, nullable=False),
        sa.Column("id", sa.Integer, primary_key=True),
        *columns,
        sa.CheckConstraint("\"match\" IN ('exact', 'normalized')", name=f"ck_{name}_match"),
    )


def _tokens(*extra: sa.Column) -> list[sa.Column]:
    names = ("prompt_tokens", "completion_tokens")
    return [
        *extra,
        *(sa.Column(n, sa.Integer, nullable=False) for n in names),
        sa.Column("llm_seconds", sa.Float, nullable=False),
    ]


sa.Table(
    "documents",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.String, nullable=False),
    *(sa.Column(name, sa.String) for name in ("url", "canonical_url", "title", "author", "published")),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("fetched_at", TZ, nullable=False),
    sa.Column("content_hash", sa.String, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.UniqueConstraint("source", "content_hash", name="uq_documents_source_content_hash"),
    sa.Index("ix_documents_source_fetched_at", "source", "fetched_at"),
)
sa.Table(
    "entities",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("key", sa.String, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("category", sa.String),
    sa.Column("issuer", sa.String),
    sa.CheckConstraint("\"kind\" IN ('skill', 'certification')", name="ck_entities_kind"),
    sa.UniqueConstraint("kind", "key", name="uq_entities_kind_key"),
)
sa.Table(
    "extractors",
    META,
    sa.Column("id", sa.String(32), primary_key=True),
    *(sa.Column(name, sa.String, nullable=False) for name in ("schema_hash", "prompt_version", "model")),
    sa.Column("created_at", TZ, nullable=False),
)
sa.Table(
    "runs",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("trigger", sa.String, nullable=False),
    sa.Column("started", TZ, nullable=False),
    sa.Column("finished", TZ),
    sa.Column("status", sa.String, nullable=False),
    *(sa.Column(n, sa.Integer, nullable=False) for n in ("sources_seen", "new", "changed", "unchanged", "failed")),
    *_tokens(),
    sa.Column("flow_run_id", sa.String),
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String),
    sa.CheckConstraint("\"trigger\" IN ('backfill', 'schedule', 'test')", name="ck_runs_trigger"),
    sa.CheckConstraint("\"status\" IN ('running', 'completed', 'failed', 'interrupted')", name="ck_runs_status"),
)
sa.Table(
    "sources",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.String, nullable=False, unique=True),
    sa.Column("every_seconds", sa.Integer),
    sa.Column("cron", sa.String),
    sa.Column("added_at", TZ, nullable=False),
)
sa.Table(
    "attempts",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), index=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("stage", sa.String),
    sa.Column("error", sa.Text),
    *_tokens(sa.Column("attempts", sa.Integer, nullable=False)),
    sa.Column("started", TZ, nullable=False),
    sa.Column("finished", TZ),
    sa.CheckConstraint("\"status\" IN ('ok', 'unchanged', 'failed')", name="ck_attempts_status"),
)
sa.Table(
    "entity_aliases",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entity_id", sa.Integer, sa.ForeignKey("entities.id"), nullable=False, index=True),
    sa.Column("alias", sa.String, nullable=False),
    sa.UniqueConstraint("entity_id", "alias", name="uq_entity_aliases_entity_alias"),
)
sa.Table(
    "extractions",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False, index=True),
    sa.Column("extractor_id", sa.String(32), sa.ForeignKey("extractors.id"), nullable=False, index=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), index=True),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    *_tokens(sa.Column("llm_calls", sa.Integer, nullable=False)),
    *(
        sa.Column(n, sa.Integer, nullable=False)
        for n in ("retries", "dropped_ungrounded", "dropped_invalid", "not_pay")
    ),
    sa.UniqueConstraint("document_id", "extractor_id", name="uq_extractions_document_extractor"),
    sa.CheckConstraint("\"status\" IN ('ok', 'failed')", name="ck_extractions_status"),
)
_grounded(
    "certification_mentions",
    sa.Column("name", sa.String, nullable=False),
    sa.Column("entity_id", sa.Integer, sa.ForeignKey("entities.id"), index=True),
    sa.Column("issuer", sa.String),
    sa.Column("cost_amount", sa.Float),
    sa.Column("cost_currency", sa.String),
)
_grounded("claims", sa.Column("statement", sa.Text, nullable=False))
_grounded(
    "salaries",
    sa.Column("role", sa.String),
    sa.Column("level", sa.String, nullable=False),
    sa.Column("years_min", sa.Float),
    sa.Column("years_max", sa.Float),
    sa.Column("region", sa.String),
    sa.Column("employer", sa.String),
    sa.Column("currency", sa.String, nullable=False),
    sa.Column("period", sa.String, nullable=False),
    sa.Column("amount_min", sa.Float),
    sa.Column("amount_max", sa.Float),
    sa.Column("open_ended", sa.Boolean, nullable=False),
    sa.Column("pay_basis", sa.String, nullable=False),
)
_grounded(
    "skill_mentions",
    sa.Column("name", sa.String, nullable=False),
    sa.Column("category", sa.String, nullable=False),
    sa.Column("entity_id", sa.Integer, sa.ForeignKey("entities.id"), index=True),
)
sa.Table(
    "money_amounts",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "extraction_id", sa.Integer, sa.ForeignKey("extractions.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("char_start", sa.Integer, nullable=False),
    sa.Column("char_end", sa.Integer, nullable=False),
    sa.Column("quote", sa.String, nullable=False),
    sa.Column("currency", sa.String),
    sa.Column("amount_min", sa.Float),
    sa.Column("amount_max", sa.Float),
    sa.Column("period", sa.String),
    sa.Column("kind", sa.String),
    sa.Column("use", sa.String, nullable=False),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("salary_id", sa.Integer, sa.ForeignKey("salaries.id")),
    sa.Column("certification_id", sa.Integer, sa.ForeignKey("certification_mentions.id")),
    sa.CheckConstraint(
        "\"use\" IN ('salary', 'certification_cost', 'not_pay', 'unaccounted')", name="ck_money_amounts_use"
    ),
)

# Columns that pre-Alembic migrations added to tables that already existed: (table, column, DDL type).
LATE_COLUMNS = (
    ("runs", "pid", "INTEGER"),  # m002
    ("runs", "host", "VARCHAR"),  # m002
    ("skill_mentions", "entity_id", "INTEGER REFERENCES entities(id)"),  # m004
    ("certification_mentions", "entity_id", "INTEGER REFERENCES entities(id)"),  # m004
)

# The search index: one row per document text and per record (quotes; claims with their statement), kept in step
# with its table by triggers. Row key = id * 8 + the kind's code, so every table's ids share one key space.
SEARCH_TABLES = {  # kind: (code, table, text indexed)
    "document": (0, "documents", "COALESCE({row}.title, '') || ' ' || {row}.text"),
    "salary": (1, "salaries", "{row}.quote"),
    "skill": (2, "skill_mentions", "{row}.quote"),
    "certification": (3, "certification_mentions", "{row}.quote"),
    "claim": (4, "claims", "{row}.statement || ' ' || {row}.quote"),
}


def upgrade() -> None:
    bind = op.get_bind()
    META.create_all(bind, checkfirst=True)  # a new database: everything; an old one: the tables it lacks
    _add_late_columns(bind)
    for table in META.sorted_tables:
        for index in table.indexes:
            index.create(bind, checkfirst=True)
    if "search_index" not in sa.inspect(bind).get_table_names():
        ddl = _postgres_search_ddl() if bind.dialect.name == "postgresql" else _sqlite_search_ddl()
        for statement in ddl:
            bind.exec_driver_sql(statement)
    bind.exec_driver_sql("DROP TABLE IF EXISTS _migrations")  # the pre-Alembic ledger: alembic_version replaces it


def downgrade() -> None:
    raise NotImplementedError("0001 is career-kb's first schema: there is nothing to go back to")


def _add_late_columns(bind: sa.Connection) -> None:
    """Add the columns a pre-Alembic database lacks because its m002/m004 never ran."""
    for table, column, ddl in LATE_COLUMNS:
        if column not in {c["name"] for c in sa.inspect(bind).get_columns(table)}:
            bind.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")


def _updated(kind: str) -> str:
    # A refetch of unchanged text only touches fetched_at and metadata: no reason to index the text again.
    return " OF title, text" if kind == "document" else ""


def _sqlite_search_ddl() -> list[str]:
    statements = [
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "body, kind UNINDEXED, document_id UNINDEXED, record_id UNINDEXED, tokenize = 'porter unicode61')"
    ]
    for kind, (code, table, body) in SEARCH_TABLES.items():
        document = (
            "{row}.id" if kind == "document" else "(SELECT document_id FROM extractions WHERE id = {row}.extraction_id)"
        )
        insert = (
            "INSERT INTO search_index (rowid, body, kind, document_id, record_id) "
            f"SELECT {{row}}.id * 8 + {code}, {body}, '{kind}', {document}, {{row}}.id"
        )
        delete = f"DELETE FROM search_index WHERE rowid = old.id * 8 + {code}"
        statements += [
            f"CREATE TRIGGER search_{table}_insert AFTER INSERT ON {table} BEGIN {insert.format(row='new')}; END",
            f"CREATE TRIGGER search_{table}_delete AFTER DELETE ON {table} BEGIN {delete}; END",
            f"CREATE TRIGGER search_{table}_update AFTER UPDATE{_updated(kind)} ON {table} "
            f"BEGIN {delete}; {insert.format(row='new')}; END",
            # the rows already there (the FROM makes `t` the row the expressions read)
            insert.format(row="t") + f" FROM {table} t",
        ]
    return statements


_POSTGRES_SEARCH_FUNCTION = """CREATE FUNCTION kb_search_sync() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    kind text := TG_ARGV[0];
    code int := TG_ARGV[1]::int;
    doc jsonb;
    document int;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM search_index WHERE key = OLD.id::bigint * 8 + code;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    doc := to_jsonb(NEW);
    IF kind = 'document' THEN
        document := NEW.id;
    ELSE
        SELECT e.document_id INTO document FROM extractions e WHERE e.id = (doc->>'extraction_id')::int;
    END IF;
    INSERT INTO search_index (key, kind, document_id, record_id, body) VALUES (
        NEW.id::bigint * 8 + code, kind, document, NEW.id,
        CASE kind
            WHEN 'document' THEN COALESCE(doc->>'title', '') || ' ' || (doc->>'text')
            WHEN 'claim' THEN (doc->>'statement') || ' ' || (doc->>'quote')
            ELSE doc->>'quote'
        END);
    RETURN NEW;
END
$fn$"""


def _postgres_search_ddl() -> list[str]:
    statements = [
        "CREATE TABLE search_index (key BIGINT PRIMARY KEY, kind VARCHAR(20) NOT NULL, document_id INTEGER, "
        "record_id INTEGER NOT NULL, body TEXT NOT NULL, "
        "tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED)",
        "CREATE INDEX ix_search_index_tsv ON search_index USING GIN (tsv)",
        _POSTGRES_SEARCH_FUNCTION,
    ]
    for kind, (code, table, body) in SEARCH_TABLES.items():
        document = "t.id" if kind == "document" else "(SELECT document_id FROM extractions WHERE id = t.extraction_id)"
        statements += [
            f"CREATE TRIGGER search_{table} AFTER INSERT OR UPDATE{_updated(kind)} OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION kb_search_sync('{kind}', '{code}')",
            "INSERT INTO search_index (key, kind, document_id, record_id, body) "
            f"SELECT t.id::bigint * 8 + {code}, '{kind}', {document}, t.id, {body.format(row='t')} FROM {table} t",
        ]
    return statements
