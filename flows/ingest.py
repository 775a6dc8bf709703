"""The ingest flow: every source through load → clean → extract → ground → save, one ledger row per run.

The same flow serves `kb ingest` (trigger "backfill") and scheduled deployments (trigger "schedule"). A
source's stages are plain calls of `pipeline/` functions (`process_source`): the `attempts` ledger records the
stage and reason of every failure, and a failing source is recorded and never fails the others. Retries sit on
the two kinds of I/O that can fail transiently: fetching, and LLM calls (inside the extract stage, which
honours `Retry-After`).

Concurrency, one path for every run size: the sources are split into P shares (flows.workers.process_count:
1 for the embedded model and for small runs, else up to one per core, KB_PROCESSES) and each share goes
through `run_share`: a thread pool of `document_workers` documents in one process, its model calls bounded by
that process's semaphore of KB_LLM_CONCURRENCY // P slots (pipeline.llm.SlotClient). With P = 1 the share runs
in this process: the embedded model lives here, and a small run would spend longer starting a process (its
imports, ~1 s) than it gains. With P > 1 the shares go to a standard process pool (`concurrent.futures`,
each worker's Runtime made by its initializer; progress lines come back through a logging queue), or, with
`--task-runner dask`, to a Dask cluster's executor. A worker process that dies (killed, out of memory) breaks
a local pool, which ends its other workers too (concurrent.futures' BrokenProcessPool): what finished stays
(each source's row is written as it finishes) and the sources not finished are recorded as failed at stage
"internal", with the reason; a re-run picks them up.
Writers in several processes queue on the database's own lock (db.session).
"""

from __future__ import annotations

import logging
import resource
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial

from prefect import flow
from prefect.context import FlowRunContext
from pydantic import BaseModel
from sqlmodel import Session, select

from db.engine import init_db, make_engine
from db.models import Attempt
from flows.workers import log_to, process_count, process_pool, relayed_logs, split
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
from schemas.documents import Page

MAX_DOCUMENT_WORKERS = 32  # past this, more threads in one process only contend for the GIL and the database


FETCH_DELAYS = (1.0, 4.0)  # two more tries for timeouts, 429 and 5xx; a 429's Retry-After wins


def load(source: str, settings: Settings, attempts: Attempts) -> Page:
    """Read a file or fetch a URL, retrying only what can pass (network errors, 429, 5xx)."""
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

    @classmethod
    def create(cls, settings: Settings) -> "Runtime":
        """The runtime of a run's own process: the database made ready, all model slots."""
        engine = make_engine(settings.database_url)
        init_db(engine)
        return cls(settings=settings, engine=engine, llm_slot=threading.BoundedSemaphore(llm_slots(settings)))

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


def process_source(source: str, runtime: Runtime, run_id: int, *, new: bool = False) -> Outcome:
    """One source through every stage; any failure becomes a recorded Outcome, never an exception.

    `new`: the run found nothing stored for this source when it began, so there is no extraction to reuse and no
    need to look for one (should a concurrent run store one meanwhile, this source's save replaces its records)."""
    started = datetime.now(timezone.utc)
    outcome = Outcome(source=source, status="failed")
    recorded = False
    try:
        _run_stages(source, runtime, run_id, outcome, started, new)
        recorded = True  # a saved or unchanged source's row was written with its document
    except KBError as exc:
        outcome.stage, outcome.error = exc.stage, exc.reason
    except Exception as exc:  # an unexpected bug in one source must not lose the others; it is recorded
        outcome.stage, outcome.error = "internal", f"{type(exc).__name__}: {exc}"[:500]
    if not recorded:
        record_outcome(outcome, runtime, run_id, started)
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


def run_share(share: list[str], runtime: Runtime, run_id: int, new: set[str]) -> list[Outcome]:
    """Every source of `share` through `process_source` in this process, `document_workers` at a time."""
    with ThreadPoolExecutor(max_workers=document_workers(runtime.settings), thread_name_prefix="kb-document") as pool:
        return list(pool.map(lambda source: process_source(source, runtime, run_id, new=source in new), share))


# One Runtime per worker process (an engine and a model client cannot travel between processes): made by the
# pool's initializer, or on a Dask worker by its first share, and kept for the shares it runs after.
_PROCESS_RUNTIMES: dict[tuple[Settings, int], Runtime] = {}


def _process_runtime(settings: Settings, slots: int) -> Runtime:
    """This process's Runtime for `settings` with `slots` model slots, made on first use."""
    key = (settings, slots)
    if key not in _PROCESS_RUNTIMES:
        runtime = Runtime(settings=settings, engine=make_engine(settings.database_url),
                          llm_slot=threading.BoundedSemaphore(slots))
        runtime.llm(), runtime.extractor()  # made now, not by the first of many threads that need them at once
        _PROCESS_RUNTIMES[key] = runtime
    return _PROCESS_RUNTIMES[key]


def _start_worker(settings: Settings, slots: int, log_queue) -> None:
    """A pool worker's initializer: its progress lines go to the parent, and its Runtime is made."""
    log_to(log_queue, PROGRESS_LOGGER)
    _process_runtime(settings, slots)


def run_share_elsewhere(settings: Settings, slots: int, share: list[str], run_id: int,
                        new: set[str]) -> tuple[list[Outcome], float]:
    """`run_share` in a worker process (of a local pool or of a Dask cluster); also its peak memory in MB."""
    outcomes = run_share(share, _process_runtime(settings, slots), run_id, new)
    return outcomes, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@flow(name="kb-ingest", log_prints=False, validate_parameters=False)
def ingest_flow(sources: list[str], database_url: str | None = None, trigger: str = "backfill",
                task_runner: str = "threads", dask_address: str | None = None) -> RunSummary:
    """Ingest `sources` into the knowledge base; secrets come from the environment, never from parameters.
    `task_runner` "dask": shares run on the Dask cluster at `dask_address`, else on a local one."""
    settings = Settings.from_env().with_database(database_url)
    runtime = Runtime.create(settings)
    try:
        return run_sources(sources, runtime, trigger, task_runner=task_runner, dask_address=dask_address)
    finally:
        runtime.engine.dispose()


def flow_for(task_runner: str = "threads", dask_address: str | None = None):
    """The ingest flow for a task runner: "threads" (processes of threads on this machine) or "dask"."""
    if task_runner not in ("threads", "dask"):
        raise ValueError(f"unknown task runner {task_runner!r}: use 'threads' or 'dask'")
    if task_runner == "dask":
        import distributed  # noqa: F401 - the optional `dask` extra; an ImportError now, not mid-run
    return partial(ingest_flow, task_runner=task_runner, dask_address=dask_address)


def run_sources(sources: list[str], runtime: Runtime, trigger: str, *, task_runner: str = "threads",
                dask_address: str | None = None) -> RunSummary:
    """Process every source and close the run's ledger row (see the module docstring for how)."""
    started = time.perf_counter()
    sources = list(dict.fromkeys(sources))  # the same source twice would be extracted twice, racing to save
    save_stage.mark_interrupted_runs(runtime.engine)
    context = FlowRunContext.get()
    flow_run_id = str(context.flow_run.id) if context and context.flow_run else None
    run_id = save_stage.start_run(runtime.engine, trigger, flow_run_id=flow_run_id)
    new = set(sources) - save_stage.stored_sources(runtime.engine, sources)
    if task_runner == "dask":
        outcomes, worker_rss = _run_on_dask(sources, runtime, run_id, new, dask_address)
    elif (processes := process_count(runtime.settings, len(sources))) > 1:
        outcomes, worker_rss = _run_in_processes(sources, runtime, run_id, new, processes)
    else:
        outcomes, worker_rss = run_share(sources, runtime, run_id, new), []
    save_stage.finish_run(runtime.engine, run_id, "completed", **_totals(outcomes))
    seconds = round(time.perf_counter() - started, 2)
    return RunSummary(run_id=run_id, outcomes=outcomes, seconds=seconds, worker_peak_rss_mb=worker_rss)


def _run_in_processes(sources: list[str], runtime: Runtime, run_id: int, new: set[str],
                      processes: int) -> tuple[list[Outcome], list[float]]:
    """One share per process of a local pool; their progress lines are logged here as sources finish."""
    slots = llm_slots(runtime.settings) // processes
    with relayed_logs() as log_queue:
        with process_pool(processes, _start_worker, (runtime.settings, slots, log_queue)) as pool:
            return _gather(pool, sources, runtime, run_id, new, processes, slots, relayed=True)


def _run_on_dask(sources: list[str], runtime: Runtime, run_id: int, new: set[str],
                 address: str | None) -> tuple[list[Outcome], list[float]]:
    """One share per Dask worker (of the cluster at `address`, else a local one of two single-threaded worker
    processes)."""
    from distributed import Client, LocalCluster

    cluster = None if address else LocalCluster(n_workers=2, threads_per_worker=1, processes=True)
    try:
        with Client(address or cluster) as client:
            workers = len(client.scheduler_info()["workers"]) or 1
            processes = max(1, min(workers, len(sources), llm_slots(runtime.settings)))
            slots = llm_slots(runtime.settings) // processes
            return _gather(client.get_executor(), sources, runtime, run_id, new, processes, slots, relayed=False)
    finally:
        if cluster is not None:
            cluster.close()


def _gather(executor: Executor, sources: list[str], runtime: Runtime, run_id: int, new: set[str],
            processes: int, slots: int, *, relayed: bool) -> tuple[list[Outcome], list[float]]:
    """Submit one share per process to `executor`; every source's Outcome in the order given, and each worker's
    peak memory. `relayed`: the workers' progress lines reach this process's log as they go; else each share's
    are logged when it returns. A share whose worker died is closed by `_lost`."""
    shares = split(sources, processes)
    futures = [executor.submit(run_share_elsewhere, runtime.settings, slots, share, run_id, new & set(share))
               for share in shares]
    found: dict[str, Outcome] = {}
    rss: list[float] = []
    for share, future in zip(shares, futures):
        try:
            outcomes, peak_mb = future.result()
            rss.append(peak_mb)
            unreported = [] if relayed else outcomes
        except Exception as exc:  # noqa: BLE001 - a worker process died (killed, out of memory) or was lost
            outcomes, recorded = _lost(share, runtime, run_id, exc)
            unreported = recorded if relayed else outcomes
        for outcome in unreported:
            report_outcome(outcome)
        found.update((o.source, o) for o in outcomes)
    return [found[source] for source in sources], rss


def _lost(share: list[str], runtime: Runtime, run_id: int, exc: BaseException) -> tuple[list[Outcome], list[Outcome]]:
    """A share whose worker died: its sources' Outcomes, and those of them recorded here. The sources it finished
    are read back from the ledger (each row was written as its source finished); the others are recorded as
    failed at stage "internal"."""
    finished = _finished(runtime, run_id, share)
    why = f"its worker process ended before it finished ({type(exc).__name__}: {exc})"[:500]
    outcomes, recorded = [], []
    for source in share:
        if source in finished:
            outcomes.append(Outcome(source=source, **finished[source]))
            continue
        outcome = Outcome(source=source, status="failed", stage="internal", error=why)
        record_outcome(outcome, runtime, run_id, datetime.now(timezone.utc))
        outcomes.append(outcome)
        recorded.append(outcome)
    return outcomes, recorded


def _finished(runtime: Runtime, run_id: int, sources: list[str]) -> dict[str, dict]:
    """The ledger rows this run has written for `sources`, as Outcome fields (`change` is not in the ledger)."""
    fields = ("status", "stage", "error", "document_id", "attempts", "prompt_tokens", "completion_tokens",
              "llm_seconds")
    query = select(Attempt).where(Attempt.run_id == run_id, Attempt.source.in_(sources))
    with Session(runtime.engine) as session:
        return {row.source: {name: getattr(row, name) for name in fields} for row in session.exec(query)}
