"""Credentials: whole names found in text, one credential whatever a page calls it, its issuer by family."""

from __future__ import annotations

import pytest

from pipeline.credentials import canonical_certification, cert_key, find_certifications, issuer_of
from pipeline.resolve import resolve
from pipeline.vocab import vocabulary


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Get the AWS Certified Machine Learning Engineer – Associate next.",
            ["AWS Certified Machine Learning Engineer – Associate"],
        ),
        ("- Microsoft Certified: Azure AI Engineer Associate", ["Microsoft Certified: Azure AI Engineer Associate"]),
        ("Consider Azure AI Engineer (AI-102) first.", ["Azure AI Engineer (AI-102)"]),
        (
            "The Google Cloud Professional Machine Learning Engineer exam is hard.",
            ["Google Cloud Professional Machine Learning Engineer"],
        ),
        (
            "Take the Google Professional Machine Learning Engineer. Google Cloud's exam costs more.",
            ["Google Professional Machine Learning Engineer"],
        ),
        (
            "Then Microsoft's Azure AI Engineer Associate (exam AI-102). It covers search.",
            ["Microsoft's Azure AI Engineer Associate (exam AI-102)"],
        ),
        (
            "A few ads name the NVIDIA-Certified Associate: Generative AI LLMs these days.",
            ["NVIDIA-Certified Associate: Generative AI LLMs"],
        ),
        (
            "An AWS Certified Solutions Architect – Associate or Certified Kubernetes Administrator (CKA) helps.",
            ["AWS Certified Solutions Architect – Associate", "Certified Kubernetes Administrator (CKA)"],
        ),
        (
            "Banks list the Microsoft Certified: Azure Data Engineer Associate"
            " and the Certified Analytics Professional.",
            ["Microsoft Certified: Azure Data Engineer Associate", "Certified Analytics Professional"],
        ),
        (
            "- AWS Certified AI Practitioner\n- Google Cloud Generative AI Leader",  # a name never runs across lines
            ["AWS Certified AI Practitioner", "Google Cloud Generative AI Leader"],
        ),
        ("Free courses from LangChain Academy.", ["LangChain Academy"]),
        ("AWS is popular with startups.", []),
        ("Certified engineers earn 12% more.", []),  # a credential word with nothing it is about
        ("Which AWS Certification Should You Take First?", []),
        ("Google Cloud's professional-level exams and Google's career certificates differ.", []),
        ("A Google Cloud Engineer at Amazon Bedrock", []),  # a job and a product, no credential word
    ],
)
def test_credentials_are_found_with_their_whole_names(text, expected):
    found = find_certifications(text)
    assert [c.quote for c in found] == expected
    assert all(c.name == c.quote and c.quote in text for c in found)  # named as written; resolved later


def test_a_found_credential_is_named_as_written_and_resolves_to_the_canonical_name():
    (cert,) = find_certifications("Start with the Azure AI Engineer (AI-102) exam.")
    assert cert.name == cert.quote == "Azure AI Engineer (AI-102)"
    assert resolve("certification", cert.name).name == "Microsoft Certified: Azure AI Engineer Associate"


@pytest.mark.parametrize(
    "written, canonical",
    [
        ("AWS AI Practitioner", "AWS Certified AI Practitioner"),
        ("Azure AI Engineer Associate (AI-102)", "Microsoft Certified: Azure AI Engineer Associate"),
        ("Microsoft's Azure AI Engineer Associate (exam AI-102)", "Microsoft Certified: Azure AI Engineer Associate"),
        ("Microsoft's Azure AI Engineer Associate", "Microsoft Certified: Azure AI Engineer Associate"),
        ("Microsoft Azure AI Engineer Associate", "Microsoft Certified: Azure AI Engineer Associate"),
        ("AWS Certified Machine Learning Engineer - Associate", "AWS Certified Machine Learning Engineer – Associate"),
        ("Amazon Web Services ML Engineer Associate", "AWS Certified Machine Learning Engineer – Associate"),
        ("Google Professional Machine Learning Engineer", "Google Cloud Professional Machine Learning Engineer"),
        ("GCP Professional ML Engineer", "Google Cloud Professional Machine Learning Engineer"),
        ("Certified Kubernetes Administrator (CKA)", "Certified Kubernetes Administrator"),
        ("Huawei Certified ICT Associate – AI (HCIA-AI)", "Huawei Certified ICT Associate – AI"),
        ("Snowflake SnowPro Core Certification", "Snowflake SnowPro Core Certification"),  # unknown: kept as written
    ],
)
def test_names_of_a_credential_resolve_to_its_canonical_name(written, canonical):
    assert canonical_certification(written) == canonical


@pytest.mark.parametrize(
    "a, b",
    [
        ("AWS Certified Data Engineer – Associate", "Microsoft Certified: Azure Data Engineer Associate"),
        ("Google Data Analytics Professional Certificate", "Google Cloud Professional Data Engineer"),
        ("Google Data Analytics Professional Certificate", "Google Advanced Data Analytics Professional Certificate"),
        ("AWS Certified Machine Learning – Specialty", "AWS Certified Machine Learning Engineer – Associate"),
    ],
)
def test_credentials_of_different_issuers_or_subjects_stay_apart(a, b):
    assert canonical_certification(a) != canonical_certification(b) and cert_key(a) != cert_key(b)


def test_a_short_form_is_spelled_out_only_as_a_whole_word():
    assert cert_key("AWS ML Engineer Associate") == cert_key("AWS Machine Learning Engineer Associate")
    assert cert_key("Acme HTML Developer Certificate") == "acme html developer"
    assert cert_key("Acme GenAI Developer") == cert_key("Acme Generative AI Developer")


@pytest.mark.parametrize(
    "name, issuer",
    [
        ("Google Data Analytics Professional Certificate", "Google"),  # a career certificate, not Google Cloud
        ("Google Advanced Data Analytics Professional Certificate", "Google"),
        ("Google Professional Machine Learning Engineer", "Google Cloud"),
        ("GCP Professional Data Engineer", "Google Cloud"),
        ("TensorFlow Developer Certificate", "Google"),
        ("Azure AI Engineer (AI-102)", "Microsoft"),
        ("Amazon Web Services Certified Cloud Practitioner", "AWS"),
        ("Certified Kubernetes Administrator (CKA)", "Linux Foundation"),  # named by its entry: no family says it
        ("Certified Data Wrangler", None),
    ],
)
def test_the_issuer_comes_from_the_credential_family(name, issuer):
    assert issuer_of(name) == issuer


def test_every_known_name_and_code_resolves_to_its_own_credential_and_no_two_share_a_key():
    known = vocabulary().certifications.certification
    names = [(alias, c.name) for c in known for alias in (c.name, *c.aliases)]
    assert [(alias, name) for alias, name in names if canonical_certification(alias) != name] == []
    keys = [cert_key(c.name) for c in known]
    assert len(keys) == len(set(keys))
