"""Ground stage: quotes located exactly or after normalisation; the stored quote is always the article's slice."""

from __future__ import annotations

import pytest

import pipeline.ground as ground_module
from pipeline.ground import FoldedText, _normalize_char_by_char, ground, locate, normalize_with_map
from schemas.documents import Article, Extraction, MoneyAmount, MoneyUse
from schemas.records import Certification, Claim, Salary, Skill

TEXT = "Intro line.\nSenior engineers earn “£90,000 – £120,000”  a year in\nLondon.\nEnd."


@pytest.mark.parametrize(
    "quote, match",
    [
        ("Senior engineers earn", "exact"),
        ("senior engineers EARN", "normalized"),  # case
        ('earn "£90,000 - £120,000" a year in London.', "normalized"),  # quotes, dash, spaces, line break
        ("[M3]£90,000 – £120,000", "exact"),  # the extract stage's figure tag is not part of the quote
    ],
)
def test_quotes_are_located_and_sliced_from_the_article(quote, match):
    where = locate(TEXT, quote)
    assert where is not None and where.match == match
    assert TEXT[where.char_start : where.char_end] == where.quote


@pytest.mark.parametrize("quote", ["Junior engineers earn", "", "   ", "[M1]"])
def test_quotes_that_are_not_there_are_not_located(quote):
    assert locate(TEXT, quote) is None


def test_ground_drops_and_counts_what_it_cannot_place():
    article = Article(source="t.txt", text=TEXT, kind="text")
    extraction = Extraction(
        skills=[Skill(name="Negotiation", category="soft", quote="senior engineers earn")],
        claims=[Claim(metric="salary_growth", value=2, statement="invented", quote="Salaries doubled last year.")],
    )
    grounded = ground(article, extraction)
    assert [g.kind for g in grounded.records] == ["skill"]
    assert grounded.records[0].record.quote == "Senior engineers earn"
    assert grounded.stats.dropped_ungrounded == 1


def test_the_text_is_folded_once_per_article_and_only_when_a_quote_needs_it(monkeypatch):
    folds = []

    def counted(text):
        folds.append(text)
        return normalize_with_map(text)

    monkeypatch.setattr(ground_module, "normalize_with_map", counted)
    article = Article(source="t.txt", text=TEXT, kind="text")
    exact = [Skill(name="Negotiation", category="soft", quote="Senior engineers earn")]
    ground(article, Extraction(skills=exact))
    assert folds == []  # every quote was found as written (nor was any quote folded)
    folded = [
        Skill(name=name, category="soft", quote=quote)
        for name, quote in (("a", "senior engineers EARN"), ("b", "a year in London."), ("c", "not there"))
    ]
    grounded = ground(article, Extraction(skills=exact + folded))
    assert folds.count(TEXT) == 1  # three quotes needed the folded text; it was made once
    assert [g.provenance.match for g in grounded.records] == ["exact", "normalized", "normalized"]
    shared = FoldedText(TEXT)
    assert locate(TEXT, "SENIOR engineers", folded=shared) is not None and shared.get() is shared.get()
    assert folds.count(TEXT) == 2


# ---- value↔quote agreement and the money account ------------------------------------------------------------

PAY_TEXT = "Senior engineers earn £90,000 – £120,000 a year. The exam fee is £150."


def _amount(written: str, use: MoneyUse, low, high) -> MoneyAmount:
    start = PAY_TEXT.index(written)
    return MoneyAmount(
        char_start=start,
        char_end=start + len(written),
        text=written,
        currency="GBP",
        amount_min=low,
        amount_max=high,
        use=use,
    )


PAY = _amount("£90,000 – £120,000", MoneyUse.salary, 90000, 120000)
FEE = _amount("£150", MoneyUse.not_pay, 150, 150)


def _salary(quote: str, low=90000, high=120000) -> Salary:
    return Salary(level="senior", currency="GBP", amount_min=low, amount_max=high, quote=quote)


def test_an_amount_is_linked_to_the_salary_that_states_it():
    article = Article(source="t.txt", text=PAY_TEXT, kind="text")
    grounded = ground(
        article, Extraction(salaries=[_salary("Senior engineers earn £90,000 – £120,000 a year.")], amounts=[PAY, FEE])
    )
    pay, fee = grounded.amounts
    assert (pay.use, pay.record) == (MoneyUse.salary, 0) and grounded.records[0].kind == "salary"
    assert (fee.use, fee.record) == (MoneyUse.not_pay, None)


@pytest.mark.parametrize(
    "salary, counter",
    [
        (_salary("Junior engineers earn £90,000 – £120,000 a year."), "dropped_ungrounded"),  # quote not in text
        (_salary("Senior engineers earn £90,000 – £120,000 a year.", 95000, 120000), "dropped_invalid"),  # number
    ],
)
def test_a_salary_dropped_by_ground_leaves_its_amount_unaccounted_with_the_reason(salary, counter):
    article = Article(source="t.txt", text=PAY_TEXT, kind="text")
    grounded = ground(article, Extraction(salaries=[salary], amounts=[PAY]))
    assert grounded.records == [] and getattr(grounded.stats, counter) == 1
    (pay,) = grounded.amounts
    assert pay.use is MoneyUse.unaccounted and pay.record is None and "dropped" in pay.reason


def test_a_credential_cost_must_be_written_in_its_quote():
    article = Article(source="t.txt", text=PAY_TEXT, kind="text")
    stated = Certification(name="The exam", cost_amount=150, cost_currency="GBP", quote="The exam fee is £150")
    unstated = stated.model_copy(update={"cost_amount": 160.0})
    cost = FEE.model_copy(update={"use": MoneyUse.certification_cost})
    kept = ground(article, Extraction(certifications=[stated], amounts=[cost]))
    assert len(kept.records) == 1 and kept.amounts[0].record == 0
    dropped = ground(article, Extraction(certifications=[unstated], amounts=[cost]))
    assert dropped.records == [] and dropped.stats.dropped_invalid == 1
    assert dropped.amounts[0].use is MoneyUse.unaccounted


@pytest.mark.parametrize(
    "text, folded, offsets",
    [
        ("  A\t\n “B” ", 'a "b" ', [2, 3, 6, 7, 8, 9]),  # no leading space, one per run, a trailing one kept
        ("ΟΔΟΣ Σ", "οδοσ σ", [0, 1, 2, 3, 4, 5]),  # σ as char by char, not the final ς of str.lower()
        ("x\u00a0–\u3000y", "x - y", [0, 1, 2, 3, 4]),  # no-break and ideographic spaces, an en dash
        ("", "", []),
    ],
)
def test_normalize_with_map_folds_and_maps_each_char(text, folded, offsets):
    assert normalize_with_map(text) == (folded, offsets)


@pytest.mark.parametrize("text", [TEXT, "Σ ΑΣ’ İstanbul —  x ", "İ", " \x1c\x85ΣΣ ", "\n".join([TEXT] * 20)])
def test_normalize_with_map_is_the_char_by_char_definition(text):
    """The whole-text path gives what folding one character at a time gives, including the rare cases."""
    assert normalize_with_map(text) == _normalize_char_by_char(text)
