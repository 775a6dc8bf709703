"""A static HTML report of the knowledge base: an index page and one page per document with its quotes marked.

Read-only over the public views (`db.query.run_readonly`), stdlib only. Every value from the database is
HTML-escaped; record highlights come from the stored `char_start`/`char_end`, so what is marked is exactly what
was grounded. Where two quotes overlap, the one starting first (the longer on a tie) is marked and the other is
still listed beside the text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote as percent_encode

from db.query import run_readonly

KINDS = ("salary", "skill", "certification", "claim")
COLOURS = {"salary": "#ffd966", "skill": "#a8e6b8", "certification": "#b7ccff", "claim": "#f4b8e0"}
_RECORD_SQL = {
    "salary": "SELECT salary_id AS id, level, region, role, currency, period, amount_min, amount_max, open_ended, "
    "pay_basis, quote, char_start, char_end FROM v_salaries WHERE document_id = ?",
    "skill": "SELECT mention_id AS id, skill, category, quote, char_start, char_end FROM v_skills "
    "WHERE document_id = ?",
    "certification": "SELECT mention_id AS id, certification, issuer, cost_amount, cost_currency, quote, char_start, "
    "char_end FROM v_certifications WHERE document_id = ?",
    "claim": "SELECT claim_id AS id, statement, quote, char_start, char_end FROM v_claims WHERE document_id = ?",
}
_COUNTS_SQL = " UNION ALL ".join(
    f"SELECT document_id, '{kind}' AS kind, count(*) AS n FROM {view} GROUP BY document_id"
    for kind, view in zip(KINDS, ("v_salaries", "v_skills", "v_certifications", "v_claims"))
)
_CSS = """body{font:15px/1.5 system-ui,sans-serif;color:#1d1d1f;margin:24px auto;max-width:1200px;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}a{color:#0b57d0}
table{border-collapse:collapse;font-size:14px}th,td{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;
vertical-align:top}th{background:#f3f3f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.source{color:#555;font-size:13px;word-break:break-all}.legend{margin:10px 0;font-size:13px}
.legend mark{margin-right:8px}
mark{border-radius:3px;padding:0 1px;color:inherit;box-shadow:inset 0 -2px rgba(0,0,0,.18)}
""" + "".join(f"mark.{kind}{{background:{colour}}}li.{kind}{{border-left:6px solid {colour}}}\n"
              for kind, colour in COLOURS.items()) + """
.page{display:grid;grid-template-columns:minmax(0,3fr) minmax(280px,2fr);gap:24px}
.text{white-space:pre-wrap;font:14px/1.6 Georgia,serif;background:#fafafa;border:1px solid #e3e3e3;padding:14px;
border-radius:6px}aside ul{list-style:none;padding:0;margin:0;font-size:13px}
aside li{padding:4px 8px;margin:0 0 6px;background:#fafafa}aside li q{color:#444}
.kind{font-weight:600;text-transform:uppercase;font-size:11px;letter-spacing:.04em}.muted{color:#777}
"""


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


def write_report(database_url: str, out: str | Path) -> list[Path]:
    """Write index.html and docs/<document_id>.html under `out`; the paths written, index first."""
    out = Path(out)
    (out / "docs").mkdir(parents=True, exist_ok=True)
    documents = _rows(database_url, "SELECT document_id, source, title, text FROM v_documents ORDER BY document_id")
    index = out / "index.html"
    index.write_text(index_page(database_url, documents), encoding="utf-8")
    written = [index]
    for document in documents:
        path = out / "docs" / f"{document['document_id']}.html"
        path.write_text(document_page(document, marks_for(database_url, document["document_id"])), encoding="utf-8")
        written.append(path)
    return written


def _rows(database_url: str, sql: str, params: tuple = ()) -> list[dict]:
    result = run_readonly(database_url, sql, params)
    return [dict(zip(result.columns, row)) for row in result.rows]


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n")


def _legend() -> str:
    marks = "".join(f'<mark class="{kind}" data-kind="{kind}">{kind}</mark>' for kind in KINDS)
    return f'<div class="legend">Highlights: {marks}</div>'


def _source_link(source: str) -> str:
    if _is_web(source):
        return f'<a class="source" href="{_e(source)}">{_e(source)}</a>'
    if source.startswith("/"):
        return f'<a class="source" href="{_e(Path(source).as_uri())}">{_e(source)}</a>'
    return f'<span class="source">{_e(source)}</span>'


def _is_web(source: str) -> bool:
    return source.startswith(("http://", "https://"))


# --- index page -------------------------------------------------------------------------------------------------

def index_page(database_url: str, documents: list[dict]) -> str:
    """The overview: documents with record counts, the salary chart, the certification and skill indexes."""
    counts: dict[tuple[int, str], int] = {}
    for row in _rows(database_url, _COUNTS_SQL):
        counts[(row["document_id"], row["kind"])] = row["n"]
    salaries = _rows(database_url, "SELECT * FROM v_salary_by_level WHERE period = 'year' "
                                   "ORDER BY currency, median_low DESC, level, region")
    certifications = _rows(database_url, "SELECT * FROM v_certification_index ORDER BY n_sources DESC, certification")
    skills = _rows(database_url, "SELECT * FROM v_skill_index ORDER BY n_sources DESC, n_mentions DESC, skill")
    body = "\n".join([
        "<h1>career-kb report</h1>",
        f'<p class="muted">{len(documents)} documents; every figure below comes from a quote you can open.</p>',
        "<h2>Documents</h2>", _documents_table(documents, counts),
        "<h2>Salary ranges by level (yearly)</h2>",
        '<p class="muted">Bar: lowest to highest figure; dark band: median low to median high.</p>',
        salary_chart(salaries),
        "<h2>Certifications</h2>",
        _table(["certification", "issuer", "sources", "cost"],
               [[c["certification"], c["issuer"], c["n_sources"], _cost(c)] for c in certifications]),
        "<h2>Skills</h2>",
        _table(["skill", "category", "sources", "mentions"],
               [[s["skill"], s["category"], s["n_sources"], s["n_mentions"]] for s in skills]),
    ])
    return _page("career-kb report", body)


def _documents_table(documents: list[dict], counts: dict[tuple[int, str], int]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in ("document", *KINDS))
    rows = []
    for d in documents:
        number = d["document_id"]
        cells = "".join(f'<td class="n">{counts.get((number, kind), 0)}</td>' for kind in KINDS)
        rows.append(f'<tr><td><a href="docs/{number}.html">{_e(d["title"] or d["source"])}</a><br>'
                    f"{_source_link(d['source'])}</td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_e(v)}</td>' if isinstance(v, (int, float)) else f"<td>{_e(v)}</td>"
                         for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cost(row: dict) -> str:
    low, high, currency = row.get("cost_low"), row.get("cost_high"), row.get("cost_currency")
    if low is None and high is None:
        return ""
    span = _money(low) if low == high or high is None else f"{_money(low)}–{_money(high)}"
    return f"{span} {currency or ''}".strip()


def _money(value) -> str:
    if value is None:
        return "?"
    return f"{value:,.0f}" if float(value) == int(value) else f"{value:,.2f}"


def salary_chart(rows: list[dict], width: int = 1040) -> str:
    """Inline SVG: one row per (level, region, currency); each currency has its own scale from 0."""
    if not rows:
        return '<p class="muted">No yearly salary figures.</p>'
    label_w, value_w, row_h = 190, 270, 22
    bar_w = width - label_w - value_w
    parts, y = [], 0
    for currency in dict.fromkeys(r["currency"] for r in rows):
        group = [r for r in rows if r["currency"] == currency]
        top = max(r["high"] for r in group) or 1
        scale = lambda v, top=top: label_w + bar_w * float(v) / top  # noqa: E731
        y += 20
        parts.append(f'<text x="0" y="{y}" font-weight="700" font-size="13">{_e(currency)} per year '
                     f'(scale 0–{_e(_money(top))})</text>')
        y += 6
        for r in group:
            parts.append(_chart_row(r, y, scale, label_w, bar_w, value_w, row_h))
            y += row_h
    return (f'<svg class="chart" role="img" aria-label="Salary ranges by level" width="{width}" height="{y + 8}" '
            f'viewBox="0 0 {width} {y + 8}" xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif">'
            + "".join(parts) + "</svg>")


def _chart_row(r: dict, y: int, scale, label_w: int, bar_w: int, value_w: int, row_h: int) -> str:
    low, high = scale(r["low"]), scale(r["high"])
    mid_low, mid_high = scale(r["median_low"]), scale(r["median_high"])
    label = f"{r['level']} · {r['region']}"
    numbers = f"{_money(r['low'])}–{_money(r['high'])} ({r['n_sources']} src, {r['n_figures']} fig)"
    tip = (f"{r['level']}, {r['region']}: {_money(r['low'])} to {_money(r['high'])} {r['currency']}; median "
           f"{_money(r['median_low'])} to {_money(r['median_high'])}; "
           f"{r['n_sources']} sources, {r['n_figures']} figures")
    cy = y + row_h / 2
    return (f'<g class="salary-row" data-level="{_e(r["level"])}" data-currency="{_e(r["currency"])}">'
            f"<title>{_e(tip)}</title>"
            f'<text x="{label_w - 8}" y="{cy + 4:.1f}" text-anchor="end" font-size="12">{_e(label)}</text>'
            f'<line x1="{label_w}" x2="{label_w + bar_w}" y1="{cy:.1f}" y2="{cy:.1f}" stroke="#eee"/>'
            f'<rect x="{low:.1f}" y="{y + 5}" width="{max(high - low, 2):.1f}" height="{row_h - 10}" '
            'fill="#9ec5f8" rx="2"/>'
            f'<rect class="median" x="{mid_low:.1f}" y="{y + 3}" width="{max(mid_high - mid_low, 3):.1f}" '
            f'height="{row_h - 6}" fill="#1f5fbf" rx="1"/>'
            f'<text x="{label_w + bar_w + 8}" y="{cy + 4:.1f}" font-size="12" fill="#333">{_e(numbers)}</text></g>')


# --- document pages ---------------------------------------------------------------------------------------------

def marks_for(database_url: str, document_id: int) -> list[Mark]:
    """Every record of one document as a Mark, in text order."""
    marks = []
    for kind, sql in _RECORD_SQL.items():
        for row in _rows(database_url, sql, (document_id,)):
            marks.append(Mark(kind, row["id"], row["char_start"], row["char_end"], row["quote"], _details(kind, row)))
    return sorted(marks, key=lambda m: (m.start, -(m.end - m.start)))


def _details(kind: str, r: dict) -> str:
    if kind == "salary":
        amounts = _amounts(r)
        where = ", ".join(str(v) for v in (r["level"], r["region"], r["role"]) if v)
        return f"{where}: {amounts} {r['currency']} per {r['period']} ({r['pay_basis']})"
    if kind == "skill":
        return f"{r['skill']} ({r['category']})"
    if kind == "certification":
        cost = f"; costs {_money(r['cost_amount'])} {r['cost_currency'] or ''}" if r["cost_amount"] is not None else ""
        return f"{r['certification']}" + (f", issued by {r['issuer']}" if r["issuer"] else "") + cost
    return str(r["statement"])


def _amounts(r: dict) -> str:
    low, high = r["amount_min"], r["amount_max"]
    if low is not None and high is not None and low != high:
        return f"{_money(low)}–{_money(high)}"
    if low is not None:
        return _money(low) + ("+" if r["open_ended"] else "")
    return f"up to {_money(high)}"


def place(marks: list[Mark]) -> list[Mark]:
    """The marks to highlight: in text order, the first (longest on a tie) wins and overlapping ones are skipped."""
    placed, end = [], -1
    for mark in sorted(marks, key=lambda m: (m.start, -(m.end - m.start))):
        if mark.start >= end and mark.end > mark.start:
            placed.append(mark)
            end = mark.end
    return placed


def highlight(text: str, marks: list[Mark]) -> str:
    """`text` as escaped HTML with each placed mark wrapped in <mark class=kind>; `marks` must not overlap."""
    parts, at = [], 0
    for m in marks:
        parts.append(_e(text[at : m.start]))
        tip = _e(f"{m.kind}: {m.details}")
        parts.append(f'<mark id="{m.anchor}" class="{m.kind}" data-kind="{m.kind}" title="{tip}">'
                     f"{_e(text[m.start : m.end])}</mark>")
        at = m.end
    parts.append(_e(text[at:]))
    return "".join(parts)


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


def document_page(document: dict, marks: list[Mark]) -> str:
    """One document: its text with the records' quotes highlighted, and the records listed beside it."""
    placed = place(marks)
    shown = {m.anchor for m in placed}
    items = "".join(_record_item(document["source"], m, m.anchor in shown) for m in marks)
    body = "\n".join([
        '<p><a href="../index.html">← all documents</a></p>',
        f"<h1>{_e(document['title'] or document['source'])}</h1>",
        f"<p>Source: {_source_link(document['source'])}</p>",
        _legend(),
        f'<div class="page"><div class="text">{highlight(document["text"], placed)}</div>',
        f"<aside><h2>Records ({len(marks)})</h2><ul>{items}</ul></aside></div>",
    ])
    return _page(document["title"] or document["source"], body)


def _record_item(source: str, mark: Mark, shown: bool) -> str:
    where = (f'<a href="#{mark.anchor}">in text</a>' if shown
             else '<span class="muted">overlaps another highlight</span>')
    if _is_web(source):
        where += f' · <a class="fragment" href="{_e(fragment_link(source, mark.quote))}">at source</a>'
    return (f'<li class="{mark.kind}" data-kind="{mark.kind}"><span class="kind">{mark.kind}</span> '
            f"{_e(mark.details)}<br><q>{_e(mark.quote)}</q><br>{where}</li>")
