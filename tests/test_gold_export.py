"""`kb gold export`: the reviewed documents' records (reviews applied) become gold labels that `kb eval` reads and
that score 1.0 on the same database; rejected salary amounts become forbidden; unreviewed documents stay out.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from db.engine import make_engine
from flows.ingest import Runtime, run_sources
from pipeline.cli import main
from pipeline.evaluate import evaluate, load_gold
from pipeline.review import accept, correct, queue, reject
from tests.conftest import PAGES


def test_reviews_export_as_gold_that_scores_one_on_the_same_database(settings, tmp_path):
    reviewed, other = str(PAGES / "ai-engineer-salaries-2026.html"), str(PAGES / "career-notes.md")
    run_sources([reviewed, other], Runtime.create(settings), "test")
    engine = make_engine(settings.database_url)
    salaries = [item for item in queue(engine, "salary") if item.source == reviewed]
    assert len(salaries) >= 3, "the page should give the fake model several salaries"
    dropped, fixed, kept = salaries[0], salaries[1], salaries[2]
    reject(engine, "salary", dropped.record_id, "ana")
    correct(engine, "salary", fixed.record_id, {"amount_max": None, "amount_min": 123456, "period": "month"}, "ana")
    accept(engine, "salary", kept.record_id, "ana")
    engine.dispose()

    out = tmp_path / "gold" / "reviewed.json"
    out.parent.mkdir()
    runner = CliRunner()
    result = runner.invoke(main, ["gold", "export", "--out", str(out), "--db", settings.database_url])
    assert result.exit_code == 0, result.output
    gold = load_gold(out)
    [document] = gold.documents
    assert document.source == reviewed
    bounds = [sorted(s.bounds) for s in document.salaries]
    assert [s.period.value for s in document.salaries if s.bounds == [123456.0]] == ["month"]
    assert len(document.salaries) == len(salaries) - 1
    dropped_bounds = {b for b in (dropped.values["amount_min"], dropped.values["amount_max"]) if b is not None}
    kept_bounds = {b for pair in bounds for b in pair}
    assert document.forbidden and set(document.forbidden) == dropped_bounds - kept_bounds

    report = evaluate(gold, settings.database_url, str(out))
    assert report.overall.found == 1
    assert report.overall.salaries.f1 == 1.0 and report.overall.forbidden_hits == 0
    assert report.overall.certifications.rate in (1.0, None) and report.overall.skills.rate in (1.0, None)
    scored = runner.invoke(
        main,
        [
            "eval",
            "--gold",
            str(out),
            "--db",
            settings.database_url,
            "--min-salary-f1",
            "1",
            "--max-forbidden",
            "0",
            "--json",
            str(tmp_path / "scores.json"),
        ],
    )
    assert scored.exit_code == 0, scored.output
    assert json.loads((tmp_path / "scores.json").read_text())["overall"]["salaries"]["f1"] == 1.0


def test_without_reviews_there_is_nothing_to_export(settings, tmp_path):
    run_sources([str(PAGES / "career-notes.md")], Runtime.create(settings), "test")
    out = tmp_path / "gold.json"
    result = CliRunner().invoke(main, ["gold", "export", "--out", str(out), "--db", settings.database_url])
    assert result.exit_code == 0 and "0 reviewed documents" in result.output
    assert load_gold(out).documents == []


def test_gold_subset_keeps_the_named_documents_as_labelled_and_names_unknown_sources(tmp_path):
    gold = tmp_path / "gold.json"
    documents = [
        {"source": "a.html", "kind": "tables", "salaries": [], "forbidden": [5.0], "extra": {"kept": True}},
        {"source": "b.html", "kind": "forums", "salaries": []},
        {"source": "c.html", "kind": "forums", "salaries": []},
    ]
    gold.write_text(json.dumps({"about": "all", "documents": documents}), encoding="utf-8")
    out = tmp_path / "gate.json"

    result = CliRunner().invoke(
        main, ["gold", "subset", str(gold), "--source", "c.html", "--source", "a.html", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["documents"] == [documents[2], documents[0]]

    again = tmp_path / "again.json"  # a subset refreshed from its gold file keeps its sources
    result = CliRunner().invoke(main, ["gold", "subset", str(gold), "--sources-of", str(out), "--out", str(again)])
    assert result.exit_code == 0, result.output
    assert json.loads(again.read_text(encoding="utf-8"))["documents"] == [documents[2], documents[0]]

    result = CliRunner().invoke(main, ["gold", "subset", str(gold), "--source", "nope.html", "--out", str(out)])
    assert result.exit_code != 0 and "nope.html" in result.output
