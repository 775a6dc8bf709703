"""The test fakes behave like the services they stand in for: the real openai and instructor clients talk to
FakeOpenAI, PageServer serves the fixture pages, and fixtures/gold.json agrees with the pages it labels."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import instructor
import openai
import pytest
from instructor.core import InstructorRetryException
from pydantic import BaseModel, field_validator

from tests.fakes.http_pages import Override, PageServer
from tests.fakes.openai_server import (
    FakeOpenAI,
    FakeOpenAIProcess,
    context_length_reply,
    error_reply,
    hang_reply,
    invalid_json_reply,
    json_reply,
    rate_limit_reply,
    sequence,
    text_reply,
    tool_call_reply,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PAY_RULE = "amount must be a yearly figure of at least 10000"


class Pay(BaseModel):
    currency: str
    amount: int

    @field_validator("amount")
    @classmethod
    def _yearly(cls, value: int) -> int:
        if value < 10_000:
            raise ValueError(PAY_RULE)
        return value


def client(fake: FakeOpenAI, **kwargs) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="test", **{"max_retries": 0, **kwargs})


def chat(c: openai.OpenAI, content: str = "?", model: str = "m"):
    return c.chat.completions.create(model=model, messages=[{"role": "user", "content": content}])


def patched(fake: FakeOpenAI) -> instructor.Instructor:
    return instructor.from_openai(client(fake), mode=instructor.Mode.TOOLS)


def ask_pay(fake: FakeOpenAI, max_retries: int = 1) -> Pay:
    return patched(fake).chat.completions.create(
        model="fake-model",
        response_model=Pay,
        max_retries=max_retries,
        messages=[{"role": "user", "content": "Pay: $120,000 a year"}],
    )


# --- FakeOpenAI with the plain openai client ---------------------------------------------------------------


def test_text_reply_reaches_openai_client_with_usage_and_model():
    with FakeOpenAI(text_reply("hello", prompt_tokens=7, completion_tokens=3)) as fake:
        done = chat(client(fake), "hi", model="gpt-x")
    assert done.choices[0].message.content == "hello"
    assert (done.usage.prompt_tokens, done.usage.total_tokens, done.model) == (7, 10, "gpt-x")
    assert fake.count == 1 and fake.requests[0]["messages"][0]["content"] == "hi"


def test_models_endpoint_lists_configured_models():
    with FakeOpenAI(models=["a", "b"]) as fake:
        assert [m.id for m in client(fake).models.list()] == ["a", "b"]


def test_json_reply_puts_json_in_content():
    with FakeOpenAI(json_reply({"x": 1})) as fake:
        done = chat(client(fake))
    assert json.loads(done.choices[0].message.content) == {"x": 1}


def test_rate_limit_carries_retry_after_and_client_retries_past_it():
    with FakeOpenAI(rate_limit_reply(retry_after=0)) as fake, pytest.raises(openai.RateLimitError) as err:
        chat(client(fake))
    assert err.value.response.headers["retry-after"] == "0"
    with FakeOpenAI(sequence(rate_limit_reply(retry_after=0), text_reply("ok"))) as fake:
        done = chat(client(fake, max_retries=1))
    assert done.choices[0].message.content == "ok" and fake.count == 2


def test_context_length_error_is_a_bad_request_with_its_code():
    with FakeOpenAI(context_length_reply()) as fake, pytest.raises(openai.BadRequestError) as err:
        chat(client(fake))
    assert err.value.code == "context_length_exceeded"


def test_hang_longer_than_client_timeout_raises_timeout_quickly():
    with FakeOpenAI(hang_reply(30)) as fake:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            chat(client(fake, timeout=0.3))
    assert time.monotonic() - started < 5  # stop() wakes the sleeping handler


def test_sequence_answers_500_when_exhausted():
    with FakeOpenAI(sequence(text_reply("one"))) as fake:
        c = client(fake)
        chat(c)
        with pytest.raises(openai.InternalServerError, match="exhausted"):
            chat(c)


def test_responder_sees_request_and_can_be_swapped():
    with FakeOpenAI() as fake:
        fake.responder = lambda req: text_reply(req["messages"][-1]["content"].upper())
        done = chat(client(fake), "echo")
    assert done.choices[0].message.content == "ECHO"


def test_many_concurrent_requests_overlap_their_latency():
    with FakeOpenAI(text_reply("ok"), latency=0.2) as fake:
        c = client(fake)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=32) as pool:
            replies = list(pool.map(lambda i: chat(c, str(i)), range(64)))
        elapsed = time.monotonic() - started
    assert len(replies) == 64 and fake.count == 64
    assert sorted(int(r["messages"][0]["content"]) for r in fake.requests) == list(range(64))
    assert elapsed < 64 * 0.2 / 4, f"requests were not served concurrently ({elapsed:.2f}s)"


def test_the_fake_can_serve_from_a_child_process():
    with FakeOpenAIProcess(text_reply("from the child")) as fake:
        replies = [chat(client(fake), str(i)).choices[0].message.content for i in range(3)]
        assert fake.count == 3
    assert replies == ["from the child"] * 3


# --- FakeOpenAI with instructor (TOOLS mode) --------------------------------------------------------------


def test_instructor_tools_mode_parses_tool_call():
    with FakeOpenAI(tool_call_reply("Pay", {"currency": "USD", "amount": 120000})) as fake:
        pay = ask_pay(fake)
    assert pay.model_dump() == {"currency": "USD", "amount": 120000}
    assert fake.requests[0]["tool_choice"]["function"]["name"] == "Pay"


def test_instructor_reasks_with_validation_error_text():
    script = sequence(
        tool_call_reply("Pay", {"currency": "USD", "amount": 120}),
        tool_call_reply("Pay", {"currency": "USD", "amount": 120000}),
    )
    with FakeOpenAI(script) as fake:
        pay = ask_pay(fake, max_retries=2)
    assert pay.amount == 120000 and fake.count == 2
    first, second = (json.dumps(r["messages"]) for r in fake.requests)
    assert PAY_RULE not in first and PAY_RULE in second


def test_instructor_reasks_after_invalid_json():
    script = sequence(invalid_json_reply("Pay"), tool_call_reply("Pay", {"currency": "EUR", "amount": 70000}))
    with FakeOpenAI(script) as fake:
        assert ask_pay(fake, max_retries=2).currency == "EUR"
    assert fake.count == 2


def test_instructor_gives_up_with_context_after_retries():
    # instructor 1.17 counts re-asks: max_retries=1 means two requests in all.
    with (
        FakeOpenAI(tool_call_reply("Pay", {"currency": "USD", "amount": 5})) as fake,
        pytest.raises(InstructorRetryException) as err,
    ):
        ask_pay(fake, max_retries=1)
    assert fake.count == 2 and err.value.n_attempts == 2
    assert err.value.total_usage.prompt_tokens == 200  # usage from both fake replies is summed


def test_server_error_reply_surfaces_as_openai_error():
    with (
        FakeOpenAI(error_reply(503, "overloaded", type="server_error")) as fake,
        pytest.raises(openai.InternalServerError, match="overloaded"),
    ):
        chat(client(fake))


# --- PageServer ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content_type",
    [
        ("ai-engineer-salaries-2026.html", "text/html"),
        ("career-notes.md", "text/markdown"),
        ("reader-notes.txt", "text/plain"),
    ],
)
def test_page_server_serves_fixture_files(name, content_type):
    with PageServer(FIXTURES / "pages") as site:
        response = httpx.get(site.url(name))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert response.content == (FIXTURES / "pages" / name).read_bytes()


def test_page_server_overrides_and_records_hits():
    overrides = {
        "/gone": Override(status=404, body="not here"),
        "/moved": Override(status=301, headers={"Location": "/small-salary-table.html"}),
    }
    with PageServer(FIXTURES / "pages", overrides) as site:
        assert httpx.get(site.url("gone")).status_code == 404
        final = httpx.get(site.url("/moved"), follow_redirects=True, headers={"User-Agent": "kb-test"})
    assert final.status_code == 200 and "pay bands" in final.text
    assert [h.path for h in site.hits] == ["/gone", "/moved", "/small-salary-table.html"]
    assert site.hits[1].headers["user-agent"] == "kb-test"


# --- fixtures/gold.json agrees with the pages it labels --------------------------------------------------

GOLD = json.loads((FIXTURES / "gold.json").read_text(encoding="utf-8"))["documents"]
_MONEY = re.compile(
    r"(\d[\d,]*(?:\.\d+)?)(?:\s*[–-]\s*(?:[£€$₹]|C\$|CHF )?(\d[\d,]*(?:\.\d+)?))?"
    r"\s*(k|million|lakh|LPA)?\b",
    re.I,
)
_MULTIPLIER = {"k": 1_000, "million": 1_000_000, "lakh": 100_000, "lpa": 100_000, "": 1}


def amounts_in(text: str) -> set[int]:
    """Every number in `text` scaled by a following k/million/lakh/LPA ("₹14–22 LPA" gives both ends)."""
    found = set()
    for m in _MONEY.finditer(text):
        scale = _MULTIPLIER[(m.group(3) or "").lower()]
        found |= {round(float(g.replace(",", "")) * scale) for g in m.group(1, 2) if g}
    return found


@pytest.mark.parametrize("doc", GOLD, ids=[d["source"] for d in GOLD])
def test_gold_labels_match_their_fixture(doc):
    raw = (FIXTURES / doc["source"]).read_text(encoding="utf-8")
    flat = " ".join(raw.split()).lower()
    pay = {b for s in doc["salaries"] + doc["optional"] for b in s["bounds"]}
    assert not pay & set(doc["forbidden"]), "a figure cannot be both pay and forbidden"
    assert pay | set(doc["forbidden"]) <= amounts_in(raw)
    assert [c for c in doc["certifications"] + doc["skills"] if c.lower() not in flat] == []
