"""The ingest flow on a local Dask cluster of worker processes, writing to PostgreSQL (SQLite without it).

Shares of the sources run in the cluster's worker processes, which get the settings and build their own Runtime;
the rows must be the same as a plain backfill's in this process. Needs the optional `dask` extra; skipped without it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from flows import documents
from flows.ingest import flow_for
from tests.conftest import PAGES
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.overlap import Overlap
from tests.fakes.pg import PostgresCluster, find_bin
from tests.fakes.reader import reader
from tests.test_postgres import backfill, view_contents

pytest.importorskip("prefect_dask", reason="the optional `dask` extra is not installed")


@pytest.fixture
def fake_llm():
    """The suite's fake model, counting how many requests it holds at once (each for 0.2 s)."""
    overlap = Overlap(hold=0.2)

    def counted(request):
        with overlap:
            return reader(request)

    with FakeOpenAI(counted) as fake:
        fake.overlap = overlap
        yield fake


@pytest.fixture
def database_url(tmp_path):
    if find_bin() is None:
        yield f"sqlite:///{tmp_path / 'dask.sqlite'}"
        return
    with PostgresCluster() as cluster:
        yield cluster.url


@pytest.mark.slow  # ~40 s: a Dask cluster of two worker processes and a PostgreSQL cluster start
def test_a_backfill_on_a_dask_cluster_stores_the_same_rows(
    settings, llm_env, database_url, prefect_harness, monkeypatch
):
    """…with KB_LLM_CONCURRENCY=1 held across the cluster: two worker processes, one model slot between them (so
    one share, on one worker), never two calls at once."""
    monkeypatch.setenv("KB_LLM_CONCURRENCY", "1")
    sources = [str(p) for p in sorted(PAGES.iterdir())]
    backfill(settings)  # the reference: threads in this process, SQLite
    calls, llm_env.overlap.most = llm_env.count, 0

    summary = flow_for("dask")(sources, database_url=database_url, trigger="backfill")

    assert {o.status for o in summary.outcomes} == {"ok"}
    here = {settings.database_url for settings, _slots in documents._PROCESS_RUNTIMES}
    assert database_url not in here, "documents ran in this process, not on Dask workers"
    assert llm_env.count == 2 * calls
    assert llm_env.overlap.most == 1, "the model slots were per worker process, not per cluster"
    assert view_contents(database_url) == view_contents(settings.database_url)
    again = backfill(replace(settings, database_url=database_url))
    assert {o.status for o in again.outcomes} == {"unchanged"} and llm_env.count == 2 * calls


def test_unknown_task_runners_are_refused():
    with pytest.raises(ValueError, match="threads"):
        flow_for("ray")
