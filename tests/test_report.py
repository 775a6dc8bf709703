"""The static HTML report: built from fixture pages with the fake model, then read back with html.parser.

The Chromium test renders real pages headless (skipped only when /usr/bin/chromium is absent).
"""

from __future__ import annotations

import html
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from db.query import run_readonly
from flows.ingest import Runtime, run_sources
from pipeline.cli import main
from pipeline.report import Mark, PayGroup, fragment_link, highlight, place, salary_chart
from tests.conftest import PAGES

CHROMIUM = Path("/usr/bin/chromium")
RECORD_SQL = {
    "salary": "select salary_id as id, document_id, quote from v_salaries",
    "skill": "select mention_id as id, document_id, quote from v_skills",
    "certification": "select mention_id as id, document_id, quote from v_certifications",
    "claim": "select claim_id as id, document_id, quote from v_claims",
}
HOSTILE_NOTE = "# Pay notes <script>alert('x')</script>\n\nSenior AI engineers earn $150,000 to $180,000 a year.\n"


class Page(HTMLParser):
    """What a test needs from a page: the <mark> spans (id, kind, text), links, list items and raw tags seen."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.marks: list[dict] = []
        self.links: list[str] = []
        self.items: list[str] = []
        self.tags: list[str] = []
        self._open: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "mark" and "id" in attrs:
            self._open = {"id": attrs["id"], "kind": attrs.get("data-kind"), "title": attrs.get("title"), "text": ""}
        elif tag == "a":
            self.links.append(attrs.get("href", ""))
        elif tag == "li":
            self.items.append(attrs.get("data-kind"))

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "mark" and self._open is not None:
            self.marks.append(self._open)
            self._open = None


class Evidence(HTMLParser):
    """evidence.html: the id of each section, and each listed record as (section id, link, quote)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.records: list[dict] = []
        self._in_quote = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs["id"])
        elif tag == "li":
            self.records.append({"section": self.sections[-1], "quote": "", "href": None})
        elif tag == "q":
            self._in_quote = True
        elif tag == "a" and attrs.get("class") == "record":
            self.records[-1]["href"] = attrs["href"]

    def handle_data(self, data):
        if self._in_quote:
            self.records[-1]["quote"] += data

    def handle_endtag(self, tag):
        self._in_quote = self._in_quote and tag != "q"


def rows(settings, sql: str) -> list[dict]:
    result = run_readonly(settings.database_url, sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


@pytest.fixture
def report(settings, site, tmp_path):
    """A knowledge base of every fixture page (one served over HTTP, plus a note with HTML in it) and its report."""
    note = tmp_path / "hostile-note.md"
    note.write_text(HOSTILE_NOTE, encoding="utf-8")
    web = site.url("small-salary-table.html")
    files = [str(p) for p in sorted(PAGES.iterdir()) if p.name != "small-salary-table.html"]
    summary = run_sources([*files, web, str(note)], Runtime.create(settings), "test")
    assert {o.status for o in summary.outcomes} == {"ok"}
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", "--out", str(out), "--db", str(tmp_path / "kb.sqlite")])
    assert result.exit_code == 0, result.output
    return {"settings": settings, "out": out, "web": web, "note": str(note)}


def document_page(report, document_id: int) -> Page:
    return Page((report["out"] / "docs" / f"{document_id}.html").read_text(encoding="utf-8"))


def test_the_index_lists_every_document_with_a_page_and_charts_every_yearly_salary_row(report):
    index = (report["out"] / "index.html").read_text(encoding="utf-8")
    page = Page(index)
    for document in rows(report["settings"], "select document_id, title from v_documents"):
        assert f"docs/{document['document_id']}.html" in page.links
        assert (report["out"] / "docs" / f"{document['document_id']}.html").is_file()
        assert document["title"] in html.unescape(index)  # escaped: markupsafe writes &#39; for a quote
    yearly = rows(report["settings"], "select level from v_salary_by_level where period = 'year'")
    assert index.count('<g class="salary-row"') == len(yearly) > 5
    assert "<svg" in index and "Certifications" in index and "Skills" in index
    assert "<script" not in index  # the hostile note's title is shown as text


def test_chart_bars_and_index_rows_link_to_the_records_and_quotes_behind_them(report):
    index = Page((report["out"] / "index.html").read_text(encoding="utf-8"))
    evidence = Evidence((report["out"] / "evidence.html").read_text(encoding="utf-8"))
    targets = [link.split("#")[1] for link in index.links if link.startswith("evidence.html#")]
    yearly = rows(report["settings"], "select level from v_salary_by_level where period = 'year'")
    certifications = rows(report["settings"], "select certification from v_certification_index")
    skills = rows(report["settings"], "select skill from v_skill_index")
    assert sorted(targets) == sorted(evidence.sections)
    assert len(targets) == len(yearly) + len(certifications) + len(skills)
    quotes = {(kind, r["id"]): r for kind, sql in RECORD_SQL.items() for r in rows(report["settings"], sql)}
    for record in evidence.records:  # each listed quote is its record's, and the link opens that record
        document, anchor = record["href"].removeprefix("docs/").split(".html#")
        kind, record_id = anchor.removeprefix("item-").rsplit("-", 1)
        stored = quotes[(kind, int(record_id))]
        assert (stored["document_id"], stored["quote"]) == (int(document), record["quote"])
        assert anchor in {m["id"] for m in document_page(report, int(document)).marks} or anchor.startswith("item-")
    behind_pay = [r for r in evidence.records if r["section"].startswith("pay-")]
    assert len(behind_pay) == len(rows(report["settings"], "select 1 from v_salary_evidence where period = 'year'"))


def test_open_ended_figures_keep_their_plus(report):
    index = (report["out"] / "index.html").read_text(encoding="utf-8")
    open_top = rows(
        report["settings"],
        "select amount_min from v_salaries s where open_ended and amount_max is null "
        "and period = 'year' and amount_min = (select max(high) from v_salary_by_level "
        "g where g.level = s.level and g.currency = s.currency "
        "and g.region = coalesce(s.region, 'unspecified'))",
    )
    assert open_top and index.count('data-open-ended="true"') == len(open_top)
    for figure in open_top:
        assert f"{figure['amount_min']:,.0f}+ (" in index  # "240,000+", not "240,000–240,000"
    row = {
        "level": "staff",
        "region": "US",
        "currency": "USD",
        "low": 240000,
        "high": 240000,
        "median_low": 240000,
        "median_high": 240000,
        "n_sources": 1,
        "n_figures": 1,
    }
    [(_, _, _, [bar])] = salary_chart([PayGroup("pay-1", "staff", row=row, open_ended=True)]).blocks
    assert bar.numbers == "240,000+ (1 src, 1 fig)"
    [(_, _, _, [bar])] = salary_chart([PayGroup("pay-1", "staff", row=row | {"low": 200000})]).blocks
    assert bar.numbers == "200,000–240,000 (1 src, 1 fig)"


def test_document_pages_mark_exactly_the_stored_quotes(report):
    kinds, checked = set(), 0
    quotes = {(kind, r["id"]): r for kind, sql in RECORD_SQL.items() for r in rows(report["settings"], sql)}
    for document_id in {r["document_id"] for r in quotes.values()}:
        page = document_page(report, document_id)
        for mark in page.marks:
            kind, record_id = mark["id"].rsplit("-", 1)
            stored = quotes[(kind, int(record_id))]
            assert (stored["document_id"], mark["text"], mark["kind"]) == (document_id, stored["quote"], kind)
            kinds.add(kind)
            checked += 1
        listed = [key for key, r in quotes.items() if r["document_id"] == document_id]
        assert len(page.items) == len(listed)  # overlapping records are still listed beside the text
    assert {"salary", "skill", "certification"} <= kinds and checked > 30


def test_records_of_web_sources_link_to_their_quote_with_a_text_fragment(report):
    (web,) = rows(report["settings"], f"select document_id from v_documents where source = '{report['web']}'")
    fragments = [link for link in document_page(report, web["document_id"]).links if "#:~:text=" in link]
    assert len(fragments) == len(document_page(report, web["document_id"]).items) > 0
    assert all(link.startswith(report["web"] + "#:~:text=") for link in fragments)
    (local,) = rows(report["settings"], f"select document_id from v_documents where source = '{report['note']}'")
    assert not [link for link in document_page(report, local["document_id"]).links if "#:~:text=" in link]


def test_html_in_a_document_is_shown_as_text(report):
    (note,) = rows(report["settings"], f"select document_id, text from v_documents where source = '{report['note']}'")
    assert "<script>" in note["text"]
    raw = (report["out"] / "docs" / f"{note['document_id']}.html").read_text(encoding="utf-8")
    assert "<script" not in raw and "&lt;script&gt;" in raw
    assert "script" not in document_page(report, note["document_id"]).tags


def test_overlapping_quotes_keep_the_first_and_every_piece_is_escaped():
    text = "Pay: <b>$100</b> & more for seniors"
    marks = [
        Mark("salary", 1, 5, 16, text[5:16], 'senior: 100 "USD"'),
        Mark("skill", 2, 8, 12, text[8:12], "x"),
        Mark("claim", 3, 19, 23, text[19:23], "<script>"),
    ]
    placed = place(marks)
    assert [m.record_id for m in placed] == [1, 3]
    page = Page(highlight(text, placed))
    assert [(m["kind"], m["text"]) for m in page.marks] == [("salary", "<b>$100</b>"), ("claim", "more")]
    assert page.tags == ["mark", "mark"] and page.marks[1]["title"] == "claim: <script>"


@pytest.mark.parametrize(
    "quote, fragment",
    [
        ("Senior AI engineers earn $150,000", "Senior%20AI%20engineers%20earn%20%24150%2C000"),
        ("Junior | $92,000 – $118,000", "Junior,%2492%2C000%20%E2%80%93%20%24118%2C000"),
        ("a well-paid role", "a%20well%2Dpaid%20role"),
    ],
)
def test_fragment_links_encode_the_quote_start(quote, fragment):
    assert fragment_link("https://example.org/pay#top", quote) == f"https://example.org/pay#:~:text={fragment}"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install -y chromium)")
def test_chromium_renders_the_index_and_a_highlighted_document(report, tmp_path):
    (biggest,) = rows(
        report["settings"], "select document_id from v_salaries group by document_id order by count(*) desc limit 1"
    )
    document = report["out"] / "docs" / f"{biggest['document_id']}.html"
    for name, page in (
        ("index", report["out"] / "index.html"),
        ("evidence", report["out"] / "evidence.html"),
        ("doc", document),
    ):
        png = tmp_path / f"{name}.png"
        chromium(tmp_path, f"--screenshot={png}", page.as_uri())
        assert png.is_file() and png.stat().st_size > 10_000, name
        shutil.copy(png, tmp_path / f"report-{name}.png")  # kept in pytest's tmp dir to look at
    dom = Page(chromium(tmp_path, "--dump-dom", document.as_uri()))
    assert {m["kind"] for m in dom.marks} >= {"salary", "skill"}
    assert "script" not in dom.tags


def chromium(tmp_path: Path, *args: str) -> str:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,1600",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_index_lists_typed_claims_by_metric_each_linked_to_its_quote(report):
    claims = rows(report["settings"], "select claim_id, document_id, metric, value from v_claims")
    assert claims and all(c["metric"] and c["value"] is not None for c in claims)
    index = (report["out"] / "index.html").read_text(encoding="utf-8")
    assert {f'id="claims-{c["metric"]}"' for c in claims} <= {part.split(">")[0] for part in index.split("<h3 ")}
    links = Page(index).links
    for c in claims:
        assert any(
            link.startswith(f"docs/{c['document_id']}.html#") and link.endswith(f"claim-{c['claim_id']}")
            for link in links
        )


DATED_NOTES = {
    "pay-2024.md": "# AI engineer pay in 2024\n\nSenior AI engineers in the US earn $150,000 to $180,000 a year.\n",
    "pay-2025.md": "# Pay notes\n\nIn 2025, senior AI engineers in the US earned $170,000 to $210,000 a year.\n",
    "pay-uk.md": "# Pay notes\n\nSenior AI engineers in the UK earn £80,000 to £95,000 a year.\n",
}


def test_salaries_are_dated_and_a_series_over_two_years_is_charted_as_a_trend(settings, tmp_path):
    paths = []
    for name, body in DATED_NOTES.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
        paths.append(str(tmp_path / name))
    summary = run_sources(paths, Runtime.create(settings), "test")
    assert {o.status for o in summary.outcomes} == {"ok"}
    dated = rows(
        settings,
        "select s.as_of_year, s.as_of_source, d.fetched_at from v_salaries s "
        "join v_documents d on d.document_id = s.document_id order by s.amount_min",
    )
    fetched_year = int(str(dated[0]["fetched_at"])[:4])
    assert [(r["as_of_year"], r["as_of_source"]) for r in dated] == [
        (fetched_year, "fetched"),  # £80,000: no date in the note, none in its markup
        (2024, "text"),  # from its heading
        (2025, "text"),  # from its own sentence
    ]
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", "--out", str(out), "--db", str(tmp_path / "kb.sqlite")])
    assert result.exit_code == 0, result.output
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count('<g class="trend-row"') == 2  # the US series; the UK one has a single year
    assert 'data-year="2024"' in index and 'data-year="2025"' in index
    assert "as of 2024" in (out / "evidence.html").read_text(encoding="utf-8")
