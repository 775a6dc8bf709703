"""Compare clean() with bare trafilatura.extract on the article-extraction benchmark (run by hand, not a test).

The clean stage adds pruning (hidden elements, navigation), table-row formatting and its own decoding on top
of trafilatura; this checks that none of that costs main text. The metric is the benchmark's own: word
4-shingle precision/recall/F1 of each page's text against the human-extracted article body, averaged.

    .venv/bin/python tests/benchmarks/clean_vs_trafilatura.py [/work/shared/peer/aeb] [--worst N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from statistics import mean

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.clean import clean  # noqa: E402
from pipeline.errors import CleanError  # noqa: E402
from schemas.documents import Page  # noqa: E402

DEFAULT_AEB = Path("/work/shared/peer/aeb")
SHINGLE = 4
_WORD = re.compile(r"\w+")

Extractor = Callable[[bytes, str], str]


def shingles(text: str, size: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """Multiset of `size`-word shingles of `text`, lower-cased; a text shorter than `size` is one shingle."""
    words = _WORD.findall(text.lower())
    if not words:
        return Counter()
    return Counter(tuple(words[i : i + size]) for i in range(max(1, len(words) - size + 1)))


def score(truth: str, predicted: str) -> tuple[float, float, float]:
    """Shingle precision, recall, F1 of `predicted` against `truth` (an empty side scores 0, both empty 1)."""
    want, got = shingles(truth), shingles(predicted)
    if not want and not got:
        return 1.0, 1.0, 1.0
    hits = sum((want & got).values())
    precision = hits / sum(got.values()) if got else 0.0
    recall = hits / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1


def bare_trafilatura(html: bytes, url: str) -> str:
    """trafilatura.extract with its defaults, as a user would call it."""
    return trafilatura.extract(html, url=url) or ""


def clean_stage(html: bytes, url: str) -> str:
    """career-kb's clean(); a refused page yields no text."""
    try:
        return clean(Page(source=url, url=url, body=html, content_type="text/html")).text
    except CleanError:
        return ""


def evaluate(aeb: Path, extractor: Extractor) -> dict[str, tuple[float, float, float]]:
    """Per-page (precision, recall, F1) of one extractor over the benchmark."""
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    results = {}
    for page_id, expected in sorted(truth.items()):
        html = gzip.decompress((aeb / "html" / f"{page_id}.html.gz").read_bytes())
        results[page_id] = score(expected["articleBody"], extractor(html, expected.get("url") or ""))
    return results


def summary(name: str, results: dict[str, tuple[float, float, float]], seconds: float) -> str:
    """One line: mean P, mean R, F1 of the means (the benchmark's headline) and mean per-page F1."""
    precision = mean(r[0] for r in results.values())
    recall = mean(r[1] for r in results.values())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_page = mean(r[2] for r in results.values())
    return (
        f"{name:<18} P={precision:.4f} R={recall:.4f} F1={f1:.4f} "
        f"(mean per-page F1={per_page:.4f}, {len(results)} pages, {seconds:.1f}s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("aeb", nargs="?", type=Path, default=DEFAULT_AEB)
    parser.add_argument("--worst", type=int, default=5, help="list the N pages where clean() loses most F1")
    args = parser.parse_args()
    runs = {}
    for name, extractor in (("bare trafilatura", bare_trafilatura), ("clean()", clean_stage)):
        started = time.perf_counter()
        runs[name] = evaluate(args.aeb, extractor)
        print(summary(name, runs[name], time.perf_counter() - started))
    losses = sorted((runs["clean()"][k][2] - runs["bare trafilatura"][k][2], k) for k in runs["clean()"])
    for delta, page_id in losses[: args.worst]:
        print(f"  {delta:+.3f} F1  {page_id}")


if __name__ == "__main__":
    main()
