"""Deterministic mention finders: skills, regions, employers — each span exact (credentials and claims have their
own tests in test_credentials.py and test_claims.py)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from pipeline.clean import normalize_text
from pipeline.mentions import (
    _SKILL_AFTER,
    _SKILL_BEFORE,
    _SKILL_RE,
    SKILL_ALIASES,
    SKILLS,
    find_employer,
    find_region,
    find_skills,
    literal_trie,
)
from pipeline.resolve import resolve


@pytest.mark.parametrize(
    "text, expected",
    [
        ("We write Python and SQL daily.", {"Python", "SQL"}),
        ("Teams ship RAG features on pgvector.", {"retrieval-augmented generation", "pgvector"}),
        ("Knowledge of vector databases and PyTorch helps.", {"vector databases", "PyTorch"}),
        ("You will go to meetings and grade R&D ideas.", set()),  # 'go' and 'R' as words are not skills
        ("Experience with Go and R is a plus.", {"Go", "R"}),
        ("AWS Bedrock or Azure AI Foundry, sometimes Vertex AI.", {"AWS Bedrock", "Azure AI Foundry", "Vertex AI"}),
        ("Our C++ and C# services", {"C++"}),
    ],
)
def test_skills(text, expected):
    found = find_skills(text)
    assert {resolve("skill", s.name).name for s in found} == expected
    for skill in found:
        assert skill.quote in text and skill.name == skill.quote  # named as written; entities are resolved later


@pytest.mark.parametrize(
    "texts, region",
    [
        (("Engineers in London earn",), "UK"),
        (("pay in the U.S. is",), "US"),
        (("", "Salaries in Bengaluru"), "India"),
        (("no place here",), None),
        (("Across Europe / Asia roles pay",), "Europe"),
        # a city names its country; countries of pay guides beyond Europe and North America
        (("Copenhagen | 52 000 – 60 000",), "Denmark"),
        (("A senior engineer in Tallinn makes",), "Estonia"),
        (("Offers in Pangyo run higher",), "South Korea"),
        (("Sofia, a data scientist, was offered",), None),  # a first name, not Bulgaria's capital
        # any other country by its English name (CLDR); a country name that is also a first name is not one
        (("Tech salaries in Kazakhstan, 2026",), "Kazakhstan"),
        (("Pay in Ghana and Kenya",), "Ghana"),
        (("Jordan, a data engineer, asked",), None),
    ],
)
def test_region(texts, region):
    assert find_region(*texts) == region


@pytest.mark.parametrize(
    "text, employer",
    [
        ("at big tech firms", "big tech"),
        ("top AI companies pay", "top AI companies"),
        ("early startups", "startups"),
        ("in general", None),
    ],
)
def test_employer(text, employer):
    assert find_employer(text) == employer


@pytest.mark.parametrize(
    "texts, role",
    [
        (("Senior AI engineers earn",), "AI engineer"),
        (("ML Engineers in London",), "ML engineer"),
        (("", "a data scientist makes"), "data scientist"),
        (("Machine learning engineers",), "machine learning engineer"),
        (("nothing here",), None),
    ],
)
def test_role(texts, role):
    from pipeline.mentions import find_role

    assert find_role(*texts) == role


def test_a_literal_trie_matches_the_longest_word_that_fits_like_the_plain_alternation():
    words = {"go", "gold", "golang", "r", "rust", "c", "c++", "c#"}
    trie = re.compile(r"(?<!\w)(" + literal_trie(words) + r")(?![\w+#])")
    flat = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")(?![\w+#])")
    text = "go gold golang goldfish gol r rust rusty c c++ c# c+ golangx go+"
    assert [m.span() for m in trie.finditer(text)] == [m.span() for m in flat.finditer(text)]
    assert trie.findall(text) == ["go", "gold", "golang", "r", "rust", "c", "c++", "c#"]


def test_the_skill_pattern_finds_what_the_plain_alternation_of_every_name_finds():
    names = sorted([*SKILLS, *SKILL_ALIASES], key=len, reverse=True)
    flat = re.compile(_SKILL_BEFORE + "|".join(map(re.escape, names)) + _SKILL_AFTER, re.IGNORECASE)
    rng = random.Random(7)
    pieces = [*names, "the", "and", "-", "+", "#", "&", "/", ",", ".", "x", "2"]
    pages = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
    texts = [normalize_text(p.read_text(encoding="utf-8")) for p in pages.glob("*")]
    assert len(texts) >= 5
    for _ in range(300):  # names glued, cut, re-cased and stuck to punctuation, where the edges decide
        words = [rng.choice(pieces) for _ in range(30)]
        words = [
            w.upper() if rng.random() < 0.2 else w[: rng.randint(1, len(w))] if rng.random() < 0.1 else w for w in words
        ]
        texts.append("".join(w + rng.choice(["", " ", " ", "-", ".", "++"]) for w in words))
    for text in texts:
        assert [(m.span(), m.group(1)) for m in _SKILL_RE.finditer(text)] == [
            (m.span(), m.group(1)) for m in flat.finditer(text)
        ]
