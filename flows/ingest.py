"""The ingest flow: every source through load → clean → extract → ground → save, one ledger row per run.

The same flow serves `kb ingest` when a Prefect API is configured (trigger "backfill") and scheduled deployments
(trigger "schedule"); it is flows.run's `run_sources` as a Prefect flow, with the run's record changes as an
artifact. A source's stages are plain calls of `pipeline/` functions (`process_source`): the `attempts` ledger
records the stage and reason of every failure, and a failing source is recorded and never fails the others.
Retries sit on the two kinds of I/O that can fail transiently: fetching, and LLM calls (inside the extract stage,
which honours `Retry-After`). How a run is spread over threads and processes: see flows.run.
"""

from __future__ import annotations

from functools import partial

from prefect import flow
from prefect.context import FlowRunContext

from flows.changes import publish_changes
from flows.documents import (  # noqa: F401 - MAX_DOCUMENT_WORKERS, document_workers, process_source: the API
    MAX_DOCUMENT_WORKERS,
    Outcome,
    Runtime,
    document_workers,
    process_source,
)
from flows.run import RunSummary, check_task_runner, run_sources  # noqa: F401 - run_sources: the API
from pipeline.settings import Settings


@flow(name="kb-ingest", log_prints=False, validate_parameters=False)
def ingest_flow(
    sources: list[str],
    database_url: str | None = None,
    trigger: str = "backfill",
    task_runner: str = "threads",
    dask_address: str | None = None,
) -> RunSummary:
    """Ingest `sources` into the knowledge base; secrets come from the environment, never from parameters.
    `task_runner` "dask": shares run on the Dask cluster at `dask_address`, else on a local one."""
    settings = Settings.from_env().with_database(database_url)
    runtime = Runtime.create(settings)
    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else None
    try:
        summary = run_sources(
            sources, runtime, trigger, task_runner=task_runner, dask_address=dask_address, flow_run_id=flow_run_id
        )
        publish_changes(runtime.engine, summary.run_id)  # the run's record changes, as its flow run's artifact
        return summary
    finally:
        runtime.engine.dispose()


def flow_for(task_runner: str = "threads", dask_address: str | None = None):
    """The ingest flow for a task runner: "threads" (processes of threads on this machine) or "dask"."""
    check_task_runner(task_runner)
    return partial(ingest_flow, task_runner=task_runner, dask_address=dask_address)
