"""A page's schema.org JobPosting data (JSON-LD), written out as labelled lines of text.

A job board often states a posting's pay, employer, place and experience only in the JSON-LD block of its
<head>, which no reader sees and trafilatura drops. The clean stage adds these lines under the main text, so a
salary in them is scanned, grounded and accounted like any other figure, and the page's labelled fields
(`pipeline.page_facts`) say who its pay is for. The labels are the first of each list in postings.toml.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import lxml.html
from babel import Locale

from pipeline.vocab import vocabulary

_LABELS = vocabulary().postings
_SCRIPTS = "//script[@type='application/ld+json']"
_COUNTRIES = Locale("en").territories  # "DE" → "Germany": addressCountry is usually an ISO 3166 code


def posting_lines(tree: lxml.html.HtmlElement) -> list[str]:
    """The labelled lines of every JobPosting in the page's JSON-LD ("Employer: …", "Base salary: USD …")."""
    lines: list[str] = []
    for script in tree.xpath(_SCRIPTS):
        try:
            data = json.loads(script.text_content())
        except ValueError:
            continue  # a page's broken metadata must not cost it its main text
        for posting in _postings(data):
            lines += _lines(posting)
    return lines


def _postings(data: object) -> Iterator[dict]:
    """The JobPosting objects in a JSON-LD document: top level, a list, or an @graph."""
    if isinstance(data, list):
        for item in data:
            yield from _postings(item)
    elif isinstance(data, dict):
        types = data.get("@type")
        if types == "JobPosting" or (isinstance(types, list) and "JobPosting" in types):
            yield data
        yield from _postings(data.get("@graph", []))


def _lines(posting: dict) -> list[str]:
    """One posting's fields as "Label: value" lines, those it states."""
    fields = (
        (_LABELS.title[0], _text(posting.get("title"))),
        (_LABELS.employer[0], _name(posting.get("hiringOrganization"))),
        (_LABELS.region[0], _location(posting.get("jobLocation"))),
        (_LABELS.years[0], _experience(posting.get("experienceRequirements"))),
        (_LABELS.salary[0], _salary(posting.get("baseSalary"))),
    )
    return [f"{label}: {value}" for label, value in fields if value]


def _text(value: object) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def _name(value: object) -> str | None:
    """An Organization's name, or the text given in its place."""
    return _text(value.get("name")) if isinstance(value, dict) else _text(value)


def _location(value: object) -> str | None:
    """A Place's locality, region and country ("Berlin, Germany"); the first place of a list."""
    if isinstance(value, list):
        value = value[0] if value else None
    address = value.get("address") if isinstance(value, dict) else None
    if not isinstance(address, dict):
        return _text(address)
    country = _name(address.get("addressCountry"))
    parts = [_text(address.get("addressLocality")), _text(address.get("addressRegion"))]
    parts.append(_COUNTRIES.get(country.upper(), country) if country else None)
    return ", ".join(part for part in parts if part) or None


def _experience(value: object) -> str | None:
    """OccupationalExperienceRequirements' monthsOfExperience as a minimum in years ("3+ years")."""
    months = _number(value.get("monthsOfExperience")) if isinstance(value, dict) else None
    return f"{months / 12:g}+ years" if months else None


def _salary(value: object) -> str | None:
    """A MonetaryAmount as the scanner reads it: "USD 138,000–171,000 a year"; None without currency or number."""
    if not isinstance(value, dict) or not isinstance(value.get("value"), dict | int | float | str):
        return None
    amount, currency = value["value"], _text(value.get("currency"))
    if not isinstance(amount, dict):
        amount = {"value": amount}
    low, high = (_number(amount.get(key)) for key in ("minValue", "maxValue"))
    low = low or _number(amount.get("value"))
    if not currency or not low:
        return None
    figures = _figure(low) if not high or high == low else f"{_figure(low)}–{_figure(high)}"
    period = _LABELS.unit_text.get(str(amount.get("unitText") or value.get("unitText") or "").upper())
    return " ".join(filter(None, (currency.upper(), figures, period)))


def _figure(number: float) -> str:
    """A number with thousands commas and no trailing zeros: 138,000 and 45.5."""
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def _number(value: object) -> float | None:
    """A JSON number, or a string that holds one; None otherwise."""
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        return None
    return number if number and number > 0 else None
