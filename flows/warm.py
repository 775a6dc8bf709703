"""Imported once by the fork server of flows.workers: do, before any worker is forked, the one-time work a
process otherwise pays on its first document (lazy imports of openai's resources and instructor's providers,
trafilatura's and htmldate's first parse, pydantic schemas of the reading models, SQLAlchemy's mapper set-up
and SQLite dialect, the TLS contexts of page fetches and model clients). Measured: ~1 s per worker process on
its first document, then ~25 ms a document.

Nothing leaves this module: no network (the client is made, never called), no file (the database is in memory).
"""

from __future__ import annotations

import threading

from pipeline.clean import clean
from pipeline.extract import extractor_fingerprint, reading_model
from pipeline.fetch import tls_context
from pipeline.ground import ground
from pipeline.llm import make_client
from pipeline.save import ExtractorVersion, save
from pipeline.settings import Settings
from schemas.documents import Extraction, Page

_PAGE = b"""<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>
<p>A senior ML engineer earns $150,000 to $190,000 a year, we read in a table:</p>
<table><tr><th>Level</th><th>Pay</th></tr><tr><td>Senior</td><td>$150,000</td></tr></table>
</article></body></html>"""
_ENDPOINT = Settings(database_url="sqlite://", llm_base_url="http://127.0.0.1:9/v1", llm_api_key="warm", llm_model="warm")


def warm() -> None:
    from db.engine import init_db, make_engine

    extractor_fingerprint(_ENDPOINT.llm_model)  # its schema hash is computed once per process
    llm = make_client(_ENDPOINT, slot=threading.BoundedSemaphore(1))  # built as a worker's is: its TLS context too
    assert llm.client.chat.completions is not None  # openai makes its resources (and imports them) on first use
    tls_context()  # the one page fetches use: loading a CA bundle takes each process ~20 ms
    for figures in range(0, 9):  # the reading models of up to 8 figures, and the tool schemas instructor sends
        assert reading_model(tuple(f"M{n}" for n in range(1, figures + 1))).openai_schema
    article = clean(Page(source="warm-up.html", body=_PAGE, content_type="text/html"))
    engine = make_engine(_ENDPOINT.database_url)
    init_db(engine)
    save(engine, article, ground(article, Extraction()), ExtractorVersion(schema_hash="warm", prompt_version="warm", model="warm"))
    engine.dispose()


warm()
