"""Entity resolution: every way a page names a skill or credential resolves to one entity, with one key."""

from __future__ import annotations

import pytest

from pipeline.resolve import resolve

SAME_CERTIFICATIONS = [
    ("AWS AI Practitioner", "AWS Certified AI Practitioner"),
    ("AIF-C01", "AWS Certified AI Practitioner"),
    ("Azure AI Engineer (AI-102)", "Microsoft Certified: Azure AI Engineer Associate"),
    ("Microsoft Certified: Azure AI Engineer Associate", "Microsoft Certified: Azure AI Engineer Associate"),
    ("AI-102", "Microsoft Certified: Azure AI Engineer Associate"),
    ("Google Cloud Professional ML Engineer", "Google Cloud Professional Machine Learning Engineer"),
    ("Databricks Certified Generative AI Engineer Associate", "Databricks Generative AI Engineer Associate"),
    ("Microsoft's Azure AI Engineer Associate (exam AI-102)", "Microsoft Certified: Azure AI Engineer Associate"),
    ("Google Professional Machine Learning Engineer", "Google Cloud Professional Machine Learning Engineer"),
    ("NVIDIA Generative AI LLMs", "NVIDIA-Certified Associate: Generative AI LLMs"),
]
SAME_SKILLS = [
    ("RAG", "retrieval-augmented generation"),
    ("Retrieval Augmented Generation", "retrieval-augmented generation"),
    ("k8s", "Kubernetes"),
    ("Scikit Learn", "scikit-learn"),
    ("LLM fine-tuning", "llm fine tuning"),  # unknown to the gazetteer: still one entity
    ("vector DB", "Vector Databases"),
]


@pytest.mark.parametrize("a, b", SAME_CERTIFICATIONS)
def test_names_of_one_credential_resolve_to_one_entity(a, b):
    assert resolve("certification", a).key == resolve("certification", b).key


@pytest.mark.parametrize("a, b", SAME_SKILLS)
def test_names_of_one_skill_resolve_to_one_entity(a, b):
    assert resolve("skill", a).key == resolve("skill", b).key


@pytest.mark.parametrize(
    "kind, a, b",
    [
        ("certification", "AWS Certified AI Practitioner", "AWS Certified Machine Learning – Specialty"),
        ("certification", "Azure AI Fundamentals (AI-900)", "Azure AI Engineer (AI-102)"),
        ("skill", "Java", "JavaScript"),
        ("skill", "Go", "Rust"),
    ],
)
def test_different_things_stay_apart(kind, a, b):
    assert resolve(kind, a).key != resolve(kind, b).key


@pytest.mark.parametrize(
    "kind, written, name, detail",
    [
        ("skill", "RAG", "retrieval-augmented generation", "practice"),
        ("skill", "pytorch", "PyTorch", "framework"),
        ("certification", "AWS AI Practitioner", "AWS Certified AI Practitioner", "AWS"),
        ("certification", "AI-102", "Microsoft Certified: Azure AI Engineer Associate", "Microsoft"),
        (
            "certification",
            "Google Data Analytics Certificate",
            "Google Data Analytics Professional Certificate",
            "Google",
        ),
        (
            "certification",
            "Google Professional ML Engineer",
            "Google Cloud Professional Machine Learning Engineer",
            "Google Cloud",
        ),
    ],
)
def test_a_known_entity_shows_its_canonical_name_and_details(kind, written, name, detail):
    ref = resolve(kind, written)
    assert ref.name == name and detail in (ref.category, ref.issuer)


def test_an_unknown_name_is_its_own_entity_with_tidy_spacing():
    ref = resolve("skill", "  prompt   caching ")
    assert (ref.name, ref.key) == ("prompt caching", "prompt caching")


def test_only_skills_and_credentials_are_resolved():
    with pytest.raises(ValueError, match="claim"):
        resolve("claim", "anything")
