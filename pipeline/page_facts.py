"""Who a page's pay is for, when the page says it once: its title, its labelled fields, its section headings.

A job posting names its level, place, employer and years of experience in its title ("Senior ML Engineer,
Payments — Berlin") and in labelled fields ("Location: Berlin", "Experience: 5+ years", a front matter's
"agency: …", the lines `pipeline.jsonld` writes out from its JobPosting data), seldom in the sentence that
states the pay; the years it asks for are often only in its requirements ("What we are looking for: - 5+ years
…"). A salary whose own words name none of these takes the page's, but only what the page names exactly one
of: a guide whose title names three countries gives its figures no region. A guide's sections name their
country in a heading ("Brazil", then "CLT or PJ", then a table): a figure takes the region of the last heading
before it that names one. The labels and requirement headings are vocabulary (postings.toml).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.figures import Figure
from pipeline.levels import levels_named, parse_years, spans_all_levels
from pipeline.mentions import employers_named, regions_named
from pipeline.vocab import alternation, any_of, vocabulary
from schemas.records import Level, Salary

_LABELS = vocabulary().postings
_FIELDS = ("title", "employer", "region", "years", "level")
# A field: a label at the start of a line or of a "|" or "·" part, Markdown emphasis around it, then a colon.
_FIELD = {
    name: re.compile(rf"^[\s*_>-]*(?:{alternation(getattr(_LABELS, name))})[\s*_]*:[\s*_]*(.+?)\s*$", re.I)
    for name in _FIELDS
}
_PAY = re.compile(any_of(vocabulary().cues.pay), re.I)
_PARTS = re.compile(r"\s[|·]\s")
_REQUIREMENTS = re.compile(rf"^[\s#*_]*(?:{alternation(_LABELS.requirements)})[\s*_]*:?[\s*_]*$", re.I)
# A field that is a company's name: capitalised words ending in a legal form ("Tanvika Analytics Pvt. Ltd.").
_COMPANY = re.compile(rf"^\s*((?:[A-Z][\w&'.-]*,?\s+){{1,5}}(?:{alternation(_LABELS.legal_forms)}))\s*$")
_HEADING_MAX = 60  # characters: a longer line without a stop is a wrapped sentence, not a heading
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_FIGURE = re.compile(r"\d{3}|\d[,.]\d")  # an amount, not "B2B" or "Top 10 cities"
_HEAD_LINES = 10  # a posting's header (title, company, place, dates); a publisher's name sits in a footer
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s")


@dataclass(frozen=True)
class PageFacts:
    """What a page says once about who its pay is for; blank where it names none or several."""

    level: Level = Level.unspecified
    years: tuple[float | None, float | None] = (None, None)
    region: str | None = None
    employer: str | None = None
    sections: tuple[tuple[int, str], ...] = ()  # (start, region) of each heading that names one region

    def region_at(self, offset: int) -> str | None:
        """The region of the last heading naming one before `offset`, else the page's."""
        index = bisect.bisect_right(self.sections, (offset, "\uffff")) - 1
        return self.sections[index][1] if index >= 0 else self.region


def labelled_fields(text: str) -> dict[str, list[str]]:
    """The values of the page's labelled fields, by what they label ("region": ["Berlin (hybrid)"])."""
    found: dict[str, list[str]] = {name: [] for name in _FIELDS}
    for line in text.splitlines():
        for part in _PARTS.split(line):
            for name, pattern in _FIELD.items():
                if match := pattern.match(part):
                    found[name].append(match.group(1))
                    break
    return found


def page_facts(title: str | None, text: str) -> PageFacts:
    """The level, years, region and employer the page's title and labelled fields name exactly one of; years
    from its requirements' list items when the title and fields name none."""
    fields = labelled_fields(text)
    heads = [title or "", *fields["title"]]
    named = set().union(*(_years(value) for value in [*heads, *fields["years"]]))
    years = _one([named]) if named else _one(map(_years, requirements(text)))
    return PageFacts(
        level=_one(levels_named(value) for value in [*heads, *fields["level"]]) or Level.unspecified,
        years=years or (None, None),
        region=_one(regions_named(value) for value in [*heads, *fields["region"]]),
        employer=_employer(fields["employer"], text, heads),
        sections=tuple(section_regions(text)),
    )


def section_regions(text: str) -> list[tuple[int, str]]:
    """Where each heading that names exactly one region starts, with that region ("Brazil", "## Austria: pay")."""
    found, start = [], 0
    for line in text.split("\n"):
        named = regions_named(line) if _is_heading(line) else set()
        if len(named) == 1:
            found.append((start, named.pop()))
        start += len(line) + 1
    return found


def _is_heading(line: str) -> bool:
    """A Markdown heading, or a short line with no amount (a year aside) and no sentence or list mark."""
    text = line.strip()
    if text.startswith("#"):
        return True
    if not text or len(text) > _HEADING_MAX or _LIST_ITEM.match(line) or "|" in text:
        return False
    return not text.endswith((".", ":", ";", ",")) and not _FIGURE.search(_YEAR.sub("", text))


def _employer(labelled: list[str], text: str, heads: list[str]) -> str | None:
    """The employer the page's fields name: labelled, or a name with a legal form among the fields of a header
    line ("Tanvika Analytics Pvt. Ltd. | Bengaluru"; a name alone on a line may be a publisher's); else the one
    kind of employer a title about pay names ("What AI startups pay", not "GPU access for startups")."""
    head = [_PARTS.split(line) for line in text.splitlines() if line.strip()][:_HEAD_LINES]
    companies = [m.group(1) for parts in head if len(parts) > 1 for part in parts if (m := _COMPANY.match(part))]
    named = {value.strip(" ,;") for value in [*labelled, *companies]}
    return _one([named]) if named else _one(employers_named(head) for head in heads if _PAY.search(head))


def requirements(text: str) -> list[str]:
    """The list items under the page's requirements headings ("What we are looking for", then "- 5+ years …")."""
    items: list[str] = []
    inside = False
    for line in text.splitlines():
        if _REQUIREMENTS.match(line):
            inside = True
        elif _LIST_ITEM.match(line) and inside:
            items.append(line)
        elif line.strip():
            inside = False
    return items


def _years(text: str) -> set[tuple[float | None, float | None]]:
    found = parse_years(text)
    return {found} if found != (None, None) else set()


def _one(named: Iterable[set]):
    """The single value the sources name between them, or None when they name none or several."""
    values = set().union(*named)
    return values.pop() if len(values) == 1 else None


def with_page_facts(salary: Salary, facts: PageFacts, fig: Figure) -> Salary:
    """The salary of `fig` with what the page says where the figure's own words say nothing: the page's level
    (over a model's guess when the figure's sentence and context name no level) and years unless the salary
    names other years; the region of its section's heading, else the page's; the page's employer."""
    update: dict = {}
    years = (salary.years_min, salary.years_max)
    words = f"{salary.quote}\n{fig.context.text if fig.context else ''}"
    if years in ((None, None), facts.years) and not levels_named(words) and not spans_all_levels(words):
        update["level"] = facts.level if facts.level is not Level.unspecified else salary.level
    if years == (None, None) and update.get("level", salary.level) in (Level.unspecified, facts.level):
        update.update(years_min=facts.years[0], years_max=facts.years[1])
    if salary.region is None and (region := facts.region_at(fig.money.start)):
        update["region"] = region
    if salary.employer is None and facts.employer:
        update["employer"] = facts.employer
    return salary.model_copy(update=update) if update else salary
