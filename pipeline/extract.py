"""Extract stage: turn an Article into typed records (salaries, skills, certifications, claims).

The work is split by what each side does well. Deterministic code finds every money figure and reads its
numbers, currency and period (`pipeline.money`), finds known skills and credentials with their exact spans
(`pipeline.mentions`), and reads market claims' figures, units, years and sources (`pipeline.claims`). The model
reads only the lines that hold money figures, each with its heading or table header, every figure whose own cue
words do not already say what it is tagged `[M1]`, `[M2]`… (`pipeline.figures`); it says what each figure is
(pay, or a price, fee, tuition, revenue) and for which level, and names any further credentials, skills and
claims it sees, as exact phrases, a claim with its metric and subject (`pipeline.reading`). Output is
constrained to a pydantic schema through instructor and kept short, because a small CPU model writes a few
tokens a second under a grammar (`pipeline.model_call`). The records are then assembled by rules
(`pipeline.assemble`).

This module holds the orchestration and the extractor's fingerprint: what makes two extractions comparable.
"""

from __future__ import annotations

import functools
import hashlib
import json

from pipeline.assemble import Records, cue_of, model_lists, money_amount, opening_accounts, salary_from
from pipeline.claims import find_claims, listed_claims
from pipeline.credentials import find_certifications
from pipeline.errors import ExtractError
from pipeline.examples import ReviewExamples
from pipeline.figures import Figure, addresses_model, leave_unasked, plan_chunks, steering
from pipeline.ground import FoldedText
from pipeline.mentions import find_skills
from pipeline.model_call import Usage, describe, read_chunk_splitting
from pipeline.money import Money, scan_money
from pipeline.page_facts import page_facts, with_page_facts
from pipeline.reading import PROMPT_VERSION, SYSTEM_PROMPT, reading_model
from pipeline.tables import TableFigure, currency_region, salary_fields, table_money, without_paired
from pipeline.vocab import vocabulary
from schemas.documents import Article, Extraction, ExtractionStats, MoneyAmount, MoneyUse
from schemas.records import Certification, Claim, FigureReading, Salary, Skill

__all__ = ["extract", "extractor_fingerprint", "reading_model", "addresses_model"]


def extract(
    article: Article, llm, settings, money: list[Money] | None = None, examples: ReviewExamples | None = None
) -> Extraction:
    """All records of one article: one constrained model call per chunk of relevant lines.

    `money` is the article's money scan when the caller has it (else it is scanned here), joined by the bare
    figures of its tables read under their headers (`pipeline.tables`); the extraction
    carries it on as `amounts`, each with an account (salary bound, credential cost, not pay, or unaccounted
    with a reason), so recall lost anywhere on the way is visible and later stages need not scan again.
    """
    text = article.text
    money, cells = with_tables(text, scan_money(text) if money is None else money)
    headers = {cell.row.start: cell.header for cell in cells.values()}
    steered, set_aside = steering(text, money), column_accounts(cells)
    read = [m for m in money if m not in steered and m.start not in set_aside]
    plans = plan_chunks(text, read, settings.chunk_chars, headers)
    tagged = [f for plan in plans for f in plan.figures]
    plans = leave_unasked(text, plans, frozenset(f.money.start for f in tagged if cue_of(text, f, tagged)))
    figures = [f for plan in plans for f in (*plan.figures, *plan.unasked)]
    accounts = opening_accounts(money, steered) | set_aside
    folded, usage, records = FoldedText(text), Usage(), Records()
    facts = page_facts(article.title, text)
    certs, skills, listed = find_certifications(text), find_skills(text), []
    for plan in plans:
        for fig in plan.unasked:
            accounts[fig.money.start] = salary_from(text, fig, None, figures)[1]
        try:
            results = read_chunk_splitting(llm, plan, text, settings, usage, folded, examples)
        except Exception as exc:  # the model, its client or instructor gave up on this chunk
            raise ExtractError(describe(exc), source=article.source) from exc
        for part, reading in results:
            for fig in part.figures:
                salary, account = salary_from(text, fig, getattr(reading.figures, fig.tag), figures)
                if salary is not None:
                    salary = with_table_region(with_page_facts(with_header(salary, fig, cells), facts, fig), fig, cells)
                accounts[fig.money.start] = account if salary is None else records.add_salary(salary, account)
            more_certs, more_skills, invalid = model_lists(reading)
            usage.invalid += invalid
            certs, skills, listed = certs + more_certs, skills + more_skills, listed + reading.claims
    records.add_repeats(accounts)
    records.add_credentials(text, certs, accounts)
    spans = [(m.start, m.end) for m in money]  # the model's metric and subject win over the cue words'
    claims = listed_claims(text, listed, spans) + find_claims(text, spans)
    for kind, items in (("skill", skills), ("claim", claims)):
        for item in items:
            records.add(kind, item)
    return _finished(records.out, accounts, usage)


def with_tables(text: str, money: list[Money]) -> tuple[list[Money], dict[int, TableFigure]]:
    """The scan joined by the tables' bare figures, in text order, and each table figure by its start."""
    tables = table_money(text, money)
    cells = {figure.money.start: figure for figure in tables}
    return sorted([*without_paired(money, tables), *(figure.money for figure in tables)], key=lambda m: m.start), cells


def column_accounts(cells: dict[int, TableFigure]) -> dict[int, MoneyAmount]:
    """Figures in a column of bonuses, equity or changes are that kind of money, never pay: they are
    accounted here and the model does not read them."""
    return {
        start: money_amount(
            cell.money, use=MoneyUse.not_pay, kind=cell.meaning.kind, reason=f"in a “{cell.column}” column"
        )
        for start, cell in cells.items()
        if cell.meaning.kind is not None
    }


def with_header(salary: Salary, fig: Figure, cells: dict[int, TableFigure]) -> Salary:
    """A salary read from a table cell carries its header span and what its column and row label say."""
    cell = cells.get(fig.money.start)
    return salary if cell is None else salary.model_copy(update=salary_fields(cell))


def with_table_region(salary: Salary, fig: Figure, cells: dict[int, TableFigure]) -> Salary:
    """A table figure that neither its table nor its page places anywhere takes the country whose currency it
    is written in, when that currency is one country's alone (`pipeline.tables.currency_region`)."""
    cell = cells.get(fig.money.start)
    region = currency_region(cell.money.currency) if cell is not None and salary.region is None else None
    return salary.model_copy(update={"region": region}) if region else salary


def _finished(out: Extraction, accounts: dict, usage: Usage) -> Extraction:
    """The extraction with its money account in text order and what its model calls cost."""
    out.amounts = [accounts[start] for start in sorted(accounts)]
    out.stats = ExtractionStats(
        llm_calls=usage.calls,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        llm_seconds=round(usage.seconds, 3),
        retries=usage.retries,
        dropped_ungrounded=usage.dropped,
        dropped_invalid=usage.invalid,
        not_pay=sum(a.use is MoneyUse.not_pay for a in out.amounts),
    )
    return out


def extractor_fingerprint(model: str) -> tuple[str, str, str]:
    """(schema hash, prompt version, model): what makes two extractions of the same text comparable. The
    schema hash covers the vocabulary too, so a changed word list re-extracts stored documents."""
    digest = hashlib.sha256(f"{_schema_hash()}:{vocabulary().digest}".encode()).hexdigest()[:16]
    return digest, PROMPT_VERSION, model


@functools.cache
def _schema_hash() -> str:
    """A hash of the record schemas and the prompt, computed once per process (~30 ms of JSON schemas)."""
    schemas = [m.model_json_schema() for m in (FigureReading, Certification, Skill, Claim, Salary)]
    payload = json.dumps({"schemas": schemas, "prompt": SYSTEM_PROMPT}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
