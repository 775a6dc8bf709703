"""Performance and scale of the ingest path, with the model faked (run by hand, not a test).

    .venv/bin/python -m tests.benchmarks.scale [--big 10000] [--keep DIR]

Prints one table; every figure is set against its limit (ratio = figure / limit; ≤ 1 is within it, except
throughput where ≥ 1 is). Measures, in one run:
  overhead     per-document time of run_sources (pages served on 127.0.0.1 and the model answered instantly by
               FakeOpenAI + reader, both from processes of their own) vs bare fetch + trafilatura.extract + one
               SQLite insert on the same pages, taking turns five times: the medians; run_sources uses as many
               processes as `kb ingest` would for 200 sources (flows.workers.process_count), started inside
               each run's clock
  concurrency  wall time with a 0.2 s model and KB_LLM_CONCURRENCY=8 vs calls × 0.2 s / 8, twice: with the fake
               model server in a thread of this process (its HTTP handling competes for the GIL with the
               pipeline), and in a forked process of its own (as a real model server would be)
  tokens       characters sent to the model (messages + tool schema) vs the article texts + one fixed prompt
               per document, on fixtures/pages (tokens ~ chars / 4 on both sides, so the ratio is of chars)
  incremental  a second run over the unchanged 200 pages: model calls and wall time vs the first run
  growth       one database filled to --big minus 1,000 documents (default --big 1,000: none), then 1,000 new
               documents into a new empty database and into the full one, taking turns three times: the medians
               of their documents per second
  memory       peak RSS after 1,000 and after --big documents: this process's plus, for runs in worker
               processes, the sum of their peaks
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import sqlite3
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="kb-bench-prefect-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import httpx  # noqa: E402
import trafilatura  # noqa: E402

from db.query import run_readonly  # noqa: E402
from flows.ingest import Runtime, run_sources  # noqa: E402
from flows.workers import process_count  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from tests.fakes.http_pages import PageServer  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI, FakeOpenAIProcess  # noqa: E402
from tests.fakes.reader import reader  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_PAGES = ROOT / "fixtures" / "pages"
LATENCY, CONCURRENCY = 0.2, 8
RSS_LIMIT_MB = 1024  # a budget chosen for a 2-core, few-GB worker; not a measured requirement

_ROLES = ("ML engineer", "AI engineer", "LLM engineer", "MLOps engineer", "data scientist", "research engineer")
_CITIES = ("Berlin", "London", "Austin", "Toronto", "Bangalore", "Paris", "Remote (US)", "Singapore")
_SKILLS = ("Python", "PyTorch", "LangChain", "Kubernetes", "vector databases", "prompt engineering", "SQL")
_LEVELS = ("junior", "mid", "senior", "staff")


def article_html(i: int) -> str:
    """A simple, varied article: a few paragraphs, a salary table by level, skills, a certification, a claim."""
    rng = random.Random(i)
    role, city = rng.choice(_ROLES), rng.choice(_CITIES)
    base = rng.randrange(60, 140) * 1000
    rows = "".join(
        f"<tr><td>{level.title()} {role}</td><td>${base + k * 30000:,} – ${base + k * 30000 + 25000:,}</td></tr>"
        for k, level in enumerate(_LEVELS[: rng.randint(2, 4)])
    )
    skills = ", ".join(rng.sample(_SKILLS, 3))
    filler = " ".join(
        f"Hiring for {role} roles in {city} changed in quarter {q} as teams moved models into production."
        for q in range(1, rng.randint(3, 7))
    )
    return f"""<!doctype html><html><head><title>{role.title()} pay in {city}, report {i}</title></head>
<body><nav><a href="/">Home</a> <a href="/jobs">Jobs</a></nav><article>
<h1>What a {role} earns in {city} (report {i})</h1>
<p>{filler}</p>
<h2>Salaries by level</h2>
<table><tr><th>Level</th><th>Base salary (per year)</th></tr>{rows}</table>
<p>Employers ask for {skills}. Most postings in {city} list at least two of them.</p>
<p>Useful credential: AWS Certified Machine Learning Engineer, whose exam fee is $150.</p>
<p>About {rng.randint(20, 80)}% of the {role} postings we read were remote-friendly.</p>
</article><footer>© Report {i}</footer></body></html>"""


def write_corpus(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"article-{i:05d}.html" for i in range(count)]
    for i, path in enumerate(paths):
        path.write_text(article_html(i), encoding="utf-8")
    return paths


def settings_for(fake: FakeOpenAI, database: Path, **changes) -> Settings:
    base = Settings(
        database_url=f"sqlite:///{database}",
        llm_base_url=fake.base_url,
        llm_api_key="bench",
        llm_model="fake-model",
        allow_private_urls=True,
    )
    return replace(base, **changes)


WORKER_RSS: list[float] = []  # the summed peak RSS of each run's worker processes, in MB


def backfill(settings: Settings, sources: list[str]) -> tuple[float, int]:
    """Wall seconds of one run_sources over `sources` and how many failed. The engine is made before the clock
    starts (a cost of the run's start, not of its documents); worker processes, if the run uses them, are
    started by the run itself, inside the clock."""
    runtime = Runtime.create(settings)
    started = time.perf_counter()
    summary = run_sources(sources, runtime, "backfill")
    seconds = time.perf_counter() - started
    runtime.engine.dispose()
    WORKER_RSS.append(sum(summary.worker_peak_rss_mb))
    return seconds, len(summary.failed)


def bare_baseline(urls: list[str], database: Path) -> float:
    """Fetch, trafilatura.extract and one INSERT per page, sequentially: the least any pipeline must do."""
    con = sqlite3.connect(database)
    con.execute("create table docs (source text, text text)")
    started = time.perf_counter()
    with httpx.Client() as client:
        for url in urls:
            text = trafilatura.extract(client.get(url).text, url=url) or ""
            con.execute("insert into docs values (?, ?)", (url, text))
            con.commit()
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def sent_chars(request: dict) -> int:
    """What a prompt costs: every message's content plus the tool schema, as characters."""
    return sum(len(m.get("content") or "") for m in request["messages"]) + len(json.dumps(request.get("tools", [])))


def fixed_chars(request: dict) -> int:
    """The part of a request that does not come from the article: system messages and the tool schema."""
    system = sum(len(m.get("content") or "") for m in request["messages"] if m["role"] != "user")
    return system + len(json.dumps(request.get("tools", [])))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PagesElsewhere:
    """A PageServer in a forked process of its own, so serving pages takes no time from the process measured."""

    def __init__(self, root: Path):
        self.root, self.base_url = root, ""

    def __enter__(self) -> PagesElsewhere:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve_pages, args=(self.root, child), daemon=True)
        self._process.start()
        self.base_url = self._conn.recv()
        return self

    def __exit__(self, *exc) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()


def _serve_pages(root: Path, conn) -> None:
    with PageServer(root) as site:
        conn.send(site.url("").rstrip("/"))
        conn.recv()


class Bench:
    """Collects table rows: (measure, figure, limit, ratio, note)."""

    def __init__(self, work: Path):
        self.work, self.rows = work, []

    def add(self, measure: str, figure: float, limit: float, unit: str, note: str = "", higher_is_better=False):
        ratio = (figure / limit) if limit else float("inf") if figure else 0.0
        ok = ratio >= 1 if higher_is_better else ratio <= 1
        self.rows.append(
            (measure, f"{figure:,.3f} {unit}", f"{limit:,.3f} {unit}", f"{ratio:.2f}×", "ok" if ok else "OVER", note)
        )

    def overhead_and_incremental(self, pages: int = 200, rounds: int = 5) -> None:
        """Both servers in processes of their own, as real web and model servers are: what is timed is career-kb.
        The bare baseline and career-kb take turns, `rounds` times each, each time on a new database; the
        medians are compared (the baseline alone moved between 4.2 and 7.8 ms a page from one run to the next)."""
        paths = write_corpus(self.work / "served", pages)
        bares, firsts, failed = [], [], 0
        with PagesElsewhere(self.work / "served") as site, FakeOpenAIProcess(reader) as fake:
            urls = [f"{site.base_url}/{p.name}" for p in paths]
            for round_ in range(rounds):
                bares.append(bare_baseline(urls, self.work / f"bare-{round_}.sqlite") / pages)
                settings = settings_for(fake, self.work / f"overhead-{round_}.sqlite")
                calls = fake.count
                seconds, lost = backfill(settings, urls)
                firsts.append(seconds)
                failed, calls = failed + lost, fake.count - calls
            processes = process_count(settings, pages)
            first, before = firsts[-1], fake.count
            second, _ = backfill(settings, urls)  # the last round's database again, its pages unchanged
            again = fake.count - before
        bare, per_doc = statistics.median(bares), statistics.median(firsts) / pages
        spread = lambda values, scale: "/".join(f"{v * scale:.1f}" for v in values)  # noqa: E731
        self.add(
            "overhead: run_sources per doc",
            per_doc * 1000,
            2 * bare * 1000,
            "ms",
            f"= {per_doc / bare:.2f}× bare fetch+trafilatura+insert ({bare * 1000:.1f} ms/doc); limit 2×; "
            f"medians of {rounds} alternating rounds (career-kb {spread(firsts, 1000 / pages)}, bare "
            f"{spread(bares, 1000)} ms/doc); {processes} worker process(es); {calls} fake calls in the last round; "
            f"{failed} failed",
        )
        self.add("incremental: LLM calls, rerun", again, 0, "calls", f"first run made {calls}")
        self.add("incremental: wall, rerun vs first", second, first, "s", f"{pages} unchanged pages")

    def concurrency(self, docs: int = 100, fake_in: str = "thread") -> None:
        """Wall time of `docs` documents with a 0.2 s model; `fake_in` "thread" (this process) or "process"."""
        paths = write_corpus(self.work / f"concurrency-{fake_in}", docs)
        server = FakeOpenAI if fake_in == "thread" else FakeOpenAIProcess
        with server(reader, latency=LATENCY) as fake:
            settings = settings_for(fake, self.work / f"concurrency-{fake_in}.sqlite", llm_concurrency=CONCURRENCY)
            seconds, failed = backfill(settings, [str(p) for p in paths])
            calls = fake.count
        ideal = calls * LATENCY / CONCURRENCY
        where = "in a thread of this process" if fake_in == "thread" else "in its own process"
        self.add(
            f"concurrency: wall vs N×L/C, fake {fake_in}",
            seconds,
            1.15 * ideal,
            "s",
            f"{docs} docs, {calls} calls × {LATENCY}s / {CONCURRENCY} = {ideal:.2f}s; limit 1.15×; {failed} failed; "
            f"fake model server {where}",
        )

    def tokens(self) -> None:
        sources = [str(p) for p in sorted(FIXTURE_PAGES.iterdir())]
        with FakeOpenAI(reader) as fake:
            settings = settings_for(fake, self.work / "tokens.sqlite")
            backfill(settings, sources)
            requests = fake.requests
        texts = run_readonly(settings.database_url, "select text from v_documents").rows
        fixed = min(fixed_chars(r) for r in requests)
        budget = sum(len(t) for (t,) in texts) + fixed * len(texts)
        sent = sum(sent_chars(r) for r in requests)
        self.add(
            "tokens: sent vs article + 1 prompt",
            sent / 4,
            budget / 4,
            "tok",
            f"{len(requests)} requests over {len(texts)} docs; fixed prompt ≈ {fixed // 4} tok (chars/4)",
        )

    def growth(self, small: int, big: int, rounds: int = 3) -> None:
        """Whether time per document grows with the database: one database is filled to `big - small` documents,
        then `small` new documents go, in turn, into a new empty database and into the full one, `rounds` times
        each; the medians of their documents per second are compared (taking turns, a slow spell of this shared
        machine cannot fall on one side only). Peak RSS is read after the first empty run and after all."""
        paths = [str(p) for p in write_corpus(self.work / "growth", big + (rounds - 1) * small)]
        fill = paths[: max(0, big - small)]
        empty_rates, full_rates, failed = [], [], 0
        with FakeOpenAIProcess(reader) as fake:
            full = settings_for(fake, self.work / "growth.sqlite")
            if fill:
                failed += backfill(full, fill)[1]
            rss_small = None
            for round_ in range(rounds):
                batch = paths[len(fill) + round_ * small : len(fill) + (round_ + 1) * small]
                seconds, lost = backfill(settings_for(fake, self.work / f"growth-empty-{round_}.sqlite"), batch)
                empty_rates.append(small / seconds)
                rss_small = rss_small or _peak_rss_mb() + WORKER_RSS[-1]
                seconds, more = backfill(full, batch)
                full_rates.append(small / seconds)
                failed += lost + more
        rss_big = _peak_rss_mb() + max(WORKER_RSS)
        done = run_readonly(full.database_url, "select count(*) from v_documents").rows[0][0]
        rate_first, rate_last = statistics.median(empty_rates), statistics.median(full_rates)
        rates = lambda values: "/".join(f"{v:.0f}" for v in values)  # noqa: E731
        print(
            f"  growth: {done:,} documents in the full database; {small:,} documents at {rates(empty_rates)} docs/s "
            f"into an empty one, {rates(full_rates)} into the full one",
            flush=True,
        )
        self.add(
            f"growth: docs/s, {small:,} into an empty DB",
            rate_first,
            rate_first,
            "docs/s",
            f"reference: median of {rounds} ({rates(empty_rates)})",
            True,
        )
        self.add(
            f"growth: docs/s, {small:,} into a DB of {big - small:,}+",
            rate_last,
            0.8 * rate_first,
            "docs/s",
            f"limit: ≥ 80% of the empty DB's; median of {rounds} ({rates(full_rates)}), taking turns with it; "
            f"{done:,} documents at the end, {failed} failed",
            True,
        )
        self.add(
            f"memory: peak RSS after {done:,} vs after {small:,}",
            rss_big,
            1.2 * rss_small,
            "MB",
            f"{rss_small:.0f} MB after {small:,}; limit: within 20% (bounded, not growing with N)",
        )
        self.add(f"memory: peak RSS after {done:,} docs", rss_big, RSS_LIMIT_MB, "MB", "budget for a small worker")

    def print(self) -> None:
        header = ("measure", "figure", "limit", "ratio", "", "note")
        widths = [max(len(str(r[i])) for r in [header, *self.rows]) for i in range(len(header))]
        for row in [header, *self.rows]:
            print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=1000, help="size of the second growth run (e.g. 10000)")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one, removed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
        bench = Bench(args.keep or Path(tmp))
        started = time.perf_counter()
        bench.overhead_and_incremental()
        bench.concurrency(fake_in="thread")
        bench.concurrency(fake_in="process")
        bench.tokens()
        bench.growth(1000, max(1000, args.big))
        print(
            f"\ncareer-kb scale benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M UTC}, "
            f"{os.cpu_count()} cores, {time.perf_counter() - started:.0f} s in all\n"
        )
        bench.print()


if __name__ == "__main__":
    main()
