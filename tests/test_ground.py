"""Ground stage: quotes located exactly or after normalisation; the stored quote is always the article's slice."""

from __future__ import annotations

import pytest

from pipeline.ground import ground, locate
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
