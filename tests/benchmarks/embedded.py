"""Benchmark the embedded model over the dev corpus (../shared/corpus) or the demo pages.

    python -m uv run --extra local python -m tests.benchmarks.embedded [FILES_OR_FOLDERS...]

Prints, per document and in total: seconds, LLM calls, prompt and output tokens, prompt and output tokens/s
(from llama.cpp's own counters, so sampling and grammar time count as output time), records found, and the
process's peak RSS. Target: the five corpus articles in at most 300 s on 2 cores.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from pipeline import embedded
from pipeline.clean import clean
from pipeline.extract import extract
from pipeline.fetch import load
from pipeline.ground import ground
from pipeline.llm import make_client
from pipeline.settings import Settings
from pipeline.sources import expand_sources

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
TARGET_SECONDS = 300.0


def default_sources() -> list[str]:
    return [str(CORPUS)] if CORPUS.is_dir() else [str(ROOT / "fixtures" / "pages")]


def llama_counters() -> tuple[float, int, float, int]:
    """(prompt ms, prompt tokens, output ms, output tokens) so far, summed over loaded models."""
    import llama_cpp

    totals = [0.0, 0, 0.0, 0]
    for llama in embedded._loaded.values():
        data = llama_cpp.llama_perf_context(llama._ctx.ctx)
        for i, value in enumerate((data.t_p_eval_ms, data.n_p_eval, data.t_eval_ms, data.n_eval)):
            totals[i] += value
    return tuple(totals)


def rate(tokens: float, ms: float) -> str:
    return f"{tokens / (ms / 1000):.1f}" if ms else "-"


def main(argv: list[str]) -> int:
    settings = Settings.from_env()
    if not settings.uses_embedded_model:
        print("unset KB_LLM_BASE_URL / KB_LLM_API_KEY / OPENAI_API_KEY: this benchmarks the embedded model")
        return 2
    sources = expand_sources(argv or default_sources())
    started = time.perf_counter()
    llm = make_client(settings)
    print(f"model {llm.model} ready in {time.perf_counter() - started:.1f}s (join/verify + load)")
    print(f"{'document':44} {'sec':>6} {'calls':>5} {'p_tok':>6} {'p_tok/s':>7} {'o_tok':>6} {'o_tok/s':>7} records")
    total, before = 0.0, llama_counters()
    for source in sources:
        t0 = time.perf_counter()
        article = clean(load(source, settings))
        grounded = ground(article, extract(article, llm, settings))
        seconds = time.perf_counter() - t0
        total += seconds
        after = llama_counters()
        p_ms, p_n, o_ms, o_n = (a - b for a, b in zip(after, before, strict=True))
        before = after
        kinds = {}
        for item in grounded.records:
            kinds[item.kind] = kinds.get(item.kind, 0) + 1
        name = Path(source).name[:44]
        calls = grounded.stats.llm_calls
        print(f"{name:44} {seconds:6.1f} {calls:5} {p_n:6} {rate(p_n, p_ms):>7} {o_n:6} {rate(o_n, o_ms):>7} {kinds}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total {total:.1f}s for {len(sources)} documents = {total / max(1, len(sources)):.1f}s per document")
    print(f"vs target {TARGET_SECONDS:.0f}s for the five corpus articles: {total / TARGET_SECONDS:.2f}x")
    print(f"peak RSS {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
