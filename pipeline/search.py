"""Full-text search over the knowledge base: document texts, quotes and claims, one ranked hit per document.

The index (`search_index`, created by migration `m003_search` and kept in step by triggers; a record kind
registered since gets its triggers from `db.kinds.ensure_kinds`) holds every version ever stored; hits are
joined to the public views of every registered kind so that only the latest document of each source and its
latest extraction's records are found. SQLite ranks with FTS5's bm25, PostgreSQL with ts_rank; both mark the matched
words in the snippet with « ».
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel
from sqlalchemy.engine import make_url

from db.kinds import kinds
from db.query import run_readonly
from pipeline.errors import StorageError

MARK_START, MARK_END = "«", "»"

_JOIN_LIVE = """SELECT h.kind, h.document_id, d.source, d.title, h.snippet, h.score
FROM hits h
JOIN live l ON l.kind = h.kind AND l.record_id = h.record_id
JOIN v_documents d ON d.document_id = h.document_id
ORDER BY h.score, h.document_id"""
_SQLITE_HITS = f"""WITH hits AS (
    SELECT kind, CAST(record_id AS INTEGER) AS record_id, CAST(document_id AS INTEGER) AS document_id,
        snippet(search_index, 0, '{MARK_START}', '{MARK_END}', '…', 16) AS snippet, bm25(search_index) AS score
    FROM search_index WHERE search_index MATCH ?
)"""
_POSTGRES_HITS = f"""WITH q AS (SELECT plainto_tsquery('english', %s) AS query),
hits AS (
    SELECT s.kind, s.record_id, s.document_id, -ts_rank(s.tsv, q.query) AS score,
        ts_headline('english', s.body, q.query,
            'StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=24, MinWords=10, MaxFragments=1') AS snippet
    FROM search_index s, q WHERE s.tsv @@ q.query
)"""


def _live() -> str:
    """What is live: the latest documents and the records of their latest extractions, by kind and id (every
    registered kind, through its public view)."""
    records = "".join(f"\n    UNION ALL SELECT '{k.name}', {k.id_column} FROM {k.view.name}" for k in kinds())
    return f"live AS (\n    SELECT 'document' AS kind, document_id AS record_id FROM v_documents{records}\n)"


def search_sql(dialect: str) -> str:
    """The search query for `dialect` ('sqlite' or 'postgresql'), over every registered record kind."""
    hits = _POSTGRES_HITS if dialect == "postgresql" else _SQLITE_HITS
    return f"{hits},\n{_live()}\n{_JOIN_LIVE}"


class Hit(BaseModel):
    """One document that matches: its best snippet and which kinds of rows in it matched."""

    rank: int
    document_id: int
    source: str
    title: str | None
    snippet: str  # from the document text when it matched, else from the best-matching record
    found: list[str]  # 'text' when the document text matched, then the record kinds ('salary', 'claim', ...)


def search(database_url: str, query: str, limit: int = 10) -> list[Hit]:
    """The documents matching every word of `query`, best first (read-only; at most `limit`)."""
    words = _words(query)
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        rows = run_readonly(database_url, search_sql("postgresql"), (" ".join(words),)).rows
    else:
        rows = _sqlite_rows(url.database, search_sql("sqlite"), (fts5_query(query),))
    return _by_document(rows, limit)


def _sqlite_rows(database: str | None, sql: str, params: tuple) -> list[tuple]:
    # Not `run_readonly`: its authorizer (made for users' SQL) refuses the schema parse FTS5 does on first use.
    # This SQL is ours, and the connection is read-only all the same (mode=ro, query_only).
    path = Path(database or "").expanduser().resolve()
    if not database or not path.is_file():
        raise StorageError(f"no database at {path}", stage="search")
    connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        connection.execute("PRAGMA query_only = ON")
        return connection.execute(sql, params).fetchall()
    except sqlite3.Error as error:
        raise StorageError(
            f"search failed: {error} (is the database migrated? run any kb command once)", stage="search"
        ) from error
    finally:
        connection.close()


def fts5_query(query: str) -> str:
    """User words as an FTS5 query: every word required, each quoted so that `C++` or `AWS-ML` is not syntax."""
    return " ".join(f'"{word}"' for word in _words(query))


def _words(query: str) -> list[str]:
    words = re.findall(r"\w+", query)
    if not words:
        raise StorageError(f"nothing to search for in {query!r}", stage="search")
    return words


def _by_document(rows: list[tuple], limit: int) -> list[Hit]:
    hits: dict[int, Hit] = {}
    for kind, document_id, source, title, snippet, _score in rows:  # best score first
        hit = hits.get(document_id)
        if hit is None:
            if len(hits) == limit:
                continue
            hit = hits[document_id] = Hit(
                rank=len(hits) + 1, document_id=document_id, source=source, title=title, snippet=snippet, found=[]
            )
        if kind == "document":  # the text around the words says more than a short quote
            hit.snippet = snippet
        found = "text" if kind == "document" else kind
        if found not in hit.found:
            hit.found.append(found)
    return list(hits.values())


def print_hits(hits: list[Hit], console) -> None:
    """One block per hit: rank, source, what matched there, and the snippet with the matched words in bold."""
    from rich.text import Text

    if not hits:
        console.print("no matches", highlight=False)
    for hit in hits:
        console.print(Text.assemble((f"{hit.rank}. ", "bold"), (hit.source, "cyan"), f"  [{', '.join(hit.found)}]"))
        console.print(_marked(" ".join(hit.snippet.split())))


def _marked(snippet: str):
    from rich.text import Text

    line = Text("   ")
    for i, part in enumerate(re.split(f"{MARK_START}|{MARK_END}", snippet)):
        line.append(part, "bold yellow" if i % 2 else "")  # odd parts sit between the marks
    return line
