"""Imported once by the fork server of flows.workers: do, before any worker is forked, the one-time work a
process otherwise pays on its first document, by running one article through every stage (lazy imports of
openai's resources and instructor's providers, trafilatura's, htmldate's and courlan's first use, pydantic schemas
of the reading models and the tool schemas sent, SQLAlchemy's mapper set-up and SQLite dialect, the TLS contexts
of page fetches and model clients). Measured: a worker's first document cost clean 48, extract 20 and save 13 ms
without it (then 3, 5 and 3), 7, 10 and 11 ms with it.

Nothing leaves this module: no network (the model is answered by an in-memory transport, no page is fetched), no
file (the database is in memory).
"""

from __future__ import annotations

import json
import logging
import threading

import httpx

from pipeline.clean import clean
from pipeline.extract import extract, extractor_fingerprint, reading_model
from pipeline.fetch import tls_context
from pipeline.ground import MARKER, ground
from pipeline.llm import make_client
from pipeline.save import ExtractorVersion, SaveResult, save
from pipeline.settings import Settings
from schemas.documents import Page

_PAGE = b"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Warm-up pay notes</title>
<meta name="author" content="Warm Up"><meta property="article:published_time" content="2026-01-05">
</head>
<body><nav><a href="/">Home</a></nav><article><h1>What ML engineers earn</h1>
<p>By 2026, about 40% more postings asked for PyTorch and SQL than a year before.</p>
<h2>Pay by level</h2>
<table><tr><th>Level</th><th>Base pay (per year)</th></tr>
<tr><td>Junior</td><td>$95,000 &ndash; $120,000</td></tr><tr><td>Senior</td><td>$150K-$190K</td></tr></table>
<ul><li>Python and Kubernetes</li><li>vector databases</li></ul>
<p>The AWS Certified Machine Learning Engineer exam costs $150. In Bangalore a senior engineer earns
&#8377;30&ndash;45 LPA.</p></article><footer>&copy; Warm Up</footer></body></html>"""
_ENDPOINT = Settings(database_url="sqlite://", llm_base_url="http://127.0.0.1:9/v1", llm_api_key="warm", llm_model="warm")


def _tool_call(request: httpx.Request) -> httpx.Response:
    """A model that reads every tagged figure as pay, through the reading tool: an answer for `extract`."""
    body = json.loads(request.content)
    prompt = " ".join(str(m.get("content") or "") for m in body["messages"])
    tags = (marker.group().strip()[1:-1] for marker in MARKER.finditer(prompt))  # "[M3] " → "M3"
    figures = {tag: {"kind": "pay"} for tag in dict.fromkeys(tags)}
    call = {"id": "call_warm", "type": "function",
            "function": {"name": body["tools"][0]["function"]["name"],
                         "arguments": json.dumps({"figures": figures} if figures else {})}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return httpx.Response(200, json={
        "id": "warm", "object": "chat.completion", "created": 0, "model": "warm",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    })


def warm() -> SaveResult:
    """One article through clean, extract (its model answered in memory), ground and save (into memory)."""
    from db.engine import init_db, make_engine

    slot = threading.BoundedSemaphore(1)
    make_client(_ENDPOINT, slot=slot)  # built as a worker builds its own: the model clients' TLS context too
    tls_context()  # the one page fetches use: loading a CA bundle takes each process ~20 ms
    for figures in range(0, 9):  # the reading models of up to 8 figures, and the tool schemas instructor sends
        assert reading_model(tuple(f"M{n}" for n in range(1, figures + 1))).openai_schema
    # A URL with a port: courlan reads its domain the long way, which loads its public-suffix list (~40 ms, once
    # per process); every page from a host with a port (a local or intranet server) would otherwise pay it first.
    article = clean(Page(source="http://127.0.0.1:9/warm-up", url="http://127.0.0.1:9/warm-up", body=_PAGE,
                         content_type="text/html"))
    llm = make_client(_ENDPOINT, slot=slot, transport=httpx.MockTransport(_tool_call))
    extraction = extract(article, llm, _ENDPOINT)
    engine = make_engine(_ENDPOINT.database_url)
    init_db(engine)
    schema_hash, prompt_version, model = extractor_fingerprint(_ENDPOINT.llm_model)
    extractor = ExtractorVersion(schema_hash=schema_hash, prompt_version=prompt_version, model=model)
    try:
        return save(engine, article, ground(article, extraction), extractor)
    finally:
        engine.dispose()


try:
    warm()
except Exception:  # a warm-up is an optimisation: workers still run without it (tests/test_workers.py runs it)
    logging.getLogger(__name__).warning("warm-up of the worker processes failed", exc_info=True)
