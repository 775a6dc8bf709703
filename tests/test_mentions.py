"""Deterministic mention finders: skills, certifications, claims, regions, employers — each span exact."""

from __future__ import annotations

import pytest

from pipeline.mentions import find_certifications, find_claims, find_employer, find_region, find_skills


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
    assert {s.name for s in found} == expected
    for skill in found:
        assert skill.quote in text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Get the AWS Certified Machine Learning Engineer – Associate next.", "AWS Certified Machine Learning Engineer – Associate"),
        ("- Microsoft Certified: Azure AI Engineer Associate", "Microsoft Certified: Azure AI Engineer Associate"),
        ("Consider Azure AI Engineer (AI-102) first.", "Azure AI Engineer (AI-102)"),
        ("The Google Cloud Professional Machine Learning Engineer exam", "Google Cloud Professional"),
        ("AWS is popular with startups.", None),
    ],
)
def test_certifications(text, expected):
    names = [c.name for c in find_certifications(text)]
    if expected is None:
        assert names == []
    else:
        assert names and names[0].startswith(expected)
        assert all(c.quote in text for c in find_certifications(text))


def test_claims_need_a_number_and_a_market_topic():
    text = "Job postings grew 58% last year. We met 3 people. Pay rose. Certified engineers earn 12% more."
    claims = [c.quote for c in find_claims(text)]
    assert claims == ["Job postings grew 58% last year.", "Certified engineers earn 12% more."]


@pytest.mark.parametrize(
    "texts, region",
    [(("Engineers in London earn",), "UK"), (("pay in the U.S. is",), "US"), (("", "Salaries in Bengaluru"), "India"),
     (("no place here",), None), (("Across Europe / Asia roles pay",), "Europe")],
)
def test_region(texts, region):
    assert find_region(*texts) == region


@pytest.mark.parametrize(
    "text, employer",
    [("at big tech firms", "big tech"), ("top AI companies pay", "top AI companies"), ("early startups", "startups"),
     ("in general", None)],
)
def test_employer(text, employer):
    assert find_employer(text) == employer
