"""The registry of record kinds: a kind registered by a test gets its table, view, search hits, report entries and
export with no other edit; clashing or unknown kinds are refused with the reason.

Set KB_TEST_POSTGRES_URL to run on PostgreSQL too (the toy kind's search trigger is then a plpgsql function).
"""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, Field
from sqlalchemy import inspect, text
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from db import kinds as registry
from db.engine import init_db
from db.models import GroundedRow
from db.viewsql import record_view
from pipeline import reading
from pipeline.cli import main
from pipeline.errors import StorageError
from pipeline.evaluate import GoldDocument, Ratio, read_kb, score_document
from pipeline.report import write_report
from pipeline.save import ExtractorVersion, save
from pipeline.search import search
from schemas.documents import Article, ExtractionStats, Grounded, GroundedExtraction, Provenance
from schemas.records import Skill

TEXT = (
    "Vector stores are not free. Pinecone starts at $70 a month for a starter pod, "
    "and Weaviate Cloud asks $25 a month. Learn Python first."
)
V1 = ExtractorVersion(schema_hash="s1", prompt_version="p1", model="test-model")


class ToolPrice(BaseModel):
    """What a tool costs, as the article says."""

    tool: str = Field(min_length=1)
    price: float = Field(gt=0)
    currency: str
    quote: str


class ToolPriceRow(GroundedRow, table=True):
    __tablename__ = "tool_prices"

    id: int | None = Column(default=None, primary_key=True)
    tool: str
    price: float
    currency: str


# A user's kind: its table is made by ensure_kinds, not by the migrations, so it stays out of the built-in models'
# metadata that tests/test_migrations.py compares with the newest revision.
SQLModel.metadata.remove(ToolPriceRow.__table__)

TOOL_PRICE = registry.RecordKind(
    name="tool_price",
    plural="tool_prices",
    model=ToolPrice,
    table=ToolPriceRow,
    label="tool price",
    colour="#ffb347",
    search_code=5,
    search_fields=("tool", "quote"),
    view=record_view("v_tool_prices", "tool_prices", "tool_price_id", ("tool", "price", "currency")),
)
PRICES = [("Pinecone", 70, "Pinecone starts at $70 a month"), ("Weaviate Cloud", 25, "Weaviate Cloud asks $25 a month")]


@pytest.fixture
def tool_price():
    registry.register(TOOL_PRICE)
    yield TOOL_PRICE
    registry.unregister(TOOL_PRICE.name)


def grounded(kind: str, record: BaseModel) -> Grounded:
    start = TEXT.index(record.quote)
    return Grounded(
        kind=kind,
        record=record,
        provenance=Provenance(quote=record.quote, char_start=start, char_end=start + len(record.quote)),
    )


def extraction() -> GroundedExtraction:
    records = [
        grounded("tool_price", ToolPrice(tool=tool, price=price, currency="USD", quote=quote))
        for tool, price, quote in PRICES
    ]
    records.append(grounded("skill", Skill(name="Python", category="language", quote="Python")))
    return GroundedExtraction(records=records, stats=ExtractionStats())


def article() -> Article:
    return Article(
        source="notes/vector-stores.md",
        title="Vector store prices",
        kind="markdown",
        text=TEXT,
        fetched_at=datetime(2026, 1, 5, tzinfo=UTC),
    )


@pytest.fixture
def url(blank_engine, tool_price) -> str:
    init_db(blank_engine)
    result = save(blank_engine, article(), extraction(), V1)
    assert result.counts["tool_price"] == 2 and result.counts["skill"] == 1
    return blank_engine.url.render_as_string(hide_password=False)


def select(engine, sql: str) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text(sql))]


def test_a_registered_kind_gets_its_table_and_view(blank_engine, url):
    assert inspect(blank_engine).has_table("tool_prices")
    assert {(r["tool"], r["price"]) for r in select(blank_engine, "SELECT * FROM tool_prices")} == {
        (tool, price) for tool, price, _ in PRICES
    }
    view = select(blank_engine, "SELECT * FROM v_tool_prices ORDER BY char_start")
    assert tuple(view[0]) == TOOL_PRICE.public_view.columns == (*TOOL_PRICE.view.columns, "review_status")
    assert (
        [TEXT[r["char_start"] : r["char_end"]] for r in view]
        == [r["quote"] for r in view]
        == [quote for _, _, quote in PRICES]
    )
    assert {r["source"] for r in view} == {article().source}


def test_a_registered_kind_is_found_by_search(url):
    [hit] = search(url, "pinecone")
    assert sorted(hit.found) == ["text", "tool_price"]
    [hit] = search(url, "weaviate cloud")
    assert "tool_price" in hit.found


def test_saving_again_replaces_a_registered_kinds_rows_and_index_entries(blank_engine, url):
    save(blank_engine, article(), extraction(), V1)
    assert len(select(blank_engine, "SELECT id FROM tool_prices")) == 2
    indexed = select(blank_engine, "SELECT record_id FROM search_index WHERE kind = 'tool_price'")
    assert len(indexed) == 2


class Marks(HTMLParser):
    """The <mark> highlights (kind, text) and the listed records' kinds of a document page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.marks: list[list[str]] = []
        self.items: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "mark" and "id" in attrs:
            self.marks.append([attrs["data-kind"], ""])
        elif tag == "li":
            self.items.append(attrs["data-kind"])

    def handle_data(self, data):
        if self.marks and self.marks[-1][1] == "":
            self.marks[-1][1] = data


def test_the_report_has_entries_for_a_registered_kind(blank_engine, url, tmp_path):
    written = write_report(url, tmp_path / "report")
    [document] = select(blank_engine, "SELECT document_id FROM v_documents")
    page = Marks((tmp_path / "report" / "docs" / f"{document['document_id']}.html").read_text(encoding="utf-8"))
    assert sorted(text for kind, text in page.marks if kind == "tool_price") == sorted(q for _, _, q in PRICES)
    assert page.items.count("tool_price") == 2
    index = written[0].read_text(encoding="utf-8")
    assert "<th>tool price</th>" in index and '<td class="n" data-kind="tool_price">2</td>' in index
    assert "mark.tool_price{background:#ffb347}" in index


def test_a_registered_kinds_view_can_be_exported(url, blank_engine):
    if blank_engine.dialect.name != "sqlite":
        pytest.skip("kb export --db takes a SQLite file")
    result = CliRunner().invoke(
        main, ["export", "--view", "v_tool_prices", "--format", "jsonl", "--db", blank_engine.url.database]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.count('"tool": ') == 2


def test_kb_eval_checks_the_grounding_of_a_registered_kind_and_matches_names_by_each_kinds_rule(url):
    snapshot = read_kb(url)
    [document] = snapshot.documents
    score = score_document(GoldDocument(source=article().source, skills=["python", "Rust"]), document, snapshot)
    assert score.grounding == Ratio(hits=3, total=3)  # two tool prices and a skill
    assert (score.skills, score.missed_skills) == (Ratio(hits=1, total=2), ["Rust"])


def test_the_response_schema_lists_each_kind_with_its_registered_cap():
    schema = reading.reading_model(("M1",)).model_json_schema()["properties"]
    listed = {name: schema[name]["maxItems"] for name in schema if name != "figures"}
    assert listed == registry.list_caps() == {"certifications": 6, "skills": 10, "claims": 4}
    assert list(listed) == list(registry.list_caps())  # the schema's lists come in the registry's order


def test_a_clashing_kind_is_refused_with_the_reason(tool_price):
    with pytest.raises(ValueError, match="'tool_prices' is taken by kind 'tool_price'; its search code 5 is taken"):
        registry.register(
            registry.RecordKind(
                **{
                    **vars(TOOL_PRICE),
                    "name": "other",
                    "plural": "others",
                    "view": record_view("v_other", "tool_prices", "id", ()),
                }
            )
        )
    assert [k.name for k in registry.kinds()][-1] == "tool_price"


def test_a_kind_that_does_not_fit_its_table_is_refused():
    class Priced(ToolPrice):
        vendor: str

    with pytest.raises(ValueError, match="has no column for vendor; search fields vendor are not columns"):
        registry.register(registry.RecordKind(**{**vars(TOOL_PRICE), "model": Priced, "search_fields": ("vendor",)}))
    with pytest.raises(ValueError, match="must be a Python identifier"):
        registry.register(registry.RecordKind(**{**vars(TOOL_PRICE), "name": "tool price"}))


def test_saving_an_unregistered_kind_is_refused(blank_engine):
    init_db(blank_engine)
    unknown = GroundedExtraction(records=extraction().records[:1], stats=ExtractionStats())
    with pytest.raises(StorageError, match="'tool_price' is not a registered record kind"):
        save(blank_engine, article(), unknown, V1)
