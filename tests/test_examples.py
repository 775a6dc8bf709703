"""Reviewed figures as examples (KB_REVIEW_EXAMPLES): off by default; when on, the model's calls carry a few
accepted or corrected salaries like the excerpt's, seen in the requests the fake OpenAI server received."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text

from db.engine import make_engine
from flows.ingest import Runtime, run_sources
from pipeline.examples import INTRO, Example, ReviewExamples
from pipeline.figures import plan_chunks
from pipeline.money import scan_money
from pipeline.review import correct, reject

FIRST = "# Pay in London\n\nSenior ML engineers in London earn £95,000 a year.\n\nJunior testers earn £31,000 a year.\n"
SECOND = "# Pay in Leeds\n\nSenior ML engineers in Leeds earn £82,000 a year.\n"


def ingest(settings, tmp_path, name: str, body: str) -> None:
    page = tmp_path / name
    page.write_text(body, encoding="utf-8")
    assert {o.status for o in run_sources([str(page)], Runtime.create(settings), "test").outcomes} == {"ok"}


def reviewed_kb(settings, tmp_path):
    """A knowledge base whose London senior salary was corrected and whose junior one was rejected."""
    ingest(settings, tmp_path, "london.md", FIRST)
    engine = make_engine(settings.database_url)
    with engine.connect() as connection:
        found = dict(connection.execute(text("SELECT level, salary_id FROM v_salaries")).all())
    correct(engine, "salary", found["senior"], {"level": "staff"}, "ana")
    reject(engine, "salary", found["junior"], "ana")
    return engine


def example_messages(fake_llm, since: int) -> list[str]:
    return [
        message["content"]
        for request in fake_llm.requests[since:]
        for message in request["messages"]
        if message["role"] == "system" and message["content"].startswith(INTRO)
    ]


def test_reviewed_figures_reach_the_prompt_when_the_setting_is_on(settings, tmp_path, fake_llm):
    engine = reviewed_kb(settings, tmp_path)
    since = len(fake_llm.requests)
    ingest(replace(settings, review_examples=2), tmp_path, "leeds.md", SECOND)
    [shown] = example_messages(fake_llm, since)
    quote = "Senior ML engineers in London earn £95,000 a year."
    assert shown.splitlines()[1:] == [f'- "{quote}": pay, level staff']  # the corrected level; the rejected left out
    engine.dispose()


def test_no_examples_reach_the_prompt_by_default(settings, tmp_path, fake_llm):
    reviewed_kb(settings, tmp_path).dispose()
    since = len(fake_llm.requests)
    assert settings.review_examples == 0
    ingest(settings, tmp_path, "leeds.md", SECOND)
    assert len(fake_llm.requests) > since and example_messages(fake_llm, since) == []


def test_the_examples_most_like_the_excerpt_are_chosen_and_unlike_ones_never():
    pool = ReviewExamples(
        (
            Example("Senior engineers in Berlin earn €80,000 a year", "EUR", "senior"),
            Example("Tuition costs $9,000", "USD", None),
            Example("Staff roles in London pay £120,000", "GBP", "staff"),
        )
    )
    excerpt = "Senior engineers in London earn £90,000 a year."
    [plan] = plan_chunks(excerpt, scan_money(excerpt), 6000)
    assert pool.for_plan(plan, 1).splitlines()[1:] == ['- "Staff roles in London pay £120,000": pay, level staff']
    chosen = pool.for_plan(plan, 5).splitlines()[1:]
    assert len(chosen) == 2 and not any("Tuition" in line for line in chosen)  # shares neither currency nor words
    assert pool.for_plan(plan, 0) == "" and ReviewExamples(()).for_plan(plan, 3) == ""
