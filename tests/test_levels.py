"""Tables for level, years-of-experience and pay-basis reading; strings are written for these tests."""

from __future__ import annotations

import pytest

from pipeline.levels import detect_pay_basis, parse_level
from schemas.records import Level, PayBasis

# (text, level, years_min, years_max)
LEVELS = [
    ("Intern", Level.intern, None, None),
    ("Summer internship in ML", Level.intern, None, None),
    ("Entry-Level (0-2 years)", Level.entry, 0, 2),
    ("entry level engineer", Level.entry, None, None),
    ("New grad hires", Level.entry, None, None),
    ("graduate engineer scheme", Level.entry, None, None),
    ("Starting out", Level.entry, None, None),
    ("Freshers in Pune", Level.entry, None, None),
    ("early-career engineers", Level.entry, None, None),
    ("0–2 years", Level.entry, 0, 2),
    ("less than 2 years of experience", Level.entry, None, 2),
    ("Junior", Level.junior, None, None),
    ("Jr. developer", Level.junior, None, None),
    ("Mid-Level (3-5 years)", Level.mid, 3, 5),
    ("mid level engineers", Level.mid, None, None),
    ("Mid", Level.mid, None, None),
    ("intermediate engineer", Level.mid, None, None),
    ("Medior data scientist", Level.mid, None, None),
    ("junior to mid-level", Level.mid, None, None),
    ("Senior-Level (5+ years)", Level.senior, 5, None),
    ("Sr. ML Engineer", Level.senior, None, None),
    ("Senior engineers lead teams", Level.senior, None, None),
    ("Staff", Level.staff, None, None),
    ("Staff engineers with deep expertise", Level.staff, None, None),
    ("Senior Staff Engineer", Level.staff, None, None),
    ("Staff-level, 8+ years", Level.staff, 8, None),
    ("Tech Lead", Level.lead, None, None),
    ("team lead for search", Level.lead, None, None),
    ("Lead Data Scientist", Level.lead, None, None),
    ("Lead", Level.lead, None, None),
    ("MLOps Lead (Inference)", Level.lead, None, None),
    ("Platform lead, payments", Level.lead, None, None),
    ("Staff LLM Engineer", Level.staff, None, None),
    ("Data Scientist II", Level.mid, None, None),
    ("Software Engineer III, Search", Level.senior, None, None),
    ("Principal engineer", Level.principal, None, None),
    ("Distinguished Engineer", Level.principal, None, None),
    ("Director of AI", Level.executive, None, None),
    ("VP Engineering", Level.executive, None, None),
    ("Head of ML", Level.executive, None, None),
    ("Chief AI Officer", Level.executive, None, None),
    ("Senior Director, Applied AI", Level.executive, None, None),
    ("AI engineer", Level.unspecified, None, None),
    ("mid-sized companies", Level.unspecified, None, None),
    ("hospital staff", Level.unspecified, None, None),
    ("World War II veterans", Level.unspecified, None, None),
    ("data entry clerk", Level.unspecified, None, None),
    ("Leadership track (5+ years)", Level.unspecified, 5, None),
    ("Growing expertise (2-5 years)", Level.unspecified, 2, 5),
    ("1–3 years", Level.unspecified, 1, 3),
    ("10 or more years", Level.unspecified, 10, None),
    ("3-5 yrs", Level.unspecified, 3, 5),
    ("three to six years of experience", Level.unspecified, 3, 6),
    ("with 4 years of experience", Level.unspecified, 4, 4),
    ("over 8 years in industry", Level.unspecified, 8, None),
    ("7 years or more", Level.unspecified, 7, None),
    ("at least 6 years", Level.unspecified, 6, None),
    # years in other languages (levels.toml year_words)
    ("Lead / Staff (10+ J.)", Level.unspecified, 10, None),
    ("Junior (0–2 năm)", Level.junior, 0, 2),
    ("Mid (3–5 thn)", Level.mid, 3, 5),
    ("Senior (6+ år)", Level.senior, 6, None),
    ("a 4 year degree", Level.unspecified, None, None),
]

# (text, pay basis)
PAY_BASIS = [
    ("total compensation of $250K", PayBasis.total),
    ("Total comp is high", PayBasis.total),
    ("TC $310K", PayBasis.total),
    ("$200K (incl. stock/bonuses)", PayBasis.total),
    ("including equity and bonus", PayBasis.total),
    ("$180K with equity", PayBasis.total),
    ("base salary of $150K", PayBasis.base),
    ("base pay only", PayBasis.base),
    ("$150K base", PayBasis.base),
    ("£55,000 base, no equity", PayBasis.base),
    ("excluding bonus", PayBasis.base),
    ("not including bonus", PayBasis.base),
    ("salary of $150K", PayBasis.unspecified),
    ("base salary $150K; total compensation $250K", PayBasis.unspecified),
    ("database engineer", PayBasis.unspecified),
    ("a knowledge base", PayBasis.unspecified),
    ("tc is lowercase here", PayBasis.unspecified),
]


@pytest.mark.parametrize("text, level, years_min, years_max", LEVELS, ids=[case[0] for case in LEVELS])
def test_parse_level(text, level, years_min, years_max):
    assert parse_level(text) == (level, years_min, years_max)


@pytest.mark.parametrize("text, basis", PAY_BASIS, ids=[case[0] for case in PAY_BASIS])
def test_detect_pay_basis(text, basis):
    assert detect_pay_basis(text) is basis


@pytest.mark.parametrize(
    "text, spans",
    [
        ("Across all levels, the median base salary was $163,500.", True),
        ("Pay for all levels rose 4%.", True),
        ("Regardless of seniority, remote roles pay $10K less.", True),
        ("Senior engineers earn $180K.", False),
        ("All senior levels earn more.", False),
    ],
)
def test_figures_that_cover_every_level(text, spans):
    from pipeline.levels import spans_all_levels

    assert spans_all_levels(text) is spans


@pytest.mark.parametrize(
    "text, names",
    [
        ("Senior engineers", True),
        ("| Role | Junior | Mid |", True),
        ("with 3-5 years", True),
        ("The average salary for AI engineers in the US", False),
        ("for experienced professionals", False),
    ],
)
def test_whether_a_text_names_a_level(text, names):
    from pipeline.levels import names_a_level

    assert names_a_level(text) is names
