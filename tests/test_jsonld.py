"""A page's schema.org JobPosting JSON-LD written out under its main text; pages written for these tests."""

from __future__ import annotations

import json

import lxml.html
import pytest

from pipeline.clean import clean
from pipeline.jsonld import posting_lines
from pipeline.money import scan_money
from schemas.documents import Page

BODY = (
    "<main><h1>Retrieval Engineer</h1><p>Our search team builds the ranking models behind a marketplace for used"
    " farm machinery. You will own the offline evaluation of every ranking change and the features it needs.</p>"
    "<p>We work in small groups, ship weekly and write down what we learn from each experiment we run.</p></main>"
)
POSTING = {
    "@context": "https://schema.org",
    "@type": "JobPosting",
    "title": "Retrieval Engineer",
    "hiringOrganization": {"@type": "Organization", "name": "Tractorly AB"},
    "jobLocation": {"@type": "Place", "address": {"addressLocality": "Uppsala", "addressCountry": "SE"}},
    "experienceRequirements": {"@type": "OccupationalExperienceRequirements", "monthsOfExperience": 24},
    "baseSalary": {
        "@type": "MonetaryAmount",
        "currency": "SEK",
        "value": {"@type": "QuantitativeValue", "minValue": 52000, "maxValue": 61000, "unitText": "MONTH"},
    },
}


def html(*blocks: object, raw: str = "") -> str:
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(b)}</script>' for b in blocks)
    return f"<!DOCTYPE html><html><head><title>Jobs</title>{scripts}{raw}</head><body>{BODY}</body></html>"


def lines(page: str) -> list[str]:
    return posting_lines(lxml.html.fromstring(page))


def test_a_posting_is_written_out_as_labelled_lines():
    assert lines(html(POSTING)) == [
        "Job title: Retrieval Engineer",
        "Employer: Tractorly AB",
        "Location: Uppsala, Sweden",
        "Experience: 2+ years",
        "Base salary: SEK 52,000–61,000 a month",
    ]


def test_the_salary_line_reads_as_the_money_the_posting_states():
    (money,) = scan_money(lines(html(POSTING))[-1])
    assert (money.currency, money.amount_min, money.amount_max, money.period.value) == ("SEK", 52000, 61000, "month")


@pytest.mark.parametrize(
    "salary, written",
    [
        ({"currency": "usd", "value": {"value": "45.5", "unitText": "HOUR"}}, "USD 45.5 an hour"),
        ({"currency": "EUR", "value": 70000}, "EUR 70,000"),
        ({"currency": "EUR", "value": {"minValue": 0, "unitText": "YEAR"}}, None),
        ({"value": {"minValue": 90000}}, None),
    ],
)
def test_a_salary_is_written_only_with_a_currency_and_a_number(salary, written):
    found = [line for line in lines(html(POSTING | {"baseSalary": salary})) if line.startswith("Base salary")]
    assert found == ([f"Base salary: {written}"] if written else [])


def test_postings_in_a_graph_are_found_and_other_types_are_not():
    graph = {"@graph": [{"@type": "Organization", "name": "Tractorly AB"}, POSTING]}
    article = {"@type": "Article", "headline": "Pay for retrieval engineers", "author": "Tractorly AB"}
    assert lines(html(graph, article)) == lines(html(POSTING))
    assert lines(html(article)) == []


def test_clean_adds_the_lines_under_the_main_text_and_skips_broken_json():
    broken = '<script type="application/ld+json">{"@type": "JobPosting", </script>'
    with_posting = clean(Page(source="job.html", body=html(POSTING, raw=broken).encode(), content_type="text/html"))
    without = clean(Page(source="job.html", body=html(raw=broken).encode(), content_type="text/html"))
    assert with_posting.text == without.text + "\n\n" + "\n".join(lines(html(POSTING)))
    assert "Tractorly" not in without.text
