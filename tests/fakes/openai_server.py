"""A fake OpenAI-compatible HTTP server on loopback, so tests drive the real `openai`/`instructor` clients offline.

    with FakeOpenAI(tool_call_reply("Salary", {...})) as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="test")

A *responder* decides each reply: a callable `responder(request_json) -> Reply | dict`, a fixed `Reply`/dict, or a
list (the n-th request gets the n-th item). A plain dict is sent as a 200 JSON body. The helpers below build the
replies instructor and the openai client care about: tool calls, JSON content, API errors, broken JSON, hangs.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "fake-model"


@dataclass
class Reply:
    """One HTTP reply: status, JSON body (dict) or raw bytes, extra headers, and a delay before it is sent."""

    body: dict | bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[dict], Reply | dict] | Reply | dict | Sequence[Reply | dict]

_ids = itertools.count(1)


def _completion(message: dict, finish_reason: str, prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "id": f"chatcmpl-fake-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": None,  # filled in with the requested model when the reply is sent
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def tool_call_reply(
    name: str, arguments: dict | str, *, prompt_tokens: int = 100, completion_tokens: int = 20, delay: float = 0.0
) -> Reply:
    """A completion whose message calls tool `name` with `arguments` (what instructor's TOOLS mode parses).

    `name` must be the response model's class name. A str `arguments` is sent as is (to send broken JSON).
    """
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    call = {"id": f"call_fake_{next(_ids)}", "type": "function", "function": {"name": name, "arguments": args}}
    message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
    return Reply(_completion(message, "tool_calls", prompt_tokens, completion_tokens), delay=delay)


def cut_reply(name: str, *, prompt_tokens: int = 100, completion_tokens: int = 20) -> Reply:
    """A completion cut at its max_tokens: finish_reason "length", the tool call's arguments unfinished."""
    call = {
        "id": f"call_fake_{next(_ids)}",
        "type": "function",
        "function": {"name": name, "arguments": '{"figures": {'},
    }
    message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
    return Reply(_completion(message, "length", prompt_tokens, completion_tokens))


def text_reply(content: str, *, prompt_tokens: int = 100, completion_tokens: int = 20, delay: float = 0.0) -> Reply:
    """A completion whose message content is `content` (finish_reason "stop")."""
    message = {"role": "assistant", "content": content, "refusal": None}
    return Reply(_completion(message, "stop", prompt_tokens, completion_tokens), delay=delay)


def json_reply(obj: Any, **kwargs: Any) -> Reply:
    """A completion whose content is `obj` as JSON, for instructor's JSON / JSON_SCHEMA / MD_JSON modes."""
    return text_reply(json.dumps(obj), **kwargs)


def invalid_json_reply(tool_name: str | None = None, **kwargs: Any) -> Reply:
    """A 200 completion carrying truncated JSON: in a tool call named `tool_name`, else in the content."""
    broken = '{"salaries": [{"currency": "USD", "amount_min": 1200'
    return tool_call_reply(tool_name, broken, **kwargs) if tool_name else text_reply(broken, **kwargs)


def error_reply(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    delay: float = 0.0,
) -> Reply:
    """An API error in OpenAI's shape, e.g. error_reply(429, "slow down", {"Retry-After": "1"})."""
    body = {"error": {"message": message, "type": type, "param": None, "code": code}}
    return Reply(body, status=status, headers=dict(headers or {}), delay=delay)


def rate_limit_reply(retry_after: float = 1, message: str = "Rate limit reached for requests") -> Reply:
    """429 with a Retry-After header, as OpenAI sends it."""
    return error_reply(429, message, {"Retry-After": str(retry_after)}, type="requests", code="rate_limit_exceeded")


def context_length_reply(max_tokens: int = 8192) -> Reply:
    """400 context_length_exceeded, what the API answers when the prompt is too long."""
    message = (
        f"This model's maximum context length is {max_tokens} tokens. However, your messages resulted "
        f"in {max_tokens * 2} tokens. Please reduce the length of the messages."
    )
    return error_reply(400, message, code="context_length_exceeded")


def raw_reply(body: bytes, status: int = 200, content_type: str = "application/json") -> Reply:
    """Arbitrary bytes, e.g. an HTML error page from a proxy or a body that is not JSON at all."""
    return Reply(body, status=status, headers={"Content-Type": content_type})


def hang_reply(seconds: float, then: Reply | dict | None = None) -> Reply:
    """Wait `seconds` before answering (longer than the client timeout to exercise timeouts)."""
    reply = _as_reply(then if then is not None else text_reply("too late"))
    return Reply(reply.body, reply.status, dict(reply.headers), delay=reply.delay + seconds)


def _as_reply(value: Reply | dict) -> Reply:
    return value if isinstance(value, Reply) else Reply(value)


def sequence(*replies: Responder, repeat_last: bool = False) -> Callable[[dict], Reply]:
    """A responder that answers the n-th request with the n-th item (itself a Reply, dict or callable).

    Past the end it repeats the last item if `repeat_last`, else answers 500 so a test sees the extra call.
    """
    lock, calls = threading.Lock(), itertools.count()

    def respond(request: dict) -> Reply:
        with lock:
            n = next(calls)
        if n >= len(replies) and not repeat_last:
            return error_reply(
                500, f"fake script exhausted: request {n + 1} but only {len(replies)} scripted", type="server_error"
            )
        return _resolve(replies[min(n, len(replies) - 1)], request)

    return respond


def _resolve(responder: Responder, request: dict) -> Reply:
    if callable(responder):
        return _as_reply(responder(request))
    return _as_reply(responder)


def _unset(request: dict) -> Reply:
    return error_reply(500, "FakeOpenAI has no responder; pass one or set fake.responder", type="server_error")


class FakeOpenAI:
    """A loopback OpenAI-compatible server in a background thread; a context manager.

    `base_url` is what to hand the openai client. `requests` holds every parsed chat-completions body in arrival
    order; `count` is how many arrived. `latency` is added to every chat completion (on top of a reply's delay),
    counted from the request's arrival, so the fake's own handling is inside it, as a fixed-latency server's is.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency: float = 0.0,
        models: Sequence[str] = (DEFAULT_MODEL,),
        host: str = "127.0.0.1",
    ):
        self.responder: Responder = responder if responder is not None else _unset
        self.latency = latency
        self.models = list(models)
        self._host = host
        self._lock = threading.Lock()
        self._requests: list[dict] = []
        self._headers: list[dict[str, str]] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        self._server = _Server((self._host, 0), _Handler)
        self._server.fake = self
        serve = self._server.serve_forever
        self._thread = threading.Thread(target=serve, args=(0.05,), name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping on a delay so shutdown is prompt
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # what tests read ---------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None, "FakeOpenAI is not running"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    @property
    def requests(self) -> list[dict]:
        with self._lock:
            return list(self._requests)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self._headers)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._headers.clear()

    # called by the handler ---------------------------------------------------------------------------------
    def _record(self, body: dict, headers: dict[str, str]) -> None:
        with self._lock:
            self._requests.append(body)
            self._headers.append(headers)

    def _reply_to(self, body: dict) -> Reply:
        if body.get("stream"):
            return error_reply(400, "FakeOpenAI does not support stream=true")
        try:
            reply = _resolve(self.responder, body)
        except Exception as exc:  # a broken responder must show up in the test, not hang the client
            return error_reply(500, f"responder raised {type(exc).__name__}: {exc}", type="server_error")
        if isinstance(reply.body, dict) and reply.body.get("object") == "chat.completion":
            model = reply.body.get("model") or body.get("model", DEFAULT_MODEL)
            reply = replace(reply, body={**reply.body, "model": model})  # replies may be shared across threads
        return reply

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False means stop was requested."""
        return seconds <= 0 or not self._stopping.wait(seconds)


class FakeOpenAIProcess:
    """FakeOpenAI served from a forked child process, so its request handling takes no GIL time from the caller.

    For benchmarks: a real model server never shares the pipeline's process. The child is forked, so it inherits
    the responder as it is (nothing is pickled). It offers only `base_url` and `count`, not `requests`.
    """

    def __init__(self, responder: Responder, *, latency: float = 0.0):
        self.responder, self.latency = responder, latency
        self._conn = None
        self._process = None
        self.base_url = ""

    def __enter__(self) -> FakeOpenAIProcess:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(self.responder, self.latency, child), daemon=True)
        self._process.start()
        self.base_url = self._conn.recv()
        return self

    @property
    def count(self) -> int:
        self._conn.send("count")
        return self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()


def _serve(responder: Responder, latency: float, conn) -> None:
    """The child process of FakeOpenAIProcess: serve, answer `count` questions, stop when told."""
    with FakeOpenAI(responder, latency=latency) as fake:
        conn.send(fake.base_url)
        while conn.recv() == "count":
            conn.send(fake.count)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 512  # a concurrency benchmark opens many connections at once
    fake: FakeOpenAI


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed ACK
    # (~40 ms on Linux loopback) on every kept-alive request. Real servers set TCP_NODELAY too.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.server.fake.models]
            self._send(Reply({"object": "list", "data": data}))
        else:
            self._send(error_reply(404, f"no route GET {self.path}"))

    def do_POST(self) -> None:
        received = time.monotonic()  # a fixed latency counts from here: the fake's own parsing is part of it
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.split("?")[0].rstrip("/") != "/v1/chat/completions":
            self._send(error_reply(404, f"no route POST {self.path}"))
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            self._send(error_reply(400, f"request body is not JSON: {exc}"))
            return
        fake = self.server.fake
        fake._record(body, {k.lower(): v for k, v in self.headers.items()})
        reply = fake._reply_to(body)
        if fake._sleep(fake.latency + reply.delay - (time.monotonic() - received)):
            self._send(reply)
        else:
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        headers = {"Content-Type": "application/json", **reply.headers}
        try:
            self.send_response(reply.status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test); nothing to answer
