"""Schema migrations: an ordered list of named functions, each applied once and recorded in `_migrations`.

Add a change by appending a new function with `@migration`; never edit or reorder one that has shipped.
`m001_initial` builds the tables from the current models, so the day a model changes, that change needs its own
migration *and* m001 must be frozen to the DDL it had before (otherwise new databases get the column twice).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, text
from sqlmodel import SQLModel

from db.models import TABLES, Entity, EntityAlias, MoneyRow
from db.session import write_connection
from pipeline.resolve import resolve
from schemas.documents import utcnow

Migration = Callable[[Connection], None]
MIGRATIONS: list[Migration] = []

_CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
)


def migration(fn: Migration) -> Migration:
    """Append `fn` to the ordered list; its name is what `_migrations` records."""
    MIGRATIONS.append(fn)
    return fn


def migrate(engine: Engine) -> list[str]:
    """Apply the migrations not yet recorded, in order, one transaction each; return the names applied."""
    with write_connection(engine) as connection:
        connection.execute(text(_CREATE_LEDGER))
    return [fn.__name__ for fn in MIGRATIONS if _apply_once(engine, fn)]


def applied_migrations(connection: Connection) -> list[str]:
    return list(connection.execute(text("SELECT name FROM _migrations ORDER BY applied_at, name")).scalars())


def _apply_once(engine: Engine, fn: Migration) -> bool:
    # The writer lock is held from the check to the record, so two processes starting at once apply it once.
    with write_connection(engine) as connection:
        if fn.__name__ in applied_migrations(connection):
            return False
        fn(connection)
        connection.execute(
            text("INSERT INTO _migrations (name, applied_at) VALUES (:name, :at)"),
            {"name": fn.__name__, "at": utcnow().isoformat()},
        )
        return True


@migration
def m001_initial(connection: Connection) -> None:
    """Documents, extractors, runs, attempts, extractions, the four record tables and the watch list."""
    SQLModel.metadata.create_all(connection, tables=[model.__table__ for model in TABLES])


@migration
def m002_run_owner(connection: Connection) -> None:
    """runs.pid and runs.host: which process runs a run, so a start only marks dead processes' runs interrupted.

    Idempotent: m001 builds tables from the current models, so a new database already has both columns.
    """
    have = {column["name"] for column in inspect(connection).get_columns("runs")}
    for name, sql_type in (("pid", "INTEGER"), ("host", "VARCHAR")):
        if name not in have:
            connection.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {name} {sql_type}")


# The search index: one row per document text and per record (quotes; claims with their statement), kept in step
# with its table by triggers. Row key = id * 8 + the kind's code, so every table's ids share one key space.
SEARCH_KINDS = {"document": 0, "salary": 1, "skill": 2, "certification": 3, "claim": 4}
_SEARCH_TABLES = {
    "document": ("documents", "COALESCE({row}.title, '') || ' ' || {row}.text"),
    "salary": ("salaries", "{row}.quote"),
    "skill": ("skill_mentions", "{row}.quote"),
    "certification": ("certification_mentions", "{row}.quote"),
    "claim": ("claims", "{row}.statement || ' ' || {row}.quote"),
}


def _updated(kind: str) -> str:
    # A refetch of unchanged text only touches fetched_at and metadata: no reason to index the text again.
    return " OF title, text" if kind == "document" else ""


def _sqlite_search_ddl() -> list[str]:
    statements = [
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "body, kind UNINDEXED, document_id UNINDEXED, record_id UNINDEXED, tokenize = 'porter unicode61')"
    ]
    for kind, (table, body) in _SEARCH_TABLES.items():
        code = SEARCH_KINDS[kind]
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
    for kind, (table, body) in _SEARCH_TABLES.items():
        code = SEARCH_KINDS[kind]
        document = "t.id" if kind == "document" else "(SELECT document_id FROM extractions WHERE id = t.extraction_id)"
        statements += [
            f"CREATE TRIGGER search_{table} AFTER INSERT OR UPDATE{_updated(kind)} OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION kb_search_sync('{kind}', '{code}')",
            "INSERT INTO search_index (key, kind, document_id, record_id, body) "
            f"SELECT t.id::bigint * 8 + {code}, '{kind}', {document}, t.id, {body.format(row='t')} FROM {table} t",
        ]
    return statements


@migration
def m003_search(connection: Connection) -> None:
    """Full-text search over document texts, quotes and claims: FTS5 on SQLite, tsvector + GIN on PostgreSQL."""
    ddl = _postgres_search_ddl() if connection.dialect.name == "postgresql" else _sqlite_search_ddl()
    for statement in ddl:
        connection.exec_driver_sql(statement)


_MENTION_TABLES = {"skill": "skill_mentions", "certification": "certification_mentions"}


@migration
def m004_entities_and_money(connection: Connection) -> None:
    """Entities with aliases for skills and credentials (mentions point at them), and `money_amounts`, the
    account of every money amount an extraction saw. Existing mentions are resolved to entities here.

    Idempotent: m001 builds tables from the current models, so a new database already has all of it.
    """
    new_tables = [Entity.__table__, EntityAlias.__table__, MoneyRow.__table__]
    SQLModel.metadata.create_all(connection, tables=new_tables, checkfirst=True)
    for kind, table in _MENTION_TABLES.items():
        have = {column["name"] for column in inspect(connection).get_columns(table)}
        if "entity_id" not in have:
            connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN entity_id INTEGER REFERENCES entities(id)")
        _link_mentions(connection, kind, table)


def _link_mentions(connection: Connection, kind: str, table: str) -> None:
    """Point every mention of `table` that has no entity yet at its entity, creating entities and aliases."""
    names = connection.execute(text(f"SELECT DISTINCT name FROM {table} WHERE entity_id IS NULL")).scalars().all()
    for name in names:
        ref = resolve(kind, name)
        entity = {"kind": kind, "key": ref.key}
        find_entity = text("SELECT id FROM entities WHERE kind = :kind AND key = :key")
        if connection.execute(find_entity, entity).scalar() is None:
            connection.execute(Entity.__table__.insert().values(**entity, name=ref.name, category=ref.category,
                                                                issuer=ref.issuer))
        alias = {"entity_id": connection.execute(find_entity, entity).scalar(), "alias": " ".join(name.split())}
        find_alias = text("SELECT id FROM entity_aliases WHERE entity_id = :entity_id AND alias = :alias")
        if connection.execute(find_alias, alias).scalar() is None:
            connection.execute(EntityAlias.__table__.insert().values(**alias))
        connection.execute(text(f"UPDATE {table} SET entity_id = :entity_id WHERE name = :name AND entity_id IS NULL"),
                           {"entity_id": alias["entity_id"], "name": name})
