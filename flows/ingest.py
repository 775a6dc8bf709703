"""The ingest flow: one task per source (load → clean → extract → ground → save), one ledger row per run.

The same flow serves `kb ingest` (trigger "backfill") and scheduled deployments (trigger "schedule"). A
source's stages are plain calls of `pipeline/` functions inside its one task: a Prefect task run costs several
milliseconds of bookkeeping, as much as a stage's own work, and the `attempts` ledger already records the
stage and reason of every failure. Retries sit on the two kinds of I/O that can fail transiently (fetching
and LLM calls — the latter inside the extract stage, which honours `Retry-After`). A failing source is
recorded with its stage and reason and never fails the others.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel

from db.engine import init_db, make_engine
from flows.changes import publish_changes
from flows.workers import process_count, take_pool
from pipeline import clean as clean_stage
from pipeline import extract as extract_stage
from pipeline import fetch as fetch_stage
from pipeline import ground as ground_stage
from pipeline import save as save_stage
from pipeline.console import PROGRESS_LOGGER
from pipeline.errors import FetchError, KBError
from pipeline.llm import make_client
from pipeline.retry import Attempts, retry
from pipeline.settings import Settings
from pipeline.turn import Turn, released
from schemas.documents import Page

TASK_OPTIONS = dict(cache_policy=NO_CACHE, persist_result=False, log_prints=False)
MAX_DOCUMENT_WORKERS = 32  # past this, more threads in one process only contend for the GIL and the database


FETCH_DELAYS = (1.0, 4.0)  # two more tries for timeouts, 429 and 5xx; a 429's Retry-After wins


def load(source: str, settings: Settings, attempts: Attempts) -> Page:
    """Read a file or fetch a URL, retrying only what can pass (network errors, 429, 5xx); a wait for the
    network, so without the thread's turn (pipeline.turn)."""
    with released():
        return retry(
            lambda: fetch_stage.load(source, settings),
            retryable=lambda exc: isinstance(exc, FetchError) and exc.retryable,
            wait_hint=lambda exc: getattr(exc, "retry_after", None),
            delays=FETCH_DELAYS,
            attempts=attempts,
        )


@dataclass
class Runtime:
    """What every task of one flow run shares: settings, the engine, the LLM client (made on first use)."""

    settings: Settings
    engine: object
    llm_slot: threading.BoundedSemaphore
    _llm: object = None
    _extractor: save_stage.ExtractorVersion | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    turn: Turn = field(default_factory=Turn)  # one document's Python work at a time (pipeline.turn)

    @classmethod
    def create(cls, settings: Settings, llm_slot=None) -> "Runtime":
        """`llm_slot`: a semaphore shared with other processes; by default one of this process's own."""
        engine = make_engine(settings.database_url)
        init_db(engine)
        slot = llm_slot if llm_slot is not None else threading.BoundedSemaphore(llm_slots(settings))
        return cls(settings=settings, engine=engine, llm_slot=slot)

    def llm(self):
        """The LLM client, created once and only when a document actually needs extracting."""
        with self._lock:
            if self._llm is None:
                self._llm = make_client(self.settings, slot=self.llm_slot)
            return self._llm

    def extractor(self) -> save_stage.ExtractorVersion:
        """What this runtime's extractions are made by (fixed by its settings), made once."""
        if self._extractor is None:
            schema_hash, prompt_version, model = extract_stage.extractor_fingerprint(self.settings.llm_model)
            self._extractor = save_stage.ExtractorVersion(
                schema_hash=schema_hash, prompt_version=prompt_version, model=model
            )
        return self._extractor


def llm_slots(settings: Settings) -> int:
    """How many model calls may run at once: one for the in-process model, else the configured concurrency."""
    return 1 if settings.uses_embedded_model else max(1, settings.llm_concurrency)


def worker_shape(settings: Settings, sources: int) -> tuple[int, int, int]:
    """How a run of `sources` is spread: (worker processes, document threads in each, model slots in all).
    One process is this one: no worker processes are started (see flows.workers)."""
    processes = process_count(settings, sources)
    return processes, -(-document_workers(settings) // processes), llm_slots(settings)


def document_workers(settings: Settings) -> int:
    """How many documents one process works on at once: more than the LLM slots, so that while some
    documents are read, cleaned or saved, others still fill every slot (bounded, see MAX_DOCUMENT_WORKERS)."""
    return min(2 * llm_slots(settings) + 2, MAX_DOCUMENT_WORKERS)


class Outcome(BaseModel):
    """What happened to one source in one run (mirrors its `attempts` ledger row)."""

    source: str
    status: str  # ok | unchanged | failed
    change: str | None = None  # new | changed | unchanged, for sources that got as far as clean text
    stage: str | None = None
    error: str | None = None
    document_id: int | None = None
    records: dict[str, int] = {}
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0
    attempts: int = 1


def process_source(source: str, runtime: Runtime, run_id: int, *, report: bool = True, new: bool = False) -> Outcome:
    """One source through every stage; any failure becomes a recorded Outcome, never an exception.

    `report=False` leaves the progress line to the caller (a worker process's parent reports for it). `new`: the
    run found nothing stored for this source when it began, so there is no extraction to reuse and no need to
    look for one (should a concurrent run store one meanwhile, this source's save replaces its records)."""
    started = datetime.now(timezone.utc)
    outcome = Outcome(source=source, status="failed")
    recorded = False
    with runtime.turn.held():
        try:
            _run_stages(source, runtime, run_id, outcome, started, new)
            recorded = True  # a saved or unchanged source's row was written with its document
        except KBError as exc:
            outcome.stage, outcome.error = exc.stage, exc.reason
        except Exception as exc:  # an unexpected bug in one source must not lose the others; it is recorded
            outcome.stage, outcome.error = "internal", f"{type(exc).__name__}: {exc}"[:500]
        if not recorded:
            record_outcome(outcome, runtime, run_id, started)
    if report:
        report_outcome(outcome)
    return outcome


def record_outcome(outcome: Outcome, runtime: Runtime, run_id: int, started: datetime) -> None:
    """The source's `attempts` ledger row, its error without the API key."""
    outcome.error = _redacted(outcome.error, runtime.settings.llm_api_key)
    save_stage.record_attempt(
        runtime.engine, run_id, outcome.source, outcome.status, outcome.stage, outcome.error, outcome.attempts,
        outcome.prompt_tokens, outcome.completion_tokens, outcome.llm_seconds, started,
        datetime.now(timezone.utc), document_id=outcome.document_id,
    )


def report_outcome(outcome: Outcome) -> None:
    """The progress line of a finished source (`kb ingest` prints it; see pipeline.console)."""
    logging.getLogger(PROGRESS_LOGGER).info("%s %s", outcome.status, outcome.source, extra={"outcome": outcome})


def _redacted(message: str | None, secret: str | None) -> str | None:
    """The message without the API key, which a misbehaving server may echo back in its error body."""
    return message.replace(secret, "[redacted]") if message and secret else message


def _run_stages(source: str, runtime: Runtime, run_id: int, outcome: Outcome, started: datetime, new: bool) -> None:
    """Fill `outcome`; on return the save stage has written the source's attempt row in its own transaction."""
    attempts = Attempts()
    try:
        page = load(source, runtime.settings, attempts)
    finally:
        outcome.attempts = attempts.count
    article = clean_stage.clean(page)
    extractor = runtime.extractor()
    done = None
    if not (new and article.source == source):  # the run looked the source up as given
        done = save_stage.latest_extraction(runtime.engine, article.source, article.content_hash, extractor.id)
    if done is not None:
        ledger = _ledger_entry(source, run_id, started, outcome)
        outcome.document_id, outcome.change = save_stage.touch_document(runtime.engine, article, ledger)
        outcome.status = "unchanged"
        return
    extraction = extract_stage.extract(article, runtime.llm(), runtime.settings)  # calls bounded by llm_slot
    outcome.prompt_tokens = extraction.stats.prompt_tokens
    outcome.completion_tokens = extraction.stats.completion_tokens
    outcome.llm_seconds = extraction.stats.llm_seconds
    grounded = ground_stage.ground(article, extraction)
    ledger = _ledger_entry(source, run_id, started, outcome)
    saved = save_stage.save(runtime.engine, article, grounded, extractor, run_id, ledger)
    outcome.status, outcome.document_id, outcome.records = "ok", saved.document_id, saved.counts
    outcome.change = saved.document


def _ledger_entry(source: str, run_id: int, started: datetime, outcome: Outcome) -> save_stage.LedgerEntry:
    """The attempt row of a source that reached the save stage, for the save to write with the document."""
    spent = dict(prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
                 llm_seconds=outcome.llm_seconds)
    return save_stage.LedgerEntry(run_id=run_id, source=source, started=started, attempts=outcome.attempts, **spent)


def _totals(outcomes: list[Outcome]) -> dict:
    """The run ledger's counts: sources seen, new/changed/unchanged/failed, tokens and model time."""
    changes = [o.change for o in outcomes if o.status != "failed"]
    return dict(
        sources_seen=len(outcomes),
        new=changes.count("new"),
        changed=changes.count("changed"),
        unchanged=changes.count("unchanged"),
        failed=sum(o.status == "failed" for o in outcomes),
        prompt_tokens=sum(o.prompt_tokens for o in outcomes),
        completion_tokens=sum(o.completion_tokens for o in outcomes),
        llm_seconds=round(sum(o.llm_seconds for o in outcomes), 3),
    )


class RunSummary(BaseModel):
    run_id: int
    outcomes: list[Outcome]
    seconds: float
    worker_peak_rss_mb: list[float] = []  # each worker process's peak memory, when the run used them

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


@task(name="document", **TASK_OPTIONS)
def document_task(source: str, runtime: "Runtime | Settings", run_id: int, new: bool = False) -> Outcome:
    """One source; on a Dask worker `runtime` arrives as the (picklable) settings and the worker's own is used."""
    if isinstance(runtime, Settings):
        runtime = worker_runtime(runtime)
    return process_source(source, runtime, run_id, new=new)


# The worker-process cache: a Runtime holds an engine and locks, which cannot travel to a Dask worker process,
# so each worker process builds one per database on first use and keeps it for the tasks it runs after.
_WORKER_RUNTIMES: dict[str, Runtime] = {}
_WORKER_LOCK = threading.Lock()


def worker_runtime(settings: Settings) -> Runtime:
    """This process's Runtime for `settings.database_url`, created on first use (see the worker-process cache)."""
    with _WORKER_LOCK:
        runtime = _WORKER_RUNTIMES.get(settings.database_url)
        if runtime is None or runtime.settings != settings:
            runtime = _WORKER_RUNTIMES[settings.database_url] = Runtime.create(settings, _cluster_slots(settings))
        return runtime


def _cluster_slots(settings: Settings):
    """On a Dask worker: the model slots as one semaphore of the whole cluster (Dask's own, kept by its
    scheduler), named after the endpoint and model, so that KB_LLM_CONCURRENCY bounds the calls of every worker
    together rather than of each worker process. None anywhere else."""
    try:
        from distributed import Semaphore, get_worker

        get_worker()
    except (ImportError, ValueError):
        return None
    name = f"career-kb-llm:{settings.llm_base_url}:{settings.llm_model}"
    return Semaphore(max_leases=llm_slots(settings), name=name)


def flow_for(task_runner: str = "threads", dask_address: str | None = None):
    """The ingest flow on a task runner: "threads" (this process) or "dask" (the cluster at `dask_address`,
    else a local one of two single-threaded worker processes). Prefect binds runners at definition, hence this."""
    if task_runner == "threads":
        return ingest_flow
    if task_runner != "dask":
        raise ValueError(f"unknown task runner {task_runner!r}: use 'threads' or 'dask'")
    from prefect_dask import DaskTaskRunner  # the optional `dask` extra

    local = {"n_workers": 2, "threads_per_worker": 1, "processes": True}
    runner = DaskTaskRunner(address=dask_address) if dask_address else DaskTaskRunner(cluster_kwargs=local)
    return ingest_flow.with_options(task_runner=runner)


@flow(name="kb-ingest", log_prints=False, validate_parameters=False)
def ingest_flow(sources: list[str], database_url: str | None = None, trigger: str = "backfill") -> RunSummary:
    """Ingest `sources` into the knowledge base; secrets come from the environment, never from parameters."""
    settings = Settings.from_env().with_database(database_url)
    runtime = Runtime.create(settings)
    return run_sources(sources, runtime, trigger)


def run_sources(sources: list[str], runtime: Runtime, trigger: str) -> RunSummary:
    """Process every source (concurrently, bounded by the task runner) and close the run's ledger row."""
    started = time.perf_counter()
    sources = list(dict.fromkeys(sources))  # the same source twice would be extracted twice, racing to save
    save_stage.mark_interrupted_runs(runtime.engine)
    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else None
    run_id = save_stage.start_run(runtime.engine, trigger, flow_run_id=flow_run_id)
    new = set(sources) - save_stage.stored_sources(runtime.engine, sources)
    workers, worker_rss = document_workers(runtime.settings), []
    threads_runner = context is not None and isinstance(context.task_runner, ThreadPoolTaskRunner)
    shape = worker_shape(runtime.settings, len(sources)) if context is None or threads_runner else (1, 0, 0)
    if shape[0] > 1:  # a large run: worker processes; documents are then not Prefect tasks (see flows.workers)
        pool = take_pool(runtime.settings, *shape)
        try:
            outcomes = pool.run(sources, run_id, runtime, new)
        except BaseException:
            pool.close()
            raise
        pool.close(block=False)  # every outcome is in: the run need not wait for the processes to exit
        worker_rss = pool.peak_rss_mb
    elif threads_runner:
        outcomes = _submit_bounded(sources, runtime, run_id, workers, new)
    elif context is not None:  # other runners may run tasks in other processes, and bound them themselves
        futures = [document_task.submit(source, runtime.settings, run_id, source in new) for source in sources]
        outcomes = [future.result() for future in futures]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(
                pool.map(lambda source: process_source(source, runtime, run_id, new=source in new), sources)
            )
    save_stage.finish_run(runtime.engine, run_id, "completed", **_totals(outcomes))
    publish_changes(runtime.engine, run_id)  # the run's record changes, as an artifact of its Prefect flow run
    seconds = round(time.perf_counter() - started, 2)
    return RunSummary(run_id=run_id, outcomes=outcomes, seconds=seconds, worker_peak_rss_mb=worker_rss)


def _submit_bounded(sources: list[str], runtime: Runtime, run_id: int, limit: int, new: set[str]) -> list[Outcome]:
    """One document task per source, at most `limit` running: Prefect's thread pool is unbounded by default
    and would start a thread for every source at once."""
    gate = threading.BoundedSemaphore(limit)
    futures = []
    for source in sources:
        gate.acquire()
        future = document_task.submit(source, runtime, run_id, source in new)
        future.add_done_callback(lambda _: gate.release())
        futures.append(future)
    return [future.result() for future in futures]
