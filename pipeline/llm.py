"""The one place that creates the LLM client: an instructor client over openai, pointed at an endpoint
(OpenAI, Ollama, vLLM, a llama.cpp server) or at the embedded in-process model.

Endpoints use instructor's TOOLS mode, the most widely supported structured mode. In-process, both TOOLS and
JSON_SCHEMA are grammar-constrained by llama-cpp (the forced tool's parameters, or `response_format.schema`);
TOOLS also renders the schema into the prompt, JSON_SCHEMA does not, which is far fewer prompt tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import httpx
import instructor
import openai

from pipeline import embedded
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


def make_client(
    settings: Settings, *, open_embedded: Callable[[Settings], embedded.EmbeddedTransport] = embedded.open_embedded
) -> LLM:
    """The LLM client `settings` ask for. Example: `make_client(Settings.from_env()).client.create(...)`.

    openai's own retries are off: the orchestration layer retries, honouring 429 Retry-After.
    """
    if settings.uses_embedded_model:
        transport = open_embedded(settings)
        client = openai.OpenAI(
            base_url=EMBEDDED_BASE_URL, api_key="embedded", max_retries=0, http_client=httpx.Client(transport=transport)
        )
        return LLM(instructor.from_openai(client, mode=EMBEDDED_MODE), transport.model, "embedded", transport.n_ctx)
    client = openai.OpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or NO_KEY,
        timeout=settings.llm_timeout,
        max_retries=0,
    )
    return LLM(instructor.from_openai(client, mode=MODE), settings.llm_model, "endpoint")
