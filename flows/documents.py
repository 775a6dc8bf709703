"""One share of a run's sources in one process: each source through load → clean → extract → ground → save,
as plain calls of `pipeline/` functions, `document_workers` at a time, with its ledger row and progress line.

flows.ingest splits a run into shares and runs them here or in worker processes (see its docstring); this
module is all a worker process imports to do its share, so it stays free of Prefect (~half of a start's import).
"""

from __future__ import annotations

import logging
import resource
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel

from db.engine import init_db, make_engine
from flows.workers import Stop, log_to, share_stop, watch_run
from pipeline import asof
from pipeline import clean as clean_stage
from pipeline import extract as extract_stage
from pipeline import fetch as fetch_stage
from pipeline import ground as ground_stage
from pipeline import save as save_stage
from pipeline.errors import FetchError, KBError
from pipeline.examples import ReviewExamples
from pipeline.llm import check_endpoint, make_client
from pipeline.retry import Attempts, retry
from pipeline.settings import Settings
from schemas.documents import Page

MAX_DOCUMENT_WORKERS = 32  # past this, more threads in one process only contend for the GIL and the database
FETCH_DELAYS = (1.0, 4.0)  # two more tries for timeouts, 429 and 5xx; a 429's Retry-After wins

PROGRESS_LOGGER = "career_kb.progress"  # one INFO record per finished source; kb ingest shows them
STATUS_LOGGER = "career_kb.status"  # what a run is doing while no source finishes (loading, checking, stopping)


def say(line: str) -> None:
    """A status line for `kb ingest` to show (pipeline.console), in the run's log otherwise."""
    logging.getLogger(STATUS_LOGGER).info(line)


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
    """What the documents of one process share: settings, engine, model slots, the LLM client (made on first use),
    and `stop`, set to start no more documents (Ctrl-C). `check`: whether making the client checks the endpoint
    first (a run's own process does; its worker processes need not ask again)."""

    settings: Settings
    engine: object
    llm_slot: threading.BoundedSemaphore
    stop: threading.Event = field(default_factory=threading.Event)
    check: bool = True
    _llm: object = None
    _extractor: save_stage.ExtractorVersion | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        """The runtime of a run's own process: the database made ready, all model slots."""
        engine = make_engine(settings.database_url)
        init_db(engine)
        return cls(settings=settings, engine=engine, llm_slot=threading.BoundedSemaphore(llm_slots(settings)))

    def llm(self):
        """The LLM client, created (and its endpoint checked) once and only when a document needs extracting."""
        with self._lock:
            if self._llm is None:
                embedded = self.settings.uses_embedded_model
                if self.check:
                    say(f"loading model {self.settings.llm_model} …" if embedded else "checking the model endpoint …")
                llm = make_client(self.settings, slot=self.llm_slot)
                if self.check:
                    check_endpoint(llm, self.settings)
                self._llm = llm
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
    started = datetime.now(UTC)
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
        runtime.engine,
        run_id,
        outcome.source,
        outcome.status,
        outcome.stage,
        outcome.error,
        outcome.attempts,
        outcome.prompt_tokens,
        outcome.completion_tokens,
        outcome.llm_seconds,
        started,
        datetime.now(UTC),
        document_id=outcome.document_id,
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
    extraction = _extract(article, runtime, outcome)
    outcome.prompt_tokens = extraction.stats.prompt_tokens
    outcome.completion_tokens = extraction.stats.completion_tokens
    outcome.llm_seconds = extraction.stats.llm_seconds
    grounded = asof.dated(article, ground_stage.ground(article, extraction))
    ledger = _ledger_entry(source, run_id, started, outcome)
    saved = save_stage.save(runtime.engine, article, grounded, extractor, run_id, ledger)
    outcome.status, outcome.document_id, outcome.records = "ok", saved.document_id, saved.counts
    outcome.change = saved.document


def _extract(article, runtime: Runtime, outcome: Outcome):
    """The extract stage, its model requests added to the source's attempts. Once the endpoint is down, the
    source fails with the endpoint's reason, without a call."""
    llm = runtime.llm()
    sent = llm.model_requests or (lambda: 0)  # this thread's requests: the document's own
    before = sent()
    try:
        if llm.endpoint is not None:
            llm.endpoint.raise_if_down()
        examples = ReviewExamples.read(runtime.engine) if runtime.settings.review_examples else None
        return extract_stage.extract(article, llm, runtime.settings, examples=examples)  # calls bounded by llm_slot
    except KBError:
        if llm.endpoint is not None:
            llm.endpoint.raise_if_down()  # the reason of a connection failure is the endpoint's
        raise
    finally:
        outcome.attempts += sent() - before


def _ledger_entry(source: str, run_id: int, started: datetime, outcome: Outcome) -> save_stage.LedgerEntry:
    """The attempt row of a source that reached the save stage, for the save to write with the document."""
    spent = dict(
        prompt_tokens=outcome.prompt_tokens,
        completion_tokens=outcome.completion_tokens,
        llm_seconds=outcome.llm_seconds,
    )
    return save_stage.LedgerEntry(run_id=run_id, source=source, started=started, attempts=outcome.attempts, **spent)


def run_share(
    share: list[str], runtime: Runtime, run_id: int, new: set[str], stop: Stop | None = None
) -> list[Outcome]:
    """Every source of `share` through `process_source` in this process, `document_workers` at a time.
    Once `runtime.stop` (or `stop`, a worker's) is set no source starts: the Outcomes are those of the sources
    that did."""

    def stopped() -> bool:
        return runtime.stop.is_set() or (stop is not None and stop.is_set())

    def one(source: str) -> Outcome | None:
        return None if stopped() else process_source(source, runtime, run_id, new=source in new)

    with ThreadPoolExecutor(max_workers=document_workers(runtime.settings), thread_name_prefix="kb-document") as pool:
        return [outcome for outcome in pool.map(one, share) if outcome is not None]


# One Runtime per worker process (an engine and a model client cannot travel between processes): made by the
# pool's initializer, or on a Dask worker by its first share, and kept for the shares it runs after.
_PROCESS_RUNTIMES: dict[tuple[Settings, int], Runtime] = {}
_PROCESS_RUNTIMES_LOCK = threading.Lock()  # a Dask worker of several threads may start two shares at once


def _process_runtime(settings: Settings, slots: int) -> Runtime:
    """This process's Runtime for `settings` with `slots` model slots, made on first use."""
    key = (settings, slots)
    with _PROCESS_RUNTIMES_LOCK:
        if key in _PROCESS_RUNTIMES:
            return _PROCESS_RUNTIMES[key]
        runtime = Runtime(
            settings=settings,
            engine=make_engine(settings.database_url),
            llm_slot=threading.BoundedSemaphore(slots),
            check=False,  # the run's own process checked the endpoint before it started the workers
        )
        runtime.llm(), runtime.extractor()  # made now, not by the first of many threads that need them at once
        _PROCESS_RUNTIMES[key] = runtime
        return runtime


def start_worker(settings: Settings, slots: int, log_queue, stop: Stop) -> None:
    """A pool worker's initializer: it heeds the run's `stop` (flows.workers.watch_run), its progress lines go
    to the parent, and its Runtime is made."""
    watch_run(stop)
    log_to(log_queue, PROGRESS_LOGGER)
    _process_runtime(settings, slots)


def run_share_elsewhere(
    settings: Settings, slots: int, share: list[str], run_id: int, new: set[str], dask_stop: str | None = None
) -> tuple[list[Outcome], float]:
    """`run_share` in a worker process (of a local pool, or of a Dask cluster, where the run's stop is the
    `distributed.Event` named `dask_stop`); also its peak memory in MB."""
    with share_stop(dask_stop) as stop:
        outcomes = run_share(share, _process_runtime(settings, slots), run_id, new, stop)
    return outcomes, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
