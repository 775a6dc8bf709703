"""The figure bank (fixtures/bank) holds invented pages written to measure how the pipeline generalises, with
their labels in gold files. These data-driven checks keep every page and label honest: a label names a figure
the page really writes, is labelled as pay or not pay but never both, and the bank keeps its promised size."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from pipeline.vocab import vocabulary

BANK = Path(__file__).resolve().parent.parent / "fixtures" / "bank"
FIXTURES = BANK.parent
KINDS = {
    "tables",
    "job_postings",
    "country_guides",
    "freelance",
    "forums",
    "money_news",
    "long_guides",
    "raises_bonuses",
}
PERIODS = {"year", "month", "week", "day", "hour"}
CLAIM_UNITS = {"percent", "multiple", "count", "weeks"}
CLAIM_METRICS = {
    "job_growth",
    "postings_growth",
    "salary_growth",
    "salary_premium",
    "skill_demand",
    "shortage_share",
    "adoption_share",
    "hiring_time",
    "other",
}

# A page may write a figure in a unit it states once: "€ thousands" over a column, "12.5 lakh", "600万円".
# Each word found anywhere on the page (not inside a longer word) lets its numbers stand for the number times
# the factor ("310k", "$K" and "thousands" alike); a suffix counts only right after a digit ("$1.2M").
SCALE_WORDS = {
    1_000: ["k", "thousand", "thousands", "'000", "’000", "000s", "tys", "ribu"],
    10_000: ["万", "만"],
    100_000: ["lakh", "lakhs", "LPA"],
    1_000_000: ["million", "millions", "mn", "juta", "jt", "triệu"],
    10_000_000: ["crore", "crores", "cr"],
    100_000_000: ["億", "억"],
    1_000_000_000: ["billion", "billions", "bn", "tỷ"],
    1_000_000_000_000: ["trillion", "trillions"],
}
SCALE_SUFFIXES = {1_000_000: "m"}
# Digits joined by thousands separators or a decimal mark: "1,250,000", "1.250.000", "1 250 000", "1'250'000".
NUMBER = re.compile(r"\d+(?:[.,'’\u00a0\u202f ]\d+)*")
SEPARATOR = re.compile(r"[.,'’\u00a0\u202f ]")


def _gold_files() -> list[Path]:
    return sorted(BANK.rglob("gold*.json"))


def _documents() -> list[dict]:
    return [doc for path in _gold_files() for doc in json.loads(path.read_text(encoding="utf-8"))["documents"]]


DOCUMENTS = _documents()
IDS = [doc["source"] for doc in DOCUMENTS]


def _page(doc: dict) -> str:
    return (FIXTURES / doc["source"]).read_text(encoding="utf-8")


def _is_group(digits: str, separator: str) -> bool:
    """Three digits after any thousands separator, or two after a comma (Indian grouping: "18,00,000")."""
    return len(digits) == 3 or (len(digits) == 2 and separator == ",")


def _readings(token: str) -> set[float]:
    """Every value a run of digits and separators can stand for: whole groups, a decimal tail, or any stretch."""
    parts, seps = re.split(SEPARATOR, token), SEPARATOR.findall(token)
    values: set[float] = set()
    for i in range(len(parts)):
        whole = parts[i]
        for j in range(i, len(parts)):
            if j > i:
                if not _is_group(parts[j], seps[j - 1]) or (j > i + 1 and seps[j - 1] != seps[j - 2]):
                    break
                whole += parts[j]
            values.add(float(whole))
            if j + 1 < len(parts) and seps[j] in ".," and (j == i or seps[j] != seps[j - 1]):
                values.add(float(f"{whole}.{parts[j + 1]}"))
    return values


def _scales(text: str) -> list[int]:
    """The factors whose words or suffixes the page uses, and 1."""
    lowered = text.casefold()
    found = [1]
    for factor, words in SCALE_WORDS.items():
        patterns = [rf"(?<![a-z]){re.escape(word.casefold())}(?![a-z])" for word in words]
        if factor in SCALE_SUFFIXES:
            patterns.append(rf"\d\s?{SCALE_SUFFIXES[factor]}(?![a-z])")
        if any(re.search(pattern, lowered) for pattern in patterns):
            found.append(factor)
    return found


def amounts_written(text: str) -> set[float]:
    """The numbers a page writes, each also times every scale the page uses (thousands, lakh, 万, million)."""
    scales = _scales(text)
    return {value * scale for token in NUMBER.findall(text) for value in _readings(token) for scale in scales}


def _is_written(number: float, written: set[float]) -> bool:
    return any(math.isclose(number, value, rel_tol=1e-9, abs_tol=1e-6) for value in written)


def _labelled_numbers(doc: dict) -> list[float]:
    pay = [bound for entry in doc["salaries"] + doc.get("optional", []) for bound in entry["bounds"]]
    return pay + list(doc.get("forbidden", []))


def test_every_gold_file_loads_and_names_pages_that_exist():
    assert _gold_files(), "fixtures/bank holds no gold file"
    missing = [doc["source"] for doc in DOCUMENTS if not (FIXTURES / doc["source"]).is_file()]
    assert missing == []
    assert len(IDS) == len(set(IDS)), "a page is labelled twice"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_labels_have_the_gold_shape(doc):
    assert doc.get("kind") in KINDS
    for salary in doc["salaries"] + doc.get("optional", []):
        assert salary["period"] in PERIODS and salary["currency"], salary
        assert 1 <= len(salary["bounds"]) <= 2 and salary["bounds"] == sorted(salary["bounds"]), salary
    for claim in doc.get("claims", []):
        assert claim["metric"] in CLAIM_METRICS, claim
        assert claim["unit"] in CLAIM_UNITS or re.fullmatch(r"[A-Z]{3}", claim["unit"]), claim


@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_every_labelled_number_is_written_in_its_page(doc):
    written = amounts_written(_page(doc))
    assert [n for n in _labelled_numbers(doc) if not _is_written(n, written)] == []


@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_no_forbidden_number_is_also_pay_on_its_page(doc):
    pay = {bound for entry in doc["salaries"] + doc.get("optional", []) for bound in entry["bounds"]}
    assert pay & set(doc.get("forbidden", [])) == set()


@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_credentials_and_skills_are_named_in_their_page(doc):
    """A credential is labelled by its official name; the page may write it as one of its known other names."""
    flat = " ".join(_page(doc).split()).casefold()
    named = doc.get("certifications", []) + doc.get("skills", [])
    assert [name for name in named if not any(n.casefold() in flat for n in _names_of(name))] == []


def _names_of(name: str) -> list[str]:
    """`name` and, for a known credential, the other names the vocabulary lists for it."""
    known = {c.name: c.aliases for c in vocabulary().certifications.certification}
    return [name, *known.get(name, [])]


def test_the_reader_of_written_numbers_knows_locale_separators_and_scale_words():
    assert {1_250_000, 12.5} <= amounts_written("1 250 000 or 1.250.000 or 12,5")
    assert 1_250_000 in amounts_written("a salary of 12,5 lakh")
    assert 1_800_000 in amounts_written("₹18,00,000 a year")
    assert 6_000_000 in amounts_written("年収600万円")
    assert {60_000, 75_000} <= amounts_written("Range (€ thousands): 60–75")
    assert 1_250_000 not in amounts_written("125 000 and 1250")
    assert 1_200_000 in amounts_written("a $1.2M seed round") and 1_200_000 not in amounts_written("1.2 mm")


def test_the_bank_holds_at_least_40_pages_400_amounts_and_15_currencies():
    """Issue 15.1's floor for the whole bank (both writers' gold files together)."""
    amounts = sum(len(_labelled_numbers(doc)) for doc in DOCUMENTS)
    currencies = {
        code for doc in DOCUMENTS for entry in doc["salaries"] + doc.get("optional", []) for code in entry["currency"]
    }
    assert len(DOCUMENTS) >= 40
    assert amounts >= 400
    assert len(currencies) >= 15


def test_the_ci_gate_is_a_fixed_part_of_the_bank_with_every_kind_of_page():
    """fixtures/bank/gate.json (made by `kb gold subset`, see .ci/run) holds bank documents exactly as gold.json
    labels them, at least 12 of them, and every kind of page: a label changed in one file only fails here."""
    gate = json.loads((BANK / "gate.json").read_text(encoding="utf-8"))["documents"]
    labelled = {doc["source"]: doc for doc in json.loads((BANK / "gold.json").read_text(encoding="utf-8"))["documents"]}
    assert [doc for doc in gate if labelled.get(doc["source"]) != doc] == []
    assert len(gate) >= 12 and len({doc["source"] for doc in gate}) == len(gate)
    assert {doc["kind"] for doc in gate} == KINDS
