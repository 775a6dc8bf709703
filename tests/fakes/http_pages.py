"""A loopback static web server for fetch tests: serves a directory, with per-path overrides.

    with PageServer(FIXTURES / "pages", overrides={"/gone": Override(status=404)}) as site:
        page = fetch(site.url("ai-engineer-salaries-2026.html"))

An override replaces the file at that path with a fixed status, headers, body and delay (redirects, errors,
wrong content types, slow pages, oversized bodies). Every request's path and headers are recorded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Override:
    """A canned reply for one path; `body` str is sent as UTF-8."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str = b""
    delay: float = 0.0


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]


class PageServer:
    """Serves `root` on 127.0.0.1 (a free port) in a background thread; a context manager."""

    def __init__(self, root: str | Path, overrides: dict[str, Override] | None = None, host: str = "127.0.0.1"):
        self.root = Path(root)
        self.overrides: dict[str, Override] = dict(overrides or {})
        self._host = host
        self._lock = threading.Lock()
        self._hits: list[Hit] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None

    def start(self) -> PageServer:
        self._server = _Server((self._host, 0), partial(_Handler, directory=str(self.root)))
        self._server.site = self
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="page-server", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> PageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "PageServer is not running"
        return f"http://{self._host}:{self._server.server_address[1]}"

    def url(self, path: str = "/") -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def _record(self, hit: Hit) -> None:
        with self._lock:
            self._hits.append(hit)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    site: PageServer


class _Handler(SimpleHTTPRequestHandler):
    server: _Server
    # SimpleHTTPRequestHandler guesses by suffix; these make the txt/md fixtures explicit.
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".md": "text/markdown", ".txt": "text/plain"}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if not self._overridden():
            super().do_GET()

    def do_HEAD(self) -> None:
        if not self._overridden(head=True):
            super().do_HEAD()

    def _overridden(self, head: bool = False) -> bool:
        site = self.server.site
        site._record(Hit(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        override = site.overrides.get(self.path) or site.overrides.get(self.path.split("?")[0])
        if override is None:
            return False
        if override.delay and site._stopping.wait(override.delay):
            return True
        body = override.body.encode() if isinstance(override.body, str) else override.body
        try:
            self.send_response(override.status)
            headers = {"Content-Type": "text/html; charset=utf-8", **override.headers}
            for key, value in headers.items():
                self.send_header(key, value)
            if not any(k.lower() == "content-length" for k in headers):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return True
