"""Fetch/read stage against a loopback HTTP server and temporary files; nothing leaves 127.0.0.1."""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.errors import FetchError, SourceError
from pipeline.fetch import (
    USER_AGENT,
    _Alarms,
    address_category,
    fetch_url,
    load,
    parse_retry_after,
    read_file,
    resolve_host,
    tls_context,
)
from pipeline.settings import Settings

HTML = "<html><head><title>Ok</title></head><body><p>Salaries for ML engineers — café.</p></body></html>"
CAP = 10_000
FAST = Settings(allow_private_urls=True, fetch_timeout=2.0, fetch_max_bytes=CAP, fetch_max_redirects=3)
STRICT = replace(FAST, allow_private_urls=False)

# path -> (status, headers, body); the special routes live in Handler.SPECIAL.
ROUTES: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/ok": (200, {"Content-Type": "text/html; charset=UTF-8"}, HTML.encode()),
    "/xhtml": (200, {"Content-Type": "application/xhtml+xml"}, HTML.encode()),
    "/plain": (200, {"Content-Type": "text/plain"}, b"plain words"),
    "/markdown": (200, {"Content-Type": "text/markdown; charset=utf-8"}, b"# Title"),
    "/latin": (200, {"Content-Type": 'text/html; charset="ISO-8859-1"'}, "café €".encode("cp1252")),
    "/404": (404, {"Content-Type": "text/html"}, b"<p>gone</p>"),
    "/410": (410, {"Content-Type": "text/html"}, b"gone"),
    "/500": (500, {"Content-Type": "text/html"}, b"oops"),
    "/503": (503, {"Retry-After": "30"}, b"busy"),
    "/429": (429, {"Retry-After": "7", "Content-Type": "text/plain"}, b"slow down"),
    "/pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7"),
    "/json": (200, {"Content-Type": "application/json"}, b"{}"),
    "/png": (200, {"Content-Type": "image/png"}, b"\x89PNG"),
    "/huge-length": (200, {"Content-Type": "text/html", "Content-Length": str(10**9)}, b"<p>x</p>"),
    "/redirect-ok": (301, {"Location": "/ok"}, b""),
    "/loop-a": (302, {"Location": "/loop-b"}, b""),
    "/loop-b": (302, {"Location": "/loop-a"}, b""),
    "/self": (307, {"Location": "/self"}, b""),
    "/no-location": (302, {}, b""),
    "/redirect-private": (302, {"Location": "http://10.1.2.3/admin"}, b""),
    "/redirect-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
    "/redirect-loopback": (302, {"Location": "http://127.0.0.2:9/"}, b""),
    "/redirect-file": (302, {"Location": "file:///etc/passwd"}, b""),
}
for hop in range(1, 6):  # /chain/N redirects N times before reaching /ok
    ROUTES[f"/chain/{hop}"] = (302, {"Location": f"/chain/{hop - 1}" if hop > 1 else "/ok"}, b"")


class Handler(BaseHTTPRequestHandler):
    """Serves ROUTES, plus routes that misbehave over time (stall, drip, endless body, echo)."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        special = getattr(self, "SPECIAL", {}).get(self.path)
        try:
            if special:
                special(self)
            else:
                self._send(*ROUTES.get(self.path, (404, {}, b"no route")))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose: that is what these tests check

    def _send(self, status, headers, body):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _head(self, content_type="text/html"):
        """Status line and headers with no Content-Length: the body runs until the connection closes."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        self.wfile.flush()

    def drip(self):
        self._head()
        for _ in range(60):  # one byte every 50 ms for up to 3 s, each read well inside the read timeout
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.05)

    def stall_body(self):
        self._head()
        time.sleep(1.5)

    def stall_headers(self):
        time.sleep(1.5)

    def drip_headers(self):
        # Each byte arrives well inside the read timeout; only the overall deadline can stop this.
        self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Drip: ")
        for _ in range(60):
            self.wfile.write(b"z")
            self.wfile.flush()
            time.sleep(0.05)

    def endless(self):
        self._head()
        for _ in range(100):
            self.wfile.write(b"<p>" + b"y" * 1000 + b"</p>")

    def echo_agent(self):
        self._send(200, {"Content-Type": "text/plain"}, self.headers.get("User-Agent", "").encode())

    SPECIAL = {
        "/drip": drip,
        "/drip-headers": drip_headers,
        "/stall-body": stall_body,
        "/stall-headers": stall_headers,
        "/endless": endless,
        "/ua": echo_agent,
    }

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Base URL of a loopback HTTP server running in a daemon thread for this module."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def allow_only_test_server(address):
    """An address policy under which only the test server's own address (127.0.0.1) counts as public."""
    return None if address == ipaddress.ip_address("127.0.0.1") else address_category(address)


def lying_resolver(host: str):
    """DNS that answers "public" for 127.0.0.1, as a rebinding attacker's name server would."""
    return [ipaddress.ip_address("93.184.216.34")] if host == "127.0.0.1" else resolve_host(host)


# --- successful fetches ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "charset", "body"),
    [
        ("/ok", "text/html", "utf-8", HTML.encode()),
        ("/xhtml", "text/html", None, HTML.encode()),
        ("/plain", "text/plain", None, b"plain words"),
        ("/markdown", "text/markdown", "utf-8", b"# Title"),
        ("/latin", "text/html", "iso-8859-1", "café €".encode("cp1252")),
    ],
)
def test_fetch_returns_page_with_type_charset_and_exact_bytes(server, path, content_type, charset, body):
    page = fetch_url(server + path, FAST)
    assert (page.content_type, page.charset, page.body) == (content_type, charset, body)
    assert page.source == page.url == server + path


def test_redirect_is_followed_and_page_url_is_the_final_url(server):
    page = fetch_url(server + "/redirect-ok", FAST)
    assert page.source == server + "/redirect-ok"
    assert page.url == server + "/ok"
    assert page.body == HTML.encode()


def test_user_agent_names_the_project(server):
    assert fetch_url(server + "/ua", FAST).body.decode() == USER_AGENT == "career-kb/0.1"


def test_redirects_up_to_the_limit_are_followed(server):
    assert fetch_url(server + "/chain/3", FAST).url == server + "/ok"


# --- HTTP errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "retryable", "retry_after"),
    [
        ("/404", 404, False, None),
        ("/410", 410, False, None),
        ("/500", 500, True, None),
        ("/503", 503, True, 30.0),
        ("/429", 429, True, 7.0),
    ],
)
def test_http_error_status_is_a_fetch_error(server, path, status, retryable, retry_after):
    with pytest.raises(FetchError) as caught:
        fetch_url(server + path, FAST)
    error = caught.value
    assert (error.status, error.retryable, error.retry_after) == (status, retryable, retry_after)
    assert error.source == server + path
    assert str(status) in error.reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("Sun, 29 Nov 2026 04:01:00 GMT", 60.0),
        ("Sun, 29 Nov 2026 03:00:00 GMT", 0.0),
    ],
)
def test_parse_retry_after_accepts_seconds_and_http_dates(value, expected):
    now = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


# --- refusals: redirects, types, sizes, time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/loop-a", "redirect loop"),
        ("/self", "redirect loop"),
        ("/chain/5", "too many redirects"),
        ("/no-location", "without a Location"),
    ],
)
def test_bad_redirects_are_refused_with_a_reason(server, path, fragment):
    with pytest.raises(FetchError) as caught:
        fetch_url(server + path, FAST)
    assert fragment in caught.value.reason
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("path", "media"), [("/pdf", "application/pdf"), ("/json", "application/json"), ("/png", "image/png")]
)
def test_content_that_is_not_html_or_text_is_refused(server, path, media):
    with pytest.raises(FetchError) as caught:
        fetch_url(server + path, FAST)
    assert caught.value.reason == f"not HTML/text: {media}"


@pytest.mark.parametrize(
    ("path", "fragment"), [("/huge-length", "Content-Length 1000000000"), ("/endless", "body exceeds")]
)
def test_bodies_above_the_cap_are_refused(server, path, fragment):
    with pytest.raises(FetchError) as caught:
        fetch_url(server + path, FAST)
    assert caught.value.reason.startswith("too large")
    assert fragment in caught.value.reason


@pytest.mark.parametrize(
    ("path", "deadline_only"),
    [("/drip", True), ("/drip-headers", True), ("/stall-body", False), ("/stall-headers", False)],
)
def test_slow_servers_are_cut_off_at_the_deadline(server, path, deadline_only):
    settings = replace(FAST, fetch_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch_url(server + path, settings)
    assert time.monotonic() - started < 1.2  # the server would keep going for 1.5-3 s
    assert caught.value.retryable is True
    if deadline_only:  # every byte beats the read timeout: only the overall deadline can stop a drip
        assert caught.value.reason == "timed out: no complete response within 0.3s"
    else:
        assert caught.value.reason.startswith("timed out")


def test_connection_refused_is_retryable():
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        fetch_url(f"http://127.0.0.1:{port}/", FAST)
    assert caught.value.retryable is True
    assert "connection error" in caught.value.reason


# --- refusals: schemes and addresses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("file:///etc/passwd", "file"),
        ("ftp://example.com/a.html", "ftp"),
        ("gopher://example.com/", "gopher"),
        ("data:text/html,<p>hi</p>", "data"),
        ("javascript:alert(1)", "javascript"),
    ],
)
def test_non_web_schemes_are_refused_by_name(url, scheme):
    with pytest.raises(SourceError) as caught:
        fetch_url(url, Settings(allow_private_urls=True))
    assert f"scheme '{scheme}' refused" in caught.value.reason
    assert caught.value.source == url


def test_load_routes_a_file_url_to_fetch_and_refuses_its_scheme():
    with pytest.raises(SourceError) as caught:
        load("file:///etc/passwd", FAST)
    assert "'file'" in caught.value.reason


@pytest.mark.parametrize(
    ("host", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("[::1]", "loopback"),
        ("10.0.0.8", "private"),
        ("192.168.1.20", "private"),
        ("172.16.5.4", "private"),
        ("[fc00::1]", "private"),
        ("169.254.169.254", "link-local"),
        ("[fe80::1]", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("[::]", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("[ff02::1]", "multicast"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
    ],
)
def test_private_addresses_are_refused_unless_allowed(host, category):
    # IP literals resolve to themselves, so no lookup or connection leaves the machine.
    with pytest.raises(SourceError) as caught:
        fetch_url(f"http://{host}:9/", STRICT)
    assert f"{category} address" in caught.value.reason
    assert "KB_ALLOW_PRIVATE_URLS" in caught.value.reason


def test_a_dns_name_resolving_to_loopback_is_refused(server):
    port = server.rsplit(":", 1)[1]
    with pytest.raises(SourceError) as caught:
        fetch_url(f"http://localhost:{port}/ok", STRICT)
    assert "localhost resolves to loopback address" in caught.value.reason


def test_the_loopback_server_itself_is_refused_when_private_urls_are_not_allowed(server):
    with pytest.raises(SourceError):
        fetch_url(server + "/ok", STRICT)


def test_a_first_hop_the_policy_allows_is_fetched_under_the_strict_policy(server):
    assert fetch_url(server + "/ok", STRICT, refusal=allow_only_test_server).body == HTML.encode()


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/redirect-private", "private address 10.1.2.3"),
        ("/redirect-metadata", "link-local address 169.254.169.254"),
        ("/redirect-loopback", "loopback address 127.0.0.2"),
    ],
)
def test_every_redirect_hop_is_checked_against_the_address_policy(server, path, fragment):
    with pytest.raises(SourceError) as caught:
        fetch_url(server + path, STRICT, refusal=allow_only_test_server)
    assert fragment in caught.value.reason
    assert caught.value.source == server + path


def test_the_address_actually_connected_to_is_checked_against_dns_rebinding(server):
    # The DNS check passes (the resolver lies), but the socket's peer is loopback: refused before any request.
    with pytest.raises(SourceError) as caught:
        fetch_url(server + "/ok", STRICT, resolve=lying_resolver)
    assert "connected to loopback address 127.0.0.1" in caught.value.reason


def test_redirect_to_a_non_web_scheme_is_refused(server):
    with pytest.raises(SourceError) as caught:
        fetch_url(server + "/redirect-file", FAST)
    assert "scheme 'file' refused" in caught.value.reason


@pytest.mark.parametrize(("errno", "retryable"), [(socket.EAI_NONAME, False), (socket.EAI_AGAIN, True)])
def test_unresolvable_host_is_a_fetch_error(errno, retryable):
    def failing(host):
        raise socket.gaierror(errno, "resolver says no")

    with pytest.raises(FetchError) as caught:
        fetch_url("https://no-such-host.invalid/", STRICT, resolve=failing)
    assert "cannot resolve host 'no-such-host.invalid'" in caught.value.reason
    assert caught.value.retryable is retryable


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_have_no_refusal_category(address):
    assert address_category(ipaddress.ip_address(address)) is None


# --- local files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.html", "text/html"),
        ("a.htm", "text/html"),
        ("A.HTML", "text/html"),
        ("a.md", "text/markdown"),
        ("a.markdown", "text/markdown"),
        ("a.txt", "text/plain"),
    ],
)
def test_read_file_types_come_from_the_extension(tmp_path, name, content_type):
    path = tmp_path / name
    path.write_bytes(b"caf\xe9 \x80")
    page = read_file(str(path), FAST)
    assert (page.source, page.url, page.content_type, page.body) == (str(path), None, content_type, b"caf\xe9 \x80")


@pytest.mark.parametrize("name", ["a.pdf", "a.json", "README", "a.html.gz"])
def test_read_file_refuses_other_extensions(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"x")
    with pytest.raises(SourceError) as caught:
        read_file(str(path), FAST)
    assert "unsupported file type" in caught.value.reason


def test_read_file_missing_is_a_source_error(tmp_path):
    missing = str(tmp_path / "gone.html")
    with pytest.raises(SourceError) as caught:
        load(missing, FAST)
    assert (caught.value.reason, caught.value.source) == ("no such file", missing)


def test_read_file_refuses_a_folder(tmp_path):
    folder = tmp_path / "dir.html"
    folder.mkdir()
    with pytest.raises(SourceError) as caught:
        read_file(str(folder), FAST)
    assert caught.value.reason == "not a regular file"


def test_read_file_refuses_oversize_files_from_their_size(tmp_path):
    big = tmp_path / "big.html"
    with open(big, "wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse 2 GB file: reading it would be slow, stat() is not
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        read_file(str(big), Settings())
    assert time.monotonic() - started < 1
    assert caught.value.reason.startswith("too large: 2147483648 bytes")


@pytest.mark.parametrize(("size", "ok"), [(CAP, True), (CAP + 1, False)])
def test_read_file_cap_is_inclusive(tmp_path, size, ok):
    path = tmp_path / "edge.txt"
    path.write_bytes(b"a" * size)
    settings = replace(FAST, file_max_bytes=CAP)
    if ok:
        assert len(read_file(str(path), settings).body) == CAP
    else:
        with pytest.raises(SourceError):
            read_file(str(path), settings)


def test_load_dispatches_urls_to_fetch_and_paths_to_read(server, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("local", encoding="utf-8")
    assert load(str(path), FAST).body == b"local"
    assert load(server + "/plain", FAST).body == b"plain words"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_read_file_refuses_a_fifo_instead_of_blocking(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(SourceError) as caught:
        read_file(str(fifo), FAST)
    assert caught.value.reason == "not a regular file"


def test_deadline_alarms_ring_in_order_once_and_not_when_cancelled():
    alarms = _Alarms()  # a process's deadlines share one thread of this kind
    rang: list[str] = []
    done = threading.Event()
    now = time.monotonic()

    def ring(name):
        def callback():
            rang.append(name)
            if name == "last":
                done.set()
            if name == "broken":
                raise RuntimeError("a callback that fails must not stop the later ones")

        return callback

    alarms.set(now + 0.20, ring("last"))
    alarms.set(now + 0.05, ring("broken"))
    cancelled = alarms.set(now + 0.02, ring("cancelled"))
    alarms.set(now + 0.10, ring("second"))
    alarms.cancel(cancelled)
    assert done.wait(5)
    assert rang == ["broken", "second", "last"]
    assert time.monotonic() - now >= 0.20
    threads = [t for t in threading.enumerate() if t.name == "kb-fetch-deadlines"]
    assert len(threads) >= 1 and all(t.daemon for t in threads)


def test_threads_asking_at_once_for_a_tls_context_share_the_one_built(monkeypatch):
    import ssl

    import pipeline.fetch as fetch_module

    built = []

    def slow_context(**kwargs):  # loading a CA bundle takes ~20 ms: room for every thread to ask meanwhile
        built.append(kwargs)
        time.sleep(0.05)
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    fetch_module._tls_context.cache_clear()
    monkeypatch.setattr(fetch_module.ssl, "create_default_context", slow_context)
    got: list = []
    threads = [threading.Thread(target=lambda: got.append(tls_context())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    fetch_module._tls_context.cache_clear()  # the next caller builds a real one again
    assert len(built) == 1 and len(got) == 8 and all(context is got[0] for context in got)
