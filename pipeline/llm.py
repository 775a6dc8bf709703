"""The one place that creates the LLM client: an instructor client over openai, pointed at an endpoint
(OpenAI, Ollama, vLLM, a llama.cpp server) or at the embedded in-process model.

Endpoints use instructor's TOOLS mode, the most widely supported structured mode. In-process, both TOOLS and
JSON_SCHEMA are grammar-constrained by llama-cpp (the forced tool's parameters, or `response_format.schema`);
TOOLS also renders the schema into the prompt, JSON_SCHEMA does not, which is far fewer prompt tokens.

An endpoint that cannot be reached is found out once (`Endpoint`: a health check before the first call, then
consecutive connection failures), so that a run stops calling it instead of retrying every document for minutes.
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
from pipeline.errors import ExtractError
from pipeline.fetch import tls_context
from pipeline.settings import Settings

MODE = instructor.Mode.TOOLS
# In-process, JSON_SCHEMA sends the schema as a response_format grammar only; TOOLS would also render the whole
# schema into the prompt through the chat template (measured: 1,579 → 258 prompt tokens on a small page).
EMBEDDED_MODE = instructor.Mode.JSON_SCHEMA
EMBEDDED_BASE_URL = "http://embedded.invalid/v1"  # never resolved: the transport answers in-process
NO_KEY = "not-needed"  # Ollama, vLLM and llama.cpp servers accept any key; openai refuses an empty one
HEALTH_TIMEOUT = 5.0  # seconds the health check waits to connect; a live endpoint accepts at once
CONNECTION_FAILURES = 3  # consecutive requests that could not connect: the endpoint is taken to be down


class Endpoint:
    """Whether a model endpoint can be reached, shared by a process's documents: once down, no more calls.

    Only failures to connect count (refused, unresolvable, connect timeout); any HTTP answer, even an error,
    shows the endpoint is there."""

    def __init__(self, url: str, limit: int = CONNECTION_FAILURES):
        self.url = str(httpx.URL(url).copy_with(username=None, password=None)).rstrip("/")  # no credentials
        self.limit = limit
        self.reason: str | None = None
        self._down = threading.Event()
        self._failures = 0
        self._lock = threading.Lock()

    def check(self, http: httpx.Client, api_key: str | None) -> None:
        """One GET of the endpoint's model list, before the first call: unreachable means down at once."""
        try:
            http.get(f"{self.url}/models", headers=_auth(api_key), timeout=HEALTH_TIMEOUT)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
            self._trip(f"did not answer a health check ({type(exc).__name__}: {exc})")
        except httpx.HTTPError:
            pass  # it answered, slowly or oddly: the calls themselves will say more

    def answered(self) -> None:
        with self._lock:
            self._failures = 0

    def failed_to_connect(self, exc: BaseException) -> None:
        """Count one request that could not connect; the `limit`-th in a row takes the endpoint down."""
        with self._lock:
            self._failures += 1
            if self._failures >= self.limit:
                self._trip(f"refused {self._failures} requests in a row ({type(exc).__name__}: {exc})")

    def _trip(self, why: str) -> None:
        self.reason = f"model endpoint {self.url} is unreachable: {why}; no more model calls in this run"[:500]
        self._down.set()

    def is_down(self) -> bool:
        return self._down.is_set()

    def raise_if_down(self) -> None:
        """Once the endpoint is down: the one reason every remaining source is recorded with."""
        if self.reason is not None:
            raise ExtractError(self.reason)


def _auth(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key or NO_KEY}"}


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
    # HTTP requests this thread has sent to the model, in all: retries and re-asks included. None: not counted.
    model_requests: Callable[[], int] | None = field(default=None, repr=False)
    endpoint: Endpoint | None = None  # an endpoint's reachability; None for the embedded model


class SlotClient(httpx.Client):
    """An HTTP client that holds one of a shared set of slots while a request is with the model, and only then.

    This is what bounds model calls to `KB_LLM_CONCURRENCY`: preparing a request, parsing and validating the
    answer and waiting between retries all happen outside the slot, so the slots stay busy with the model.
    Proxy settings from the environment and the default transport are kept. It also counts each thread's
    requests, and tells `endpoint` which of them could not connect (none is sent once it is down).
    """

    def __init__(self, slot: threading.Semaphore, endpoint: Endpoint | None = None, **kwargs):
        super().__init__(**kwargs)
        self.slot = slot
        self.endpoint = endpoint
        self._held = threading.local()

    def send(self, request: httpx.Request, **kwargs) -> httpx.Response:
        if self.endpoint is not None and self.endpoint.is_down():
            raise httpx.ConnectError(self.endpoint.reason or "endpoint down", request=request)
        with self.slot:
            started = time.perf_counter()
            self._held.requests = self.requests() + 1
            try:
                response = self._send_watched(request, **kwargs)
            finally:
                self._held.seconds = self.held_seconds() + time.perf_counter() - started
        return response

    def _send_watched(self, request: httpx.Request, **kwargs) -> httpx.Response:
        """Send, telling the endpoint whether the request connected."""
        try:
            response = super().send(request, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if self.endpoint is not None:
                self.endpoint.failed_to_connect(exc)
            raise
        if self.endpoint is not None:
            self.endpoint.answered()
        if not kwargs.get("stream"):
            response.read()  # the body is part of the model's answer (a server may send it as it goes)
        return response

    def requests(self) -> int:
        """HTTP requests the calling thread has sent, in all."""
        return getattr(self._held, "requests", 0)

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
    endpoint = None
    if isinstance(http, SlotClient):  # the URL as openai resolved it (OPENAI_BASE_URL, its default)
        endpoint = http.endpoint = Endpoint(str(client.base_url))
    return LLM(
        instructor.from_openai(client, mode=MODE),
        settings.llm_model,
        "endpoint",
        model_seconds=_clock(http),
        model_requests=http.requests if isinstance(http, SlotClient) else None,
        endpoint=endpoint,
    )


def check_endpoint(llm: LLM, settings: Settings) -> None:
    """The health check of `llm`'s endpoint (nothing for the embedded model): see `Endpoint.check`."""
    if llm.endpoint is None:
        return
    with _http_client(None, None, follow_redirects=True) as http:
        llm.endpoint.check(http, settings.llm_api_key)


def _clock(http: httpx.Client | None) -> Callable[[], float] | None:
    return http.held_seconds if isinstance(http, SlotClient) else None


def _http_client(slot: threading.Semaphore | None, endpoint: Endpoint | None = None, **kwargs) -> httpx.Client:
    if "transport" not in kwargs:  # one TLS context per process, not one per client (~20 ms each)
        kwargs["verify"] = tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    return SlotClient(slot, endpoint, **kwargs) if slot is not None else httpx.Client(**kwargs)
