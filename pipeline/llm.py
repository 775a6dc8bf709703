"""The one place that creates the LLM client: an instructor client over openai, pointed at an endpoint
(OpenAI, Ollama, vLLM, a llama.cpp server) or at the embedded in-process model.

Endpoints use instructor's TOOLS mode, the most widely supported structured mode. In-process, both TOOLS and
JSON_SCHEMA are grammar-constrained by llama-cpp (the forced tool's parameters, or `response_format.schema`);
TOOLS also renders the schema into the prompt, JSON_SCHEMA does not, which is far fewer prompt tokens.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import httpx
import instructor
import openai

from pipeline import embedded
from pipeline.fetch import tls_context
from pipeline.settings import Settings

MODE = instructor.Mode.TOOLS
# In-process, JSON_SCHEMA sends the schema as a response_format grammar only; TOOLS would also render the whole
# schema into the prompt through the chat template (measured: 1,579 → 258 prompt tokens on a small page).
EMBEDDED_MODE = instructor.Mode.JSON_SCHEMA
EMBEDDED_BASE_URL = "http://embedded.invalid/v1"  # never resolved: the transport answers in-process
NO_KEY = "not-needed"  # Ollama, vLLM and llama.cpp servers accept any key; openai refuses an empty one


@dataclass(frozen=True)
class LLM:
    """What extraction needs to call a model: the client, the model name to send, and the context size."""

    client: instructor.Instructor = field(repr=False)
    model: str
    backend: Literal["embedded", "endpoint"]
    n_ctx: int | None = None  # known for the embedded model; endpoints report overflow as HTTP 400
    # Seconds this thread has spent with the model (holding a slot), when calls are bounded: model time without
    # the wait for a free slot. None: time the calls by the wall clock.
    model_seconds: Callable[[], float] | None = field(default=None, repr=False)


class SlotClient(httpx.Client):
    """An HTTP client that holds one of a shared set of slots while a request is with the model, and only then.

    This is what bounds model calls to `KB_LLM_CONCURRENCY`: preparing a request, parsing and validating the
    answer and waiting between retries all happen outside the slot, so the slots stay busy with the model.
    Proxy settings from the environment and the default transport are kept.
    """

    def __init__(self, slot: threading.Semaphore, **kwargs):
        super().__init__(**kwargs)
        self.slot = slot
        self._held = threading.local()

    def send(self, request: httpx.Request, **kwargs) -> httpx.Response:
        with self.slot:
            started = time.perf_counter()
            try:
                response = super().send(request, **kwargs)
                if not kwargs.get("stream"):
                    response.read()  # the body is part of the model's answer (a server may send it as it goes)
            finally:
                self._held.seconds = self.held_seconds() + time.perf_counter() - started
        return response

    def held_seconds(self) -> float:
        """Seconds the calling thread has held a slot, in all: its time with the model."""
        return getattr(self._held, "seconds", 0.0)


def make_client(
    settings: Settings,
    *,
    slot: threading.Semaphore | None = None,
    open_embedded: Callable[[Settings], embedded.EmbeddedTransport] = embedded.open_embedded,
    transport: httpx.BaseTransport | None = None,
) -> LLM:
    """The LLM client `settings` ask for; with `slot`, its requests share that bound on calls in flight;
    with `transport`, an endpoint's requests go through it instead of the network (tests, benchmarks).

    Example: `make_client(Settings.from_env()).client.create(...)`. openai's own retries are off: the
    orchestration layer retries, honouring 429 Retry-After.
    """
    if settings.uses_embedded_model:
        transport = open_embedded(settings)
        http = _http_client(slot, transport=transport)
        client = openai.OpenAI(base_url=EMBEDDED_BASE_URL, api_key="embedded", max_retries=0, http_client=http)
        return LLM(
            instructor.from_openai(client, mode=EMBEDDED_MODE),
            transport.model,
            "embedded",
            transport.n_ctx,
            _clock(http),
        )
    http = None
    if transport is not None:
        http = _http_client(slot, transport=transport, timeout=settings.llm_timeout)
    elif slot is not None:
        http = _http_client(slot, timeout=settings.llm_timeout, follow_redirects=True)
    client = openai.OpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or NO_KEY,
        timeout=settings.llm_timeout,
        max_retries=0,
        http_client=http,
    )
    return LLM(instructor.from_openai(client, mode=MODE), settings.llm_model, "endpoint", model_seconds=_clock(http))


def _clock(http: httpx.Client | None) -> Callable[[], float] | None:
    return http.held_seconds if isinstance(http, SlotClient) else None


def _http_client(slot: threading.Semaphore | None, **kwargs) -> httpx.Client:
    if "transport" not in kwargs:  # one TLS context per process, not one per client (~20 ms each)
        kwargs["verify"] = tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    return SlotClient(slot, **kwargs) if slot is not None else httpx.Client(**kwargs)
