"""Full-text search: the index follows the tables through triggers, hits are ranked per document, only latest rows.

Built like tests/test_views_aggregate.py (hand-made grounded records saved with `pipeline.save.save`); set
KB_TEST_POSTGRES_URL to run on PostgreSQL too (tsvector + GIN instead of FTS5).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from db.engine import init_db, make_engine
from pipeline.cli import main
from pipeline.errors import StorageError
from pipeline.save import save
from pipeline.search import fts5_query, search
from tests.test_views_aggregate import RECORDS, T0, TEXT_B, V1, A, B, article, extraction


def build(engine) -> str:
    for offset, source in enumerate(RECORDS):
        save(engine, article(source, T0 + timedelta(minutes=offset)), extraction(source), V1)
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def engine(blank_engine):
    return blank_engine


@pytest.fixture
def url(engine) -> str:
    init_db(engine)
    return build(engine)


@pytest.mark.parametrize(
    "words, expected",
    [
        ("voucher", [(B, ["text"])]),  # only in B's text
        ("pytorch", [(B, ["skill", "text"])]),  # B's text and its skill quote
        ("databases", []),
        ("certified costs", [(B, ["certification", "text"]), (A, ["certification", "text"])]),
        ("AWS-Certified", [(B, ["certification", "text"]), (A, ["certification", "text"])]),  # '-' is not syntax
        ("engineers earn", [(A, ["text"])]),  # every word must match; "engineers" also finds "engineer"
    ],
)
def test_hits_are_documents_with_what_matched_there(url, words, expected):
    hits = search(url, words)
    assert {(h.source, tuple(sorted(h.found))) for h in hits} == {(s, tuple(f)) for s, f in expected}
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_snippets_mark_the_matched_words_and_limit_cuts(url):
    [first] = search(url, "python", limit=1)
    assert "«Python» first, then «Python» again" in first.snippet  # from the text, not the short quote
    assert len(search(url, "python")) == 2


def test_only_the_latest_version_of_a_document_is_found(engine, url):
    newer = TEXT_B.replace("with a voucher", "with a coupon")
    save(engine, article(B, T0 + timedelta(days=1), newer), extraction(B, newer), V1)
    assert search(url, "voucher") == []
    [hit] = search(url, "coupon")
    assert hit.source == B and hit.document_id == 3


def test_saving_again_replaces_index_rows_instead_of_adding(engine, url):
    save(engine, article(A, T0 + timedelta(hours=1)), extraction(A), V1)  # same text, same extractor: replaced
    with engine.connect() as connection:
        indexed = connection.exec_driver_sql("SELECT COUNT(*) FROM search_index WHERE kind = 'skill'").scalar()
        stored = connection.exec_driver_sql("SELECT COUNT(*) FROM skill_mentions").scalar()
    assert indexed == stored == 4  # two skills in each source, not four in A


def test_words_are_quoted_for_fts5_and_an_empty_query_is_refused():
    assert fts5_query('C++ "near" AND x*') == '"C" "near" "AND" "x"'
    with pytest.raises(StorageError, match="nothing to search"):
        fts5_query("+++")


def test_kb_search_prints_ranked_hits_and_json(tmp_path):
    db = tmp_path / "kb.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    build(engine)
    engine.dispose()
    printed = CliRunner().invoke(main, ["search", "certified costs", "--db", str(db)])
    assert printed.exit_code == 0, printed.output
    assert f"1. {B}  [certification, text]" in printed.output and f"2. {A}" in printed.output
    as_json = CliRunner().invoke(main, ["search", "voucher", "--db", str(db), "--json"])
    assert [json.loads(line)["source"] for line in as_json.output.splitlines()] == [B]
    missing = CliRunner().invoke(main, ["search", "x", "--db", str(tmp_path / "nope.sqlite")])
    assert missing.exit_code != 0 and "no database" in missing.output and not (tmp_path / "nope.sqlite").exists()
