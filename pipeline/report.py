"""A static HTML report of the knowledge base: an index page, an evidence page, and one page per document with its
quotes marked.

Read-only over the public views (`db.query.run_readonly`). The pages are Jinja2 templates (pipeline/templates)
with autoescaping, so every value from the database is HTML-escaped; this module only gathers rows and works out
positions. Every registered record kind (`db.kinds`) is counted, highlighted and listed with its own colour and
label. Record highlights come from the stored `char_start`/`char_end`, so what is marked is exactly what was
grounded. Where two quotes overlap, the one starting first (the longer on a tie) is marked and the other is still
listed beside the text. The salary chart's bars and the certification and skill rows link to the evidence page,
which lists the records and quotes behind each of them. Each run that re-extracted changed pages has a "what
changed" page (from `v_changes`) listing the records added, removed and changed, linked from the index.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote as percent_encode

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from db.kinds import RecordKind, kinds
from db.query import run_readonly

# The columns every record view has that say where a record is, not what it is.
_PLACE_COLUMNS = {"document_id", "source", "quote", "char_start", "char_end", "entity_id", "as_written"}
_ENV = Environment(
    loader=PackageLoader("pipeline", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Mark:
    """One record's quote in a document's text: where it is, what kind it is and what to say about it."""

    kind: str
    record_id: int
    start: int
    end: int
    quote: str
    details: str

    @property
    def anchor(self) -> str:
        return f"{self.kind}-{self.record_id}"


@dataclass
class Evidence:
    """One row of the index (a salary group, a certification, a skill) and the records behind it."""

    anchor: str  # its section of evidence.html
    title: str
    records: list[dict] = field(default_factory=list)  # view rows with an `href` to the record's quote


@dataclass
class PayGroup(Evidence):
    """A row of v_salary_by_level (yearly), with `open_ended` when its highest figure has no upper end."""

    row: dict = field(default_factory=dict)
    open_ended: bool = False


def write_report(database_url: str, out: str | Path) -> list[Path]:
    """Write index.html, evidence.html and docs/<document_id>.html under `out`; the paths written, index first."""
    out = Path(out)
    (out / "docs").mkdir(parents=True, exist_ok=True)
    documents = _rows(database_url, "SELECT document_id, source, title, text FROM v_documents ORDER BY document_id")
    marks = marks_by_document(database_url)
    placed = {(number, m.anchor) for number, ms in marks.items() for m in place(ms)}
    indexes = read_indexes(database_url, placed)
    changed = run_changes(database_url)
    pages = {
        out / "index.html": index_page(database_url, documents, indexes, changed),
        out / "evidence.html": _render("evidence.html.j2", indexes=indexes),
    }
    listed = {document["document_id"] for document in documents}
    for run in changed:
        pages[out / run.page] = _render("changes.html.j2", run=run, listed=listed)
    for document in documents:
        number = document["document_id"]
        pages[out / "docs" / f"{number}.html"] = document_page(document, marks.get(number, []))
    for path, page in pages.items():
        path.write_text(page, encoding="utf-8")
    return list(pages)


def _rows(database_url: str, sql: str) -> list[dict]:
    result = run_readonly(database_url, sql)
    return [dict(zip(result.columns, row, strict=False)) for row in result.rows]


def _render(template: str, **values) -> str:
    return _ENV.get_template(template).render(**values)


# --- numbers ----------------------------------------------------------------------------------------------------


def money(value) -> str:
    """A whole amount with thousands separators, cents only when there are some; '?' when unknown."""
    if value is None:
        return "?"
    return f"{value:,.0f}" if float(value) == int(value) else f"{value:,.2f}"


def span(low, high, open_ended: bool = False) -> str:
    """'low–high', or one figure when both are the same; a '+' after a figure with no upper end."""
    shown = money(low) if low == high or high is None else f"{money(low)}–{money(high)}"
    return shown + ("+" if open_ended else "")


def _cost(row: dict) -> str:
    low, high, currency = row.get("cost_low"), row.get("cost_high"), row.get("cost_currency")
    if low is None and high is None:
        return ""
    return f"{span(low, high)} {currency or ''}".strip()


# How a claim's unit follows its number ("6.2%", "2×", "9 weeks"); a unit not listed is written after a space.
_UNIT_MARKS = {"percent": "%", "multiple": "×", "count": ""}


def claim_figure(r: dict) -> str:
    """A claim's figure with its unit: '6.2%', '20–30%', '2×', '9 weeks', '1,412'."""
    if r.get("value") is None:
        return ""
    low, high = r["value"], r["value_max"]
    figure = f"{low:,g}" if high is None or high == low else f"{low:,g}–{high:,g}"
    unit = r.get("unit") or "count"
    return figure + _UNIT_MARKS.get(unit, f" {unit}")


def pay(r: dict) -> str:
    """A salary's amounts as the article states them: a range, '240,000+' or 'up to 90,000'."""
    low, high = r["amount_min"], r["amount_max"]
    if low is None:
        return f"up to {money(high)}"
    return span(low, high if high is not None else low, bool(r["open_ended"]) and high in (None, low))


def shown(value) -> str:
    """A record field as a "what changed" page shows it: numbers like money(), anything else as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return money(value)
    return str(value)


_ENV.filters.update(money=money, pay=pay, cost=_cost, shown=shown, claim_figure=claim_figure)


# --- index page -------------------------------------------------------------------------------------------------


@dataclass
class Indexes:
    """The index page's salary groups, certifications and skills, each with the records behind it."""

    pay: list[PayGroup]
    certifications: list[tuple[dict, Evidence]]  # a v_certification_index row and its mentions
    skills: list[tuple[dict, Evidence]]  # a v_skill_index row and its mentions
    claims: list[Evidence] = field(default_factory=list)  # typed claims, one group per metric


def read_indexes(database_url: str, placed: set[tuple[int, str]]) -> Indexes:
    """The aggregate views' rows and, for each, the records (with links to their quotes) behind it."""
    certifications = _rows(database_url, "SELECT * FROM v_certification_index ORDER BY n_sources DESC, certification")
    skills = _rows(database_url, "SELECT * FROM v_skill_index ORDER BY n_sources DESC, n_mentions DESC, skill")
    return Indexes(
        pay_groups(database_url, placed),
        list(zip(certifications, _certification_evidence(database_url, certifications, placed), strict=False)),
        list(zip(skills, _skill_evidence(database_url, skills, placed), strict=False)),
        claim_groups(database_url, placed),
    )


def index_page(database_url: str, documents: list[dict], indexes: Indexes, changed: list[RunChanges]) -> str:
    """The overview: documents with record counts, the salary chart and trend, the certification and skill
    indexes, and the runs whose changed pages changed records."""
    counts = {(row["document_id"], row["kind"]): row["n"] for row in _rows(database_url, _counts_sql(kinds()))}
    return _render(
        "index.html.j2",
        documents=documents,
        counts=counts,
        chart=salary_chart(indexes.pay),
        trend=trend_chart(trend_series(database_url)),
        indexes=indexes,
        changed=changed,
    )


def _counts_sql(registered: Iterable[RecordKind]) -> str:
    return " UNION ALL ".join(
        f"SELECT document_id, '{k.name}' AS kind, count(*) AS n FROM {k.view.name} GROUP BY document_id"
        for k in registered
    )


def pay_groups(database_url: str, placed: set[tuple[int, str]]) -> list[PayGroup]:
    """Every yearly salary group, biggest median first within each currency, with the figures behind it."""
    groups = _rows(
        database_url,
        "SELECT * FROM v_salary_by_level WHERE period = 'year' ORDER BY currency, median_low DESC, level, region",
    )
    figures = _rows(
        database_url,
        "SELECT e.*, s.open_ended FROM v_salary_evidence e JOIN v_salaries s "
        "ON s.salary_id = e.salary_id WHERE e.period = 'year' ORDER BY e.salary_id",
    )
    result = []
    for n, row in enumerate(groups, 1):
        key = (row["level"], row["region"], row["currency"])
        behind = [
            _linked(f, "salary", f["salary_id"], placed)
            for f in figures
            if (f["level"], f["region"], f["currency"]) == key
        ]
        top = [f for f in behind if _upper(f) == row["high"]]
        title = f"{row['level']} · {row['region']} · {row['currency']} per year"
        result.append(PayGroup(f"pay-{n}", title, behind, row=row, open_ended=any(f["open_ended"] for f in top)))
    return result


def _upper(figure: dict):
    return figure["amount_max"] if figure["amount_max"] is not None else figure["amount_min"]


def _certification_evidence(database_url: str, index: list[dict], placed: set[tuple[int, str]]) -> list[Evidence]:
    mentions = _rows(database_url, "SELECT * FROM v_certifications ORDER BY document_id, char_start")
    return [
        Evidence(
            f"certification-{n}",
            c["certification"],
            [
                _linked(m, "certification", m["mention_id"], placed)
                for m in mentions
                if m["certification"] == c["certification"]
            ],
        )
        for n, c in enumerate(index, 1)
    ]


def _skill_evidence(database_url: str, index: list[dict], placed: set[tuple[int, str]]) -> list[Evidence]:
    mentions = _rows(database_url, "SELECT * FROM v_skills ORDER BY document_id, char_start")
    return [
        Evidence(
            f"skill-{n}",
            f"{s['skill']} ({s['category']})",
            [
                _linked(m, "skill", m["mention_id"], placed)
                for m in mentions
                if (m["skill"], m["category"]) == (s["skill"], s["category"])
            ],
        )
        for n, s in enumerate(index, 1)
    ]


def claim_groups(database_url: str, placed: set[tuple[int, str]]) -> list[Evidence]:
    """Typed claims grouped by metric (the most claims first), each linked to its quote; untyped ones left out."""
    rows = _rows(
        database_url, "SELECT * FROM v_claims WHERE metric IS NOT NULL ORDER BY metric, source, char_start, claim_id"
    )
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["metric"], []).append(_linked(row, "claim", row["claim_id"], placed))
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [Evidence(f"claims-{metric}", metric.replace("_", " "), records) for metric, records in ordered]


def _linked(row: dict, kind: str, record_id: int, placed: set[tuple[int, str]]) -> dict:
    """`row` with the address of its record on its document's page: the highlight, or its list entry when
    an overlapping quote took the highlight."""
    anchor = f"{kind}-{record_id}"
    target = anchor if (row["document_id"], anchor) in placed else f"item-{anchor}"
    return {**row, "href": f"docs/{row['document_id']}.html#{target}"}


@dataclass(frozen=True)
class ChartRow:
    """One bar of the salary chart, in pixels: the whole range, the median band, and what it says."""

    group: PayGroup
    y: int
    low: float
    high: float
    median_low: float
    median_high: float

    @property
    def numbers(self) -> str:
        r = self.group.row
        return f"{span(r['low'], r['high'], self.group.open_ended)} ({r['n_sources']} src, {r['n_figures']} fig)"


@dataclass
class Chart:
    """The salary chart's layout: one block per currency (each with its own scale from 0), rows in pixels."""

    blocks: list[tuple[str, str, int, list[ChartRow]]]  # currency, its scale's top, heading y, rows
    height: int
    width: int = 1040
    label_w: int = 190
    value_w: int = 270
    row_h: int = 22

    @property
    def bar_w(self) -> int:
        return self.width - self.label_w - self.value_w


def salary_chart(groups: list[PayGroup]) -> Chart:
    """The chart of `groups`: bars of lowest to highest figure, dark bands of median low to median high."""
    chart, y = Chart([], 0), 0
    for currency in dict.fromkeys(g.row["currency"] for g in groups):
        block = [g for g in groups if g.row["currency"] == currency]
        top = max(g.row["high"] for g in block) or 1
        scale = _scale(chart, top)
        y += 26
        rows = [
            ChartRow(g, y + i * chart.row_h, *(scale(g.row[name]) for name in _BOUNDS)) for i, g in enumerate(block)
        ]
        chart.blocks.append((currency, money(top), y - 6, rows))
        y += chart.row_h * len(block)
    chart.height = y + 8
    return chart


_BOUNDS = ("low", "high", "median_low", "median_high")


def _scale(chart: Chart, top: float) -> Callable[[float], float]:
    return lambda value: chart.label_w + chart.bar_w * float(value) / top


# --- salary trend -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendRow:
    """One year of a salary series, in pixels: its median band and what it says (a row of v_salary_trend)."""

    row: dict
    y: int
    median_low: float
    median_high: float

    @property
    def numbers(self) -> str:
        r = self.row
        return f"median {span(r['median_low'], r['median_high'])} ({r['n_sources']} src, {r['n_figures']} fig)"


def trend_series(database_url: str) -> list[list[dict]]:
    """The yearly salary series (level, region, currency) whose figures refer to more than one year, each as its
    v_salary_trend rows, oldest year first."""
    rows = _rows(
        database_url,
        "SELECT * FROM v_salary_trend WHERE period = 'year' ORDER BY currency, level, region, as_of_year",
    )
    series: dict[tuple, list[dict]] = {}
    for row in rows:
        series.setdefault((row["currency"], row["level"], row["region"]), []).append(row)
    return [years for years in series.values() if len(years) > 1]


def trend_chart(series: list[list[dict]]) -> Chart:
    """The trend chart of `series`: a block per series, a row per year with its median band; one scale from 0
    per currency, so series of one currency compare."""
    chart, y = Chart([], 0), 0
    tops: dict[str, float] = {}
    for years in series:
        currency = years[0]["currency"]
        tops[currency] = max(tops.get(currency, 0), *(r["median_high"] for r in years)) or 1
    for years in series:
        first = years[0]
        scale = _scale(chart, tops[first["currency"]])
        y += 26
        rows = [
            TrendRow(r, y + i * chart.row_h, scale(r["median_low"]), scale(r["median_high"]))
            for i, r in enumerate(years)
        ]
        title = f"{first['level']} · {first['region']} · {first['currency']} per year"
        chart.blocks.append((title, money(tops[first["currency"]]), y - 6, rows))
        y += chart.row_h * len(years)
    chart.height = y + 8
    return chart


# --- what changed -----------------------------------------------------------------------------------------------


@dataclass
class RunChanges:
    """One run's "what changed" page: its v_runs row and its v_changes rows (before/after as dicts)."""

    run: dict
    changes: list[dict]

    @property
    def page(self) -> str:
        return f"changes-{self.run['run_id']}.html"

    def count(self, change: str) -> int:
        return sum(c["change"] == change for c in self.changes)


def run_changes(database_url: str) -> list[RunChanges]:
    """Every run that recorded record changes, newest first, with its changes by source and text order."""
    runs = _rows(
        database_url, "SELECT run_id, trigger, started, changes FROM v_runs WHERE changes > 0 ORDER BY run_id DESC"
    )
    changes = _rows(database_url, "SELECT * FROM v_changes ORDER BY source, char_start, change_id")
    for change in changes:
        for side in ("before", "after"):
            change[side] = json.loads(change[side]) if change[side] else {}
    return [RunChanges(run, [c for c in changes if c["run_id"] == run["run_id"]]) for run in runs]


# --- document pages ---------------------------------------------------------------------------------------------


def marks_by_document(database_url: str) -> dict[int, list[Mark]]:
    """Every record of every registered kind as a Mark, by document, in text order (one query per kind)."""
    details = _ENV.get_template("details.html.j2").module
    marks: dict[int, list[Mark]] = {}
    for k in kinds():
        about = getattr(details, k.name, None)
        for row in _rows(database_url, f"SELECT * FROM {k.view.name}"):
            text = about(row) if about else describe(k, row)
            mark = Mark(k.name, row[k.id_column], row["char_start"], row["char_end"], row["quote"], text)
            marks.setdefault(row["document_id"], []).append(mark)
    return {number: sorted(ms, key=lambda m: (m.start, -(m.end - m.start))) for number, ms in marks.items()}


def describe(k: RecordKind, row: dict) -> str:
    """A record of a kind without its own summary in details.html.j2: its own columns as 'name: value'."""
    shown = [
        f"{column}: {row[column]}"
        for column in k.view.columns[1:]
        if column not in _PLACE_COLUMNS and row[column] is not None
    ]
    return "; ".join(shown)


def place(marks: list[Mark]) -> list[Mark]:
    """The marks to highlight: in text order, the first (longest on a tie) wins and overlapping ones are skipped."""
    placed, end = [], -1
    for mark in sorted(marks, key=lambda m: (m.start, -(m.end - m.start))):
        if mark.start >= end and mark.end > mark.start:
            placed.append(mark)
            end = mark.end
    return placed


def highlight(text: str, marks: list[Mark]) -> Markup:
    """`text` as escaped HTML with each placed mark wrapped in <mark class=kind>; `marks` must not overlap."""
    pieces, at = [], 0
    for m in marks:
        pieces += [(text[at : m.start], None), (text[m.start : m.end], m)]
        at = m.end
    pieces.append((text[at:], None))
    return Markup(_ENV.get_template("highlight.html.j2").render(pieces=pieces))


def fragment_link(source: str, quote: str) -> str:
    """`source#:~:text=start[,end]` for the quote, so a browser scrolls to and highlights it.

    A quote across table cells ("Junior | $92,000") becomes a range from its first cell to its last.
    """
    pieces = [p.strip() for p in quote.replace("\n", "|").split("|") if p.strip()] or [quote.strip()]
    start, end = _words(pieces[0], first=True), _words(pieces[-1], first=False) if len(pieces) > 1 else ""
    encoded = ",".join(_fragment_encode(part) for part in (start, end) if part)
    return f"{source.split('#')[0]}#:~:text={encoded}"


def _words(piece: str, first: bool, limit: int = 60) -> str:
    if len(piece) <= limit:
        return piece
    return piece[:limit].rsplit(" ", 1)[0] if first else piece[-limit:].split(" ", 1)[-1]


def _fragment_encode(part: str) -> str:
    return percent_encode(part, safe="").replace("-", "%2D")  # '-' ',' '&' are syntax in text fragments


def source_href(source: str) -> str | None:
    """Where a source can be opened: its URL, a file:// URI for an absolute path, else nothing."""
    if is_web(source):
        return source
    return Path(source).as_uri() if source.startswith("/") else None


def is_web(source: str) -> bool:
    return source.startswith(("http://", "https://"))


_ENV.globals.update(kinds=kinds, source_href=source_href, is_web=is_web, fragment_link=fragment_link)


def document_page(document: dict, marks: list[Mark]) -> str:
    """One document: its text with the records' quotes highlighted, and the records listed beside it."""
    placed = place(marks)
    shown = {m.anchor for m in placed}
    return _render(
        "document.html.j2", document=document, marks=marks, shown=shown, text=highlight(document["text"], placed)
    )
