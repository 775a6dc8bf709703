"""Fetch/read stage: get the raw bytes of one source, from the web (`fetch_url`) or from disk (`read_file`).

Nothing is parsed here; the result is a `Page` for the clean stage. Every refusal says why: the scheme,
the address policy (checked again on every redirect hop), size caps, content type, HTTP status, timeouts.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import heapq
import ipaddress
import itertools
import logging
import os
import socket
import ssl
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import certifi
import httpx

from pipeline.errors import FetchError, SourceError
from pipeline.settings import Settings
from pipeline.sources import is_url
from schemas.documents import Page

LOG = logging.getLogger(__name__)
USER_AGENT = "career-kb/0.1"
ACCEPT = "text/html,application/xhtml+xml,text/markdown;q=0.9,text/plain;q=0.9,*/*;q=0.1"
ALLOWED_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Accepted media types and the content_type a Page gets for each.
WEB_TYPES = {
    "text/html": "text/html",
    "application/xhtml+xml": "text/html",
    "text/plain": "text/plain",
    "text/markdown": "text/markdown",
    "text/x-markdown": "text/markdown",
}
FILE_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host -> every address it resolves to (raises socket.gaierror when it cannot).
Resolver = Callable[[str], list[IPAddress]]
# address -> why it must not be fetched ("loopback", "private", ...), or None when it may be.
AddressPolicy = Callable[[IPAddress], str | None]


def load(source: str, settings: Settings) -> Page:
    """The Page for one source: fetched when it is a URL, read from disk otherwise."""
    return fetch_url(source, settings) if is_url(source) else read_file(source, settings)


# --- files -----------------------------------------------------------------------------------------------


def read_file(path: str, settings: Settings) -> Page:
    """Read a local .html/.htm/.md/.markdown/.txt file, refusing it before reading when it is too large."""
    content_type = _file_type(path)
    size = _regular_file_size(path)
    if size > settings.file_max_bytes:
        raise SourceError(f"too large: {size} bytes > file_max_bytes {settings.file_max_bytes}", source=path)
    body = _read_capped(path, settings.file_max_bytes)
    return Page(source=path, url=None, body=body, content_type=content_type)


def _file_type(path: str) -> str:
    """Content type from the file extension; anything but HTML, Markdown or text is refused."""
    suffix = Path(path).suffix.lower()
    if suffix not in FILE_TYPES:
        known = ", ".join(sorted(FILE_TYPES))
        raise SourceError(f"unsupported file type {suffix or '(no extension)'!r}: expected one of {known}", source=path)
    return FILE_TYPES[suffix]


def _regular_file_size(path: str) -> int:
    """Size of `path`, which must exist and be a regular file (a FIFO or device could block or never end)."""
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise SourceError("no such file", source=path) from exc
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}", source=path) from exc
    if not stat.S_ISREG(info.st_mode):
        raise SourceError("not a regular file", source=path)
    return info.st_size


def _read_capped(path: str, max_bytes: int) -> bytes:
    """At most `max_bytes` of the file; a file that grew past the cap since stat() is still refused."""
    try:
        with open(path, "rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}", source=path) from exc
    if len(body) > max_bytes:
        raise SourceError(f"too large: more than file_max_bytes {max_bytes}", source=path)
    return body


# --- web -------------------------------------------------------------------------------------------------


@dataclass
class _Fetch:
    """One fetch in progress: the URL as given, the overall deadline and the address policy for every hop."""

    source: str
    settings: Settings
    resolve: Resolver
    refusal: AddressPolicy
    deadline: float

    def remaining(self) -> float:
        """Seconds left before the overall deadline; raises once it has passed."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.timed_out()
        return left

    def timed_out(self) -> FetchError:
        """The error for a fetch that ran past its deadline (a slow or dripping server)."""
        return FetchError(
            f"timed out: no complete response within {self.settings.fetch_timeout}s", source=self.source, retryable=True
        )


class _Alarms:
    """Calls each callback at its monotonic deadline, from one daemon thread per process (started on first use);
    a fetch's deadline is one heap entry here rather than a Timer thread of its own (~0.15 ms to start).

    Cancelled entries stay in the heap until they reach its top: at most one per fetch started within the last
    fetch_timeout seconds."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._heap: list[list] = []  # [deadline, sequence number, callback or None once cancelled]
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def set(self, deadline: float, callback: Callable[[], None]) -> list:
        """Call `callback` at `deadline` (time.monotonic()) unless the returned alarm is cancelled first."""
        alarm = [deadline, next(self._order), callback]
        with self._wake:
            heapq.heappush(self._heap, alarm)
            if self._thread is None:
                self._thread = threading.Thread(target=self._ring, name="kb-fetch-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0] is alarm:
                self._wake.notify()
        return alarm

    def cancel(self, alarm: list) -> None:
        with self._wake:
            alarm[2] = None

    def _ring(self) -> None:
        with self._wake:
            while True:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                left = self._heap[0][0] - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                callback = heapq.heappop(self._heap)[2]
                self._wake.release()  # a callback may take its time (socket shutdowns); others may set alarms
                try:
                    callback()
                except Exception:  # the thread must outlive one bad callback, or no later deadline would fire
                    LOG.exception("a fetch deadline's callback failed")
                finally:
                    self._wake.acquire()


_ALARMS = _Alarms()


def _new_alarms_in_child() -> None:
    # A forked child has no alarm thread, and the condition's lock may have been held by a parent thread.
    global _ALARMS
    _ALARMS = _Alarms()


os.register_at_fork(after_in_child=_new_alarms_in_child)


class _ConnectionGuard:
    """Watches each connection a fetch opens, through httpx's "trace" request extension.

    It vets the address actually connected to (closing the gap between the DNS check and the connect
    that DNS rebinding exploits) and shuts every socket down at the deadline, which cuts off even a
    server that drips its headers, where per-read timeouts never fire.
    """

    def __init__(self, job: _Fetch):
        self.job = job
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._alarm: list | None = None

    def __enter__(self) -> _ConnectionGuard:
        self._alarm = _ALARMS.set(self.job.deadline, self._expire)
        return self

    def __exit__(self, *exc_info) -> None:
        _ALARMS.cancel(self._alarm)

    def __call__(self, event: str, info: dict) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info["return_value"]
        sock = stream.get_extra_info("socket")
        if event == "connection.connect_tcp.complete" and not self.job.settings.allow_private_urls:
            self._vet_peer(stream, sock)
        with self._lock:
            self._sockets.append(sock)

    def _vet_peer(self, stream, sock: socket.socket) -> None:
        """Refuse (and close) a connection whose peer address the policy refuses."""
        peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%")[0])
        category = self.job.refusal(peer)
        if category:
            stream.close()
            raise SourceError(
                f"refused: connected to {category} address {peer} (set KB_ALLOW_PRIVATE_URLS=1 to allow)",
                source=self.job.source,
            )

    def _expire(self) -> None:
        self.expired = True
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # already closed, or detached by TLS wrapping
                    sock.shutdown(socket.SHUT_RDWR)


def fetch_url(
    url: str, settings: Settings, *, resolve: Resolver | None = None, refusal: AddressPolicy | None = None
) -> Page:
    """GET `url` and return its body as a Page, following redirects by hand so every hop is vetted.

    `resolve` (host -> addresses, default the system resolver) and `refusal` (address -> why it is refused,
    or None; default `address_category`) make up the private-address policy, skipped entirely when
    settings.allow_private_urls is set; both are seams for tests and deployments.
    """
    with httpx.Client(
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
        verify=tls_context(),
        follow_redirects=False,
        trust_env=False,
    ) as client:
        job = _Fetch(
            url,
            settings,
            resolve or resolve_host,
            refusal or address_category,
            time.monotonic() + settings.fetch_timeout,
        )
        with _ConnectionGuard(job) as guard:
            try:
                return _fetch_following(client, job, guard)
            except httpx.DecodingError as exc:
                raise FetchError(f"cannot decode body: {exc}", source=url) from exc
            except httpx.TransportError as exc:
                raise _transport_error(exc, job, guard) from exc


_TLS_CONTEXTS = threading.Lock()


def tls_context(cafile: str | None = None, capath: str | None = None) -> ssl.SSLContext:
    """A certificate-verifying TLS context, built once per CA setting: loading the CA bundle costs 20–100 ms,
    which httpx pays for every client it makes unless given a context. Page fetches use certifi's bundle; model
    clients pass SSL_CERT_FILE / SSL_CERT_DIR when set, as httpx itself would (pipeline.llm).

    A shared, never-mutated context (not a client) keeps fetch_url free of module-global connection state. Built
    under a lock: a worker's threads all fetch their first page at once, and each built its own (measured: the
    first pages of a run came 100–200 ms late).
    """
    with _TLS_CONTEXTS:
        return _tls_context(cafile, capath)


@functools.cache
def _tls_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile:
        return ssl.create_default_context(cafile=cafile)
    if capath:
        return ssl.create_default_context(capath=capath)
    return ssl.create_default_context(cafile=certifi.where())


def _transport_error(exc: httpx.TransportError, job: _Fetch, guard: _ConnectionGuard) -> FetchError:
    """A network failure as a retryable FetchError; the guard's shutdown at the deadline reads as a timeout."""
    if guard.expired:
        return job.timed_out()
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"timed out: {type(exc).__name__}", source=job.source, retryable=True)
    return FetchError(f"connection error: {type(exc).__name__}: {exc}", source=job.source, retryable=True)


def _fetch_following(client: httpx.Client, job: _Fetch, guard: _ConnectionGuard) -> Page:
    """Request hop after hop until a non-redirect response, refusing loops and too many hops."""
    visited: list[str] = []
    target = _checked_url(job.source, job)
    while True:
        visited.append(str(target))
        response = client.send(_request(client, target, job, guard), stream=True)
        try:
            if response.status_code not in REDIRECT_STATUSES:
                return _page_from(response, job)
            target = _next_hop(response, visited, job)
        finally:
            response.close()


def _request(client: httpx.Client, url: httpx.URL, job: _Fetch, guard: _ConnectionGuard) -> httpx.Request:
    """A GET watched by the guard, whose connect/read/write timeouts never outlast the overall deadline."""
    step = min(job.settings.fetch_timeout, job.remaining())
    return client.build_request("GET", url, timeout=httpx.Timeout(step), extensions={"trace": guard})


def _next_hop(response: httpx.Response, visited: list[str], job: _Fetch) -> httpx.URL:
    """The vetted URL a redirect points to; a loop or one hop too many is an error."""
    location = response.headers.get("Location")
    if not location:
        raise FetchError(
            f"redirect {response.status_code} without a Location header", source=job.source, status=response.status_code
        )
    target = _checked_url(location, job, base=response.url)
    if str(target) in visited:
        chain = " -> ".join([*visited, str(target)])
        raise FetchError(f"redirect loop: {chain}", source=job.source, status=response.status_code)
    if len(visited) > job.settings.fetch_max_redirects:
        raise FetchError(
            f"too many redirects: more than {job.settings.fetch_max_redirects}",
            source=job.source,
            status=response.status_code,
        )
    return target


def _checked_url(url: str, job: _Fetch, base: httpx.URL | None = None) -> httpx.URL:
    """Parse `url` (relative to `base`, for a redirect) and apply the scheme and address policies to it."""
    try:
        parsed = base.join(url) if base is not None else httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise SourceError(f"invalid URL: {exc}", source=job.source) from exc
    scheme = parsed.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise SourceError(f"scheme {scheme or '(none)'!r} refused: only http and https are fetched", source=job.source)
    if not parsed.host:
        raise SourceError(f"URL without a host: {url}", source=job.source)
    if not job.settings.allow_private_urls:
        _refuse_private(parsed, job)
    return parsed


def _refuse_private(url: httpx.URL, job: _Fetch) -> None:
    """Refuse a URL whose host resolves to any non-public address (set KB_ALLOW_PRIVATE_URLS=1 to allow)."""
    try:
        addresses = job.resolve(url.host)
    except socket.gaierror as exc:
        # EAI_AGAIN is a temporary resolver failure; "no such name" will not fix itself.
        raise FetchError(
            f"cannot resolve host {url.host!r}: {exc.strerror or exc}",
            source=job.source,
            retryable=exc.errno == socket.EAI_AGAIN,
        ) from exc
    for address in addresses:
        category = job.refusal(address)
        if category:
            raise SourceError(
                f"refused {url}: {url.host} resolves to {category} address {address}"
                " (set KB_ALLOW_PRIVATE_URLS=1 to allow)",
                source=job.source,
            )


def resolve_host(host: str) -> list[IPAddress]:
    """Every address the system resolver gives for `host` (an IP literal resolves to itself).

    Raises socket.gaierror when the name does not resolve.
    """
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    # Strip an IPv6 zone ("fe80::1%eth0"), which ipaddress does not parse on every Python version.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def address_category(address: IPAddress) -> str | None:
    """Why `address` must not be fetched by default ("loopback", "private", ...), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    )
    for name, hit in checks:
        if hit:
            return name
    return None if address.is_global else "non-public"


def _page_from(response: httpx.Response, job: _Fetch) -> Page:
    """The Page for a final (non-redirect) response, after status, type and size checks."""
    _check_status(response, job)
    media_type, charset = _media_type(response, job)
    body = _read_body(response, job)
    return Page(source=job.source, url=str(response.url), body=body, content_type=media_type, charset=charset)


def _check_status(response: httpx.Response, job: _Fetch) -> None:
    """HTTP errors become FetchError with the status; 429 and 5xx are worth retrying later."""
    status = response.status_code
    if status < 300:
        return
    if status < 400:
        raise FetchError(f"unexpected HTTP status {status}", source=job.source, status=status)
    retryable = status == 429 or status >= 500
    error = FetchError(
        f"HTTP {status} {response.reason_phrase}".rstrip(), source=job.source, status=status, retryable=retryable
    )
    # Callers schedule the retry from this; 503 often carries Retry-After too.
    error.retry_after = parse_retry_after(response.headers.get("Retry-After")) if retryable else None
    raise error


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, given as seconds or as an HTTP date; None if absent/bad."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _media_type(response: httpx.Response, job: _Fetch) -> tuple[str, str | None]:
    """The Page content_type and declared charset; a type that is not HTML or text is refused."""
    header = response.headers.get("Content-Type", "")
    media, _, params = header.partition(";")
    media = media.strip().lower()
    if not media:
        # No declared type: trust the URL's extension, else assume HTML; clean() still refuses binary.
        media = FILE_TYPES.get(Path(response.url.path).suffix.lower(), "text/html")
    if media not in WEB_TYPES:
        raise FetchError(f"not HTML/text: {media}", source=job.source, status=response.status_code)
    return WEB_TYPES[media], _charset_param(params)


def _charset_param(params: str) -> str | None:
    """The `charset=` value of Content-Type parameters, unquoted and lower-cased."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip("\"'"):
            return value.strip().strip("\"'").lower()
    return None


def _read_body(response: httpx.Response, job: _Fetch) -> bytes:
    """Stream the body, stopping at fetch_max_bytes or at the overall deadline (a slow-drip server)."""
    cap = job.settings.fetch_max_bytes
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise FetchError(
            f"too large: Content-Length {declared} > fetch_max_bytes {cap}",
            source=job.source,
            status=response.status_code,
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise FetchError(
                f"too large: body exceeds fetch_max_bytes {cap}", source=job.source, status=response.status_code
            )
        chunks.append(chunk)
        job.remaining()
    job.remaining()  # a body ended by the guard's shutdown at the deadline is cut short, not complete
    return b"".join(chunks)
