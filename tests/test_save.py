"""The save stage: idempotent, grounded-only writes, one transaction per document, and the run bookkeeping.

Every test runs on a SQLite file; set KB_TEST_POSTGRES_URL to a scratch PostgreSQL database (its public schema
is dropped and recreated) to run each one there too.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from db import kinds as registry
from db.engine import init_db, make_engine
from db.views import RECORD_VIEWS, VIEW_COLUMNS
from pipeline.errors import StorageError
from pipeline.ground import link_amount
from pipeline.save import (
    ExtractorVersion,
    LedgerEntry,
    finish_run,
    latest_extraction,
    mark_interrupted_runs,
    record_attempt,
    save,
    start_run,
    touch_document,
)
from schemas.documents import (
    Article,
    ExtractionStats,
    Grounded,
    GroundedExtraction,
    MoneyAmount,
    MoneyUse,
    Provenance,
)

SOURCE = "https://example.com/ai-engineer-pay"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TEXT_V1 = (
    "Senior AI engineers in the US earn $180,000 to $250,000 a year. Most teams want Python and PyTorch. "
    "The AWS Certified Machine Learning Specialty exam costs $300. Job postings for AI engineers grew 74% in 2024."
)
TEXT_V2 = "Updated for 2025. " + TEXT_V1.replace("Most teams want", "Most teams now want") + " Rust is rising."
RECORDS = {
    "salary": dict(
        role="AI engineer",
        level="senior",
        region="US",
        currency="USD",
        amount_min=180000,
        amount_max=250000,
        quote="$180,000 to $250,000 a year",
    ),
    "skill": dict(name="Python", category="language", quote="Python"),
    "certification": dict(
        name="AWS Certified Machine Learning Specialty",
        issuer="AWS",
        cost_amount=300,
        cost_currency="USD",
        quote="AWS Certified Machine Learning Specialty exam costs $300",
    ),
    "claim": dict(
        metric="postings_growth",
        subject="AI engineers",
        value=74,
        unit="percent",
        direction="up",
        end_year=2024,
        statement="Job postings for AI engineers grew 74% in 2024.",
        quote="Job postings for AI engineers grew 74% in 2024",
    ),
}
V1 = ExtractorVersion(schema_hash="s1", prompt_version="p1", model="test-model")
V2 = ExtractorVersion(schema_hash="s1", prompt_version="p2", model="test-model")
TABLES = [
    "documents",
    "extractors",
    "extractions",
    *(table.__tablename__ for table in (k.table for k in registry.kinds())),
]


@pytest.fixture
def engine(blank_engine):
    init_db(blank_engine)
    return blank_engine


def article(body: str = TEXT_V1, fetched_at: datetime = T0, source: str = SOURCE) -> Article:
    return Article(source=source, url=source, title="AI engineer pay", fetched_at=fetched_at, text=body)


def ground(body: str, kind: str, **changes) -> Grounded:
    fields = {**RECORDS[kind], **changes}
    quote = fields["quote"]
    start = body.index(quote)
    span = Provenance(quote=quote, char_start=start, char_end=start + len(quote))
    return Grounded(kind=kind, record=registry.kind(kind).model(**fields), provenance=span)


def extraction(body: str = TEXT_V1, kinds=tuple(RECORDS), **stats) -> GroundedExtraction:
    return GroundedExtraction(records=[ground(body, kind) for kind in kinds], stats=ExtractionStats(**stats))


def ungrounded(kind: str) -> Grounded:
    item = ground(TEXT_V1, kind)
    span = item.provenance
    shifted = span.model_copy(update={"char_start": span.char_start + 1, "char_end": span.char_end + 1})
    return item.model_copy(update={"provenance": shifted})


def counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table: connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar() for table in TABLES}


def rows(engine, sql: str, **params) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text(sql), params)]


def test_save_writes_the_document_the_extraction_and_every_record(engine):
    result = save(engine, article(), extraction(llm_calls=2, prompt_tokens=900), V1, run_id=None)
    assert result.created and result.document == "new"
    assert result.counts == {"salary": 1, "skill": 1, "certification": 1, "claim": 1}
    [stored] = rows(engine, "SELECT * FROM extractions")
    assert (stored["llm_calls"], stored["prompt_tokens"], stored["extractor_id"]) == (2, 900, V1.id)
    assert rows(engine, "SELECT schema_hash, prompt_version, model FROM extractors") == [
        {"schema_hash": "s1", "prompt_version": "p1", "model": "test-model"}
    ]


@pytest.mark.parametrize("kind", sorted(RECORD_VIEWS))
def test_each_record_kind_shows_in_its_view(engine, kind):
    result = save(engine, article(), extraction(kinds=[kind]), V1)
    [row] = rows(engine, f"SELECT * FROM {RECORD_VIEWS[kind]}")
    assert tuple(row) == VIEW_COLUMNS[RECORD_VIEWS[kind]]
    assert (row["document_id"], row["source"], row["quote"]) == (result.document_id, SOURCE, RECORDS[kind]["quote"])


def test_enum_values_are_plain_strings_in_the_views(engine):
    save(engine, article(), extraction(), V1)
    [salary] = rows(engine, "SELECT level, currency, period, pay_basis FROM v_salaries")
    assert salary == {"level": "senior", "currency": "USD", "period": "year", "pay_basis": "unspecified"}
    assert rows(engine, "SELECT skill, category FROM v_skills") == [{"skill": "Python", "category": "language"}]


def test_saving_the_same_article_twice_creates_no_duplicates(engine):
    first = save(engine, article(), extraction(), V1)
    before = counts(engine)
    second = save(engine, article(fetched_at=T0 + timedelta(days=1)), extraction(), V1)
    assert counts(engine) == before
    assert (second.document_id, second.extraction_id) == (first.document_id, first.extraction_id)
    assert (second.created, second.document) == (False, "unchanged")


def test_resaving_an_extraction_replaces_its_records(engine):
    first = save(engine, article(), extraction(), V1)
    second = save(engine, article(), extraction(kinds=["skill"]), V1)
    assert second.extraction_id == first.extraction_id and not second.created
    assert counts(engine)["skill_mentions"] == 1 and counts(engine)["salaries"] == 0


def test_changed_content_is_a_new_document_and_only_the_latest_shows(engine):
    old = save(engine, article(), extraction(), V1)
    new = save(engine, article(TEXT_V2, T0 + timedelta(days=7)), extraction(TEXT_V2, kinds=["skill"]), V1)
    assert new.document_id != old.document_id and new.document == "changed"
    assert counts(engine)["documents"] == 2
    assert rows(engine, "SELECT document_id, text FROM v_documents") == [
        {"document_id": new.document_id, "text": TEXT_V2}
    ]
    assert [row["document_id"] for row in rows(engine, "SELECT document_id FROM v_skills")] == [new.document_id]
    assert rows(engine, "SELECT * FROM v_salaries") == []  # the new text's extraction found no salary


def test_text_that_comes_back_is_the_latest_again(engine):
    first = save(engine, article(TEXT_V1, T0), extraction(TEXT_V1), V1)
    save(engine, article(TEXT_V2, T0 + timedelta(days=1)), extraction(TEXT_V2), V1)
    again = save(engine, article(TEXT_V1, T0 + timedelta(days=2)), extraction(TEXT_V1), V1)
    assert again.document_id == first.document_id and again.document == "unchanged"
    assert [row["document_id"] for row in rows(engine, "SELECT document_id FROM v_documents")] == [first.document_id]


def test_each_source_shows_its_own_latest_document(engine):
    save(engine, article(source="a.md"), extraction(), V1)
    save(engine, article(source="b.md"), extraction(), V1)
    assert sorted(row["source"] for row in rows(engine, "SELECT source FROM v_salaries")) == ["a.md", "b.md"]


def test_a_newer_extractor_supersedes_the_older_in_the_views(engine):
    save(engine, article(), extraction(), V1)
    newer = save(engine, article(), extraction(kinds=["claim"]), V2)
    assert newer.created and newer.document == "unchanged"
    assert counts(engine)["extractions"] == 2
    assert rows(engine, "SELECT * FROM v_skills") == []
    assert len(rows(engine, "SELECT * FROM v_claims")) == 1


@pytest.mark.parametrize("kind", [k.name for k in registry.kinds()])
def test_an_ungrounded_record_is_refused_and_nothing_is_written(engine, kind):
    grounded = extraction()
    grounded.records.append(ungrounded(kind))
    with pytest.raises(StorageError, match=f"ungrounded {kind}"):
        save(engine, article(), grounded, V1)
    assert counts(engine) == dict.fromkeys(TABLES, 0)


@pytest.mark.parametrize("kind", [k.name for k in registry.kinds()])
def test_a_refused_resave_keeps_the_records_already_stored(engine, kind):
    save(engine, article(), extraction(), V1)
    before = counts(engine)
    with pytest.raises(StorageError):
        save(engine, article(), GroundedExtraction(records=[ungrounded(kind)]), V1)
    assert counts(engine) == before


@pytest.mark.parametrize(
    "span",
    [dict(char_start=0, char_end=10_000), dict(quote="", char_start=3, char_end=3)],
    ids=["past the end", "empty quote"],
)
def test_spans_that_are_out_of_range_or_empty_are_refused(engine, span):
    item = ground(TEXT_V1, "skill")
    item = item.model_copy(update={"provenance": item.provenance.model_copy(update=span)})
    with pytest.raises(StorageError):
        save(engine, article(), GroundedExtraction(records=[item]), V1)


def test_a_record_of_the_wrong_kind_is_refused(engine):
    item = ground(TEXT_V1, "skill").model_copy(update={"kind": "claim"})
    with pytest.raises(StorageError, match="claim record holds a Skill"):
        save(engine, article(), GroundedExtraction(records=[item]), V1)


def test_normalized_matches_are_kept_as_such(engine):
    item = ground(TEXT_V1, "skill")
    item = item.model_copy(update={"provenance": item.provenance.model_copy(update={"match": "normalized"})})
    save(engine, article(), GroundedExtraction(records=[item]), V1)
    assert rows(engine, "SELECT match, verified FROM skill_mentions") == [{"match": "normalized", "verified": 1}]


def test_latest_extraction_finds_only_this_text_and_extractor(engine):
    assert latest_extraction(engine, SOURCE, article().content_hash, V1.id) is None
    result = save(engine, article(), extraction(), V1)
    assert latest_extraction(engine, SOURCE, article().content_hash, V1.id) == result.extraction_id
    assert latest_extraction(engine, SOURCE, article().content_hash, V2.id) is None
    assert latest_extraction(engine, SOURCE, article(TEXT_V2).content_hash, V1.id) is None


def test_extractor_ids_are_short_stable_content_hashes():
    assert V1.id == ExtractorVersion(schema_hash="s1", prompt_version="p1", model="test-model").id
    assert len({V1.id, V2.id, V1.model_copy(update={"model": "other"}).id}) == 3
    assert len(V1.id) == 16


def test_a_run_is_recorded_from_start_to_finish(engine):
    run_id = start_run(engine, "test")
    result = save(engine, article(), extraction(), V1, run_id=run_id)
    record_attempt(
        engine,
        run_id,
        SOURCE,
        "ok",
        attempts=1,
        prompt_tokens=900,
        completion_tokens=80,
        document_id=result.document_id,
    )
    record_attempt(engine, run_id, "bad.html", "failed", stage="clean", error="no main text")
    finish_run(
        engine,
        run_id,
        "completed",
        sources_seen=2,
        new=1,
        failed=1,
        prompt_tokens=900,
        completion_tokens=80,
        llm_seconds=1.5,
    )
    [run] = rows(engine, "SELECT * FROM v_runs")
    summary = (run["run_id"], run["trigger"], run["status"], run["new"], run["failed"])
    assert summary == (run_id, "test", "completed", 1, 1)
    assert run["finished"] is not None
    attempts = rows(engine, "SELECT source, status, stage, error FROM v_attempts ORDER BY source")
    assert attempts == [
        {"source": "bad.html", "status": "failed", "stage": "clean", "error": "no main text"},
        {"source": SOURCE, "status": "ok", "stage": None, "error": None},
    ]
    assert rows(engine, "SELECT run_id FROM extractions") == [{"run_id": run_id}]


def test_a_ledger_entry_is_written_with_the_save_and_the_touch(engine):
    run_id = start_run(engine, "test")
    entry = LedgerEntry(run_id=run_id, source="as given", started=T0, attempts=2, prompt_tokens=900)
    saved = save(engine, article(), extraction(), V1, run_id, entry)
    touched, _ = touch_document(engine, article(fetched_at=T0 + timedelta(days=1)), entry)
    attempts = rows(
        engine, "SELECT source, status, document_id, attempts, prompt_tokens, stage, error FROM attempts ORDER BY id"
    )
    assert attempts == [
        {
            "source": "as given",
            "status": status,
            "document_id": saved.document_id,
            "attempts": 2,
            "prompt_tokens": 900,
            "stage": None,
            "error": None,
        }
        for status in ("ok", "unchanged")
    ]
    assert touched == saved.document_id


def test_a_ledger_entry_that_cannot_be_written_undoes_the_whole_save(engine):
    orphan = LedgerEntry(run_id=999, source=SOURCE, started=T0)  # no such run: the attempt row breaks a key
    with pytest.raises(StorageError, match="could not save"):
        save(engine, article(), extraction(), V1, ledger=orphan)
    assert counts(engine) == dict.fromkeys(TABLES, 0)
    assert rows(engine, "SELECT * FROM attempts") == rows(engine, "SELECT * FROM entities") == []
    save(engine, article(), extraction(), V1)  # the undone save's entities were not remembered as stored
    assert rows(engine, "SELECT skill, as_written FROM v_skills") == [{"skill": "Python", "as_written": "Python"}]


def test_an_undone_save_leaves_its_extractor_to_the_next(engine):
    with pytest.raises(StorageError, match="could not save"):
        save(engine, article(), extraction(), V1, run_id=999)  # no such run: the extraction row breaks a key
    assert counts(engine) == dict.fromkeys(TABLES, 0)
    save(engine, article(), extraction(), V1)  # the extractor of the undone save was not remembered as stored
    assert rows(engine, "SELECT id FROM extractors") == [{"id": V1.id}]


def test_each_database_gets_its_own_extractor_entities_and_aliases(engine, tmp_path):
    save(engine, article(), extraction(), V1)
    other = make_engine(f"sqlite:///{tmp_path / 'other.sqlite'}")
    init_db(other)
    save(other, article(), extraction(), V1)
    assert rows(other, "SELECT id FROM extractors") == [{"id": V1.id}]
    assert rows(other, "SELECT entity, alias FROM v_entity_aliases WHERE kind = 'skill'") == [
        {"entity": "Python", "alias": "Python"}
    ]
    other.dispose()


def test_runs_left_running_become_interrupted(engine):
    stale, done = start_run(engine, "backfill"), start_run(engine, "schedule")
    finish_run(engine, done, "completed")
    assert mark_interrupted_runs(engine) == 0  # this process is alive: its run is still running
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE runs SET pid = {int(dead)} WHERE id = {stale}")
    assert mark_interrupted_runs(engine) == 1
    assert mark_interrupted_runs(engine) == 0
    statuses = {row["run_id"]: row["status"] for row in rows(engine, "SELECT run_id, status FROM v_runs")}
    assert statuses == {stale: "interrupted", done: "completed"}


def test_a_live_run_can_be_spared(engine):
    start_run(engine, "schedule")
    assert mark_interrupted_runs(engine, started_before=datetime.now(UTC) - timedelta(hours=1)) == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda engine: start_run(engine, "whenever"),
        lambda engine: finish_run(engine, 999, "completed"),
        lambda engine: finish_run(engine, start_run(engine, "test"), "done"),
        lambda engine: record_attempt(engine, 999, SOURCE, "ok"),
    ],
    ids=["bad trigger", "no such run", "bad status", "attempt of no run"],
)
def test_bad_bookkeeping_is_a_storage_error(engine, call):
    with pytest.raises(StorageError):
        call(engine)


def test_two_processes_saving_the_same_articles_store_each_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'kb.sqlite'}"
    script = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_save as t\n"
        f"engine = t.make_engine({url!r}); t.init_db(engine)\n"
        "for i in range(20): t.save(engine, t.article(source=f's{i % 5}.md'), t.extraction(), t.V1)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    engine = make_engine(url)
    assert counts(engine) == {**dict.fromkeys(TABLES, 5), "extractors": 1}
    engine.dispose()


# --- the invariant: every stored record is grounded in its document's text ---------------------------------


@pytest.fixture
def populated(engine):
    save(engine, article(), extraction(), V1)
    save(engine, article(TEXT_V2, T0 + timedelta(days=1)), extraction(TEXT_V2), V2)
    save(engine, article(TEXT_V2, source="copy.txt"), extraction(TEXT_V2, kinds=["skill", "claim"]), V1)
    return engine


@pytest.mark.parametrize("view", sorted(RECORD_VIEWS.values()))
def test_every_record_in_every_view_quotes_its_document_exactly(populated, view):
    texts = {row["document_id"]: row["text"] for row in rows(populated, "SELECT document_id, text FROM v_documents")}
    records = rows(populated, f"SELECT document_id, quote, char_start, char_end FROM {view}")
    assert records
    for record in records:
        assert texts[record["document_id"]][record["char_start"] : record["char_end"]] == record["quote"]


# ---- the money account and entities -------------------------------------------------------------------------


def accounted(body: str = TEXT_V1) -> GroundedExtraction:
    """The full extraction of `body` with its money account: the pay range, and the exam fee as the cost."""
    grounded = extraction(body)
    amounts = []
    for written, use, low, high in (
        ("$180,000 to $250,000", MoneyUse.salary, 180000, 250000),
        ("$300", MoneyUse.certification_cost, 300, 300),
    ):
        start = body.index(written)
        amount = MoneyAmount(
            char_start=start,
            char_end=start + len(written),
            text=written,
            currency="USD",
            amount_min=low,
            amount_max=high,
            use=use,
        )
        amounts.append(link_amount(amount, grounded.records))
    return grounded.model_copy(update={"amounts": amounts})


def test_each_money_amount_is_stored_with_a_link_to_its_record(engine):
    save(engine, article(), accounted(), V1)
    money = rows(engine, "SELECT quote, use, salary_id, certification_mention_id FROM v_money ORDER BY char_start")
    [salary] = rows(engine, "SELECT salary_id FROM v_salaries")
    [cert] = rows(engine, "SELECT mention_id FROM v_certifications")
    assert money == [
        {
            "quote": "$180,000 to $250,000",
            "use": "salary",
            "salary_id": salary["salary_id"],
            "certification_mention_id": None,
        },
        {
            "quote": "$300",
            "use": "certification_cost",
            "salary_id": None,
            "certification_mention_id": cert["mention_id"],
        },
    ]


def test_resaving_replaces_the_money_account_too(engine):
    save(engine, article(), accounted(), V1)
    save(engine, article(), accounted(), V1)
    assert len(rows(engine, "SELECT * FROM money_amounts")) == 2


def test_a_money_amount_off_its_span_is_refused(engine):
    bad = accounted()
    shifted = bad.amounts[0].model_copy(update={"char_start": bad.amounts[0].char_start + 1})
    with pytest.raises(StorageError, match="money amount"):
        save(engine, article(), bad.model_copy(update={"amounts": [shifted]}), V1)
    assert counts(engine)["documents"] == 0


def test_mentions_in_different_documents_and_words_share_one_entity_and_keep_their_wording(engine):
    first = TEXT_V1
    second = "Hiring managers ask for the AWS ML Specialty (MLS-C01) and python."
    save(engine, article(first), extraction(first, kinds=["skill", "certification"]), V1)
    cert = dict(
        name="AWS ML Specialty (MLS-C01)",
        issuer=None,
        cost_amount=None,
        cost_currency=None,
        quote="AWS ML Specialty (MLS-C01)",
    )
    records = [ground(second, "certification", **cert), ground(second, "skill", name="python", quote="python")]
    save(engine, article(second, source="https://example.com/other"), GroundedExtraction(records=records), V1)
    certs = rows(engine, "SELECT certification, as_written, entity_id FROM v_certifications ORDER BY as_written")
    assert {c["certification"] for c in certs} == {"AWS Certified Machine Learning – Specialty"}
    assert [c["as_written"] for c in certs] == [
        "AWS Certified Machine Learning Specialty",
        "AWS ML Specialty (MLS-C01)",
    ]
    assert len({c["entity_id"] for c in certs}) == 1
    skills = rows(engine, "SELECT skill, as_written FROM v_skills ORDER BY as_written")
    assert skills == [{"skill": "Python", "as_written": "Python"}, {"skill": "Python", "as_written": "python"}]
    aliases = rows(engine, "SELECT entity, alias FROM v_entity_aliases WHERE kind = 'skill'")
    assert sorted(a["alias"] for a in aliases) == ["Python", "python"] and {a["entity"] for a in aliases} == {"Python"}
    assert rows(engine, "SELECT skill, n_sources, n_mentions FROM v_skill_index") == [
        {"skill": "Python", "n_sources": 2, "n_mentions": 2}
    ]


def test_many_salaries_go_in_one_insert_and_each_amount_points_at_its_own_row(engine):
    from sqlalchemy import event

    body = "Level | Pay\n" + "\n".join(
        f"{level} | ${low:,} – ${low + 20000:,}"
        for level, low in (("Junior", 90000), ("Mid", 120000), ("Senior", 150000), ("Staff", 190000))
    )
    records, amounts = [], []
    for line in body.splitlines()[1:]:
        level, written = line.split(" | ")
        low = int(written.split(" – ")[0].strip("$").replace(",", ""))
        records.append(
            ground(
                body,
                "salary",
                level=level.lower(),
                amount_min=low,
                amount_max=low + 20000,
                quote=line,
                role=None,
                region=None,
            )
        )
    for item in records:
        written = item.record.quote.split(" | ")[1]
        start = body.index(written)
        amount = MoneyAmount(
            char_start=start,
            char_end=start + len(written),
            text=written,
            currency="USD",
            amount_min=item.record.amount_min,
            amount_max=item.record.amount_max,
            use=MoneyUse.salary,
        )
        amounts.append(link_amount(amount, records))
    inserts = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: (
            inserts.append(statement) if statement.startswith("INSERT INTO salaries") else None
        ),
    )
    for _ in range(2):  # the second save replaces the rows: ids are given again after the delete
        save(engine, article(body), GroundedExtraction(records=records, amounts=amounts), V1)
    assert len(inserts) == 2  # one per save, for four rows (one a row, RETURNING their ids, before)
    money = rows(
        engine,
        "SELECT m.quote AS amount, s.quote AS salary FROM v_money m "
        "JOIN v_salaries s ON s.salary_id = m.salary_id ORDER BY m.char_start",
    )
    assert [(m["amount"], m["salary"]) for m in money] == [
        (r.record.quote.split(" | ")[1], r.record.quote) for r in records
    ]
    assert len(rows(engine, "SELECT * FROM salaries")) == 4
