"""Ground stage: quotes located exactly or after normalisation; the stored quote is always the article's slice."""

from __future__ import annotations

import pytest

from pipeline.ground import _normalize_char_by_char, ground, locate, normalize_with_map
from schemas.documents import Article, Extraction
from schemas.records import Claim, Skill

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
        claims=[Claim(statement="invented", quote="Salaries doubled last year.")],
    )
    grounded = ground(article, extraction)
    assert [g.kind for g in grounded.records] == ["skill"]
    assert grounded.records[0].record.quote == "Senior engineers earn"
    assert grounded.stats.dropped_ungrounded == 1


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

