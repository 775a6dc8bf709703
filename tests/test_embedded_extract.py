"""Proof the embedded model is real: the in-process 1.5B model extracts grounded salary rows from a fixture page.

Slow (model load plus a few seconds of CPU inference); CI runs it. Nothing here talks to a network.
"""

from __future__ import annotations

import pytest

from db.query import run_readonly
from flows.ingest import Runtime, run_sources
from pipeline.settings import Settings
from tests.conftest import PAGES

pytestmark = pytest.mark.slow


@pytest.fixture
def embedded_settings(tmp_path) -> Settings:
    settings = Settings.from_env().with_database(str(tmp_path / "kb.sqlite"))
    assert settings.uses_embedded_model  # no endpoint configured: the default backend
    return settings


def test_the_embedded_model_stores_grounded_salaries_with_the_right_numbers(embedded_settings):
    pytest.importorskip("llama_cpp", reason="the `local` extra is not installed")
    source = str(PAGES / "small-salary-table.html")
    summary = run_sources([source], Runtime.create(embedded_settings), "test")
    assert [o.status for o in summary.outcomes] == ["ok"], summary.outcomes[0].error
    url = embedded_settings.database_url
    rows = run_readonly(
        url,
        "select level, amount_min, amount_max, currency, period, quote, char_start, char_end "
        "from v_salaries order by amount_min",
    ).rows
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("junior", 92000, 118000, "USD", "year"),
        ("mid", 118000, 150000, "USD", "year"),
        ("senior", 150000, 195000, "USD", "year"),
    ]
    (text,) = run_readonly(url, "select text from v_documents").rows[0]
    for row in rows:
        assert text[row[6] : row[7]] == row[5]
    # the exam fee on the page is money, but not pay
    assert 100 not in {r[1] for r in rows}
    ledger = run_readonly(url, "select prompt_tokens, completion_tokens from v_attempts").rows[0]
    assert ledger[0] > 0 and ledger[1] > 0
