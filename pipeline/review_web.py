"""The review page behind `kb review serve`: a local web page where a person accepts, rejects or corrects records.

One person on one machine, so the standard library's ThreadingHTTPServer is enough: no framework, no new
dependency. It listens on 127.0.0.1 only and answers only requests addressed to it by that name (a page elsewhere
cannot reach it through DNS rebinding). Reading is GET; every write is a POST that must carry the session's token
(an HMAC of the session cookie under a key made when the server starts, so nothing is stored) and, when the
browser sends one, this server's Origin. The page is a Jinja2 template with autoescaping, so every value from
the database is shown as text. Reviews themselves are `pipeline.review`'s: this module only turns forms into
its calls.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from babel.numbers import list_currencies
from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import BaseModel
from sqlalchemy import Engine

from db.kinds import kind
from pipeline import review
from pipeline.errors import KBError
from schemas.records import Salary

LOOPBACK = "127.0.0.1"
COOKIE = "kb_review_session"
QUEUE_LIMIT = 500  # records listed on the page; the rest wait for the next page load
_ENV = Environment(
    loader=PackageLoader("pipeline", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
log = logging.getLogger(__name__)


class RefusedRequest(KBError):
    """A request the page will not serve: wrong Host or Origin, a missing or wrong token."""

    stage = "review"


@dataclass
class ReviewPage:
    """What the server needs to answer: the database, who reviews, and the key session tokens are made with."""

    engine: Engine
    reviewer: str
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def token(self, session: str) -> str:
        """The token a session's forms carry: an HMAC of its cookie, so another site can neither read nor make it."""
        return hmac.new(self.key, session.encode(), hashlib.sha256).hexdigest()

    def check_token(self, session: str | None, token: str | None) -> None:
        if not session or not token or not hmac.compare_digest(self.token(session), token):
            raise RefusedRequest("missing or wrong session token: reload the review page and try again")


class ReviewServer(ThreadingHTTPServer):
    """The HTTP server of one review page, bound to 127.0.0.1."""

    daemon_threads = True

    def __init__(self, page: ReviewPage, port: int = 0, host: str = LOOPBACK):
        if host != LOOPBACK:
            raise RefusedRequest(f"the review page listens on {LOOPBACK} only, not on {host!r}")
        super().__init__((host, port), ReviewHandler)
        self.page = page

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    def own_hosts(self) -> set[str]:
        """The Host headers a request to this server carries (browsers send the port)."""
        return {f"{LOOPBACK}:{self.port}", f"localhost:{self.port}"}


def make_server(engine: Engine, reviewer: str, port: int = 0, host: str = LOOPBACK) -> ReviewServer:
    """A review server for `engine` on 127.0.0.1:`port` (0: any free port); refuses any other interface."""
    return ReviewServer(ReviewPage(engine, reviewer), port, host)


class ReviewHandler(BaseHTTPRequestHandler):
    """GET / shows the queue and one record; POST /review writes one review and sends the browser on."""

    server: ReviewServer
    server_version = "kb-review"

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urlsplit(self.path)
        if url.path == "/review.js":
            return self._reply(HTTPStatus.OK, _ENV.get_template("review.js").render(), "text/javascript")
        if url.path != "/":
            return self._reply(HTTPStatus.NOT_FOUND, "no such page: the review page is /")
        try:
            self._check_host()
        except RefusedRequest as exc:
            return self._reply(HTTPStatus.FORBIDDEN, exc.reason)
        session, new = self._session()
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        try:
            body = render(self.server.page, self.server.page.token(session), query)
        except KBError as exc:
            return self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot show the review queue: {exc}")
        self._reply(HTTPStatus.OK, body, "text/html", cookie=session if new else None)

    def do_POST(self) -> None:  # noqa: N802
        if urlsplit(self.path).path != "/review":
            return self._reply(HTTPStatus.NOT_FOUND, "no such form: reviews are posted to /review")
        form = self._form()
        try:
            self._check_host()
            self._check_origin()
            self.server.page.check_token(self._cookie(), form.get("token"))
        except RefusedRequest as exc:
            return self._reply(HTTPStatus.FORBIDDEN, exc.reason)
        try:
            done = write(self.server.page, form)
        except KBError as exc:
            query = {"item": form.get("item", ""), "error": exc.reason}
            return self._reply(HTTPStatus.BAD_REQUEST, render(self.server.page, form["token"], query), "text/html")
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", "/?" + urlencode(done))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _check_host(self) -> None:
        if self.headers.get("Host") not in self.server.own_hosts():
            raise RefusedRequest(f"Host {self.headers.get('Host')!r} is not this review page")

    def _check_origin(self) -> None:
        origin = self.headers.get("Origin")
        if origin is not None and origin.removeprefix("http://") not in self.server.own_hosts():
            raise RefusedRequest(f"a page at {origin!r} may not write reviews")

    def _cookie(self) -> str | None:
        try:
            morsel = SimpleCookie(self.headers.get("Cookie", "")).get(COOKIE)
        except CookieError:
            return None
        return morsel.value if morsel else None

    def _session(self) -> tuple[str, bool]:
        """This browser's session id, and whether it is new (then the reply sets its cookie)."""
        session = self._cookie()
        return (session, False) if session else (secrets.token_urlsafe(24), True)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        return {name: values[-1] for name, values in parse_qs(body, keep_blank_values=True).items()}

    def _reply(self, status: HTTPStatus, body: str, kind: str = "text/plain", cookie: str | None = None) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; "
            "style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
        )
        if cookie:
            self.send_header("Set-Cookie", f"{COOKIE}={cookie}; HttpOnly; SameSite=Strict; Path=/")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the standard library's signature)
        log.info("review page: " + format, *args)


# --- the page ---------------------------------------------------------------------------------------------------

# A money amount marked as a salary gets these fields (the salary's own, from its model).
SALARY_FIELDS = ("amount_min", "amount_max", "currency", "period", "level")
CURRENCY_FIELDS = {"currency", "cost_currency"}  # typed in as ISO 4217 codes: offered as a list
MONEY_KIND = "amount"  # a v_money amount the extraction called not pay or unaccounted: it can be marked as a salary
_SUMMARY = {
    "salary": SALARY_FIELDS,
    MONEY_KIND: SALARY_FIELDS,
    "skill": ("skill", "category"),
    "certification": ("certification",),
    "claim": ("statement",),
}  # what the queue says of each record
KEYS = (
    ("j / ↓", "next record"),
    ("k / ↑", "previous record"),
    ("a", "accept"),
    ("r", "reject"),
    ("c", "correct: go to the first field (Enter saves, Esc leaves the form)"),
    ("s", "mark an amount as a salary: go to its first field"),
)


@dataclass(frozen=True)
class Field:
    """One input of a form: its name, the value shown, and its choices when it is a closed set."""

    name: str
    value: str
    choices: tuple[str, ...] | None


def render(page: ReviewPage, token: str, query: dict[str, str]) -> str:
    """The page: the queue (needs attention first) and the chosen record in its document, with its forms."""
    items = review.queue(page.engine, limit=QUEUE_LIMIT)
    at = chosen(items, query)
    current = items[at] if items else None
    text = review.document_text(page.engine, current.document_id) if current else ""
    return _ENV.get_template("review.html.j2").render(
        items=items,
        at=at,
        current=current,
        key=key,
        pieces=pieces(text, current) if current else [],
        fields=form_fields(current) if current else [],
        money=current is not None and current.kind == MONEY_KIND,
        token=token,
        keys=KEYS,
        reviewer=page.reviewer,
        summary=summary,
        shown=shown,
        saved=query.get("saved"),
        error=query.get("error"),
    )


def key(item: review.ReviewItem) -> str:
    """How the page names a record: 'salary-12' (its kind and the id column of its view)."""
    return f"{item.kind}-{item.record_id}"


def summary(item: review.ReviewItem) -> str:
    """A record in a few words for the queue: its amounts, or its name or statement."""
    values = {name: item.values.get(name) for name in _SUMMARY.get(item.kind, ())}
    words = [
        f"{value:,.0f}" if isinstance(value, float) else str(value) for value in values.values() if value is not None
    ]
    text = " ".join(dict.fromkeys(words)) or item.quote  # '300 USD', not '300 300 USD'
    return text if len(text) <= 80 else text[:79] + "…"


def chosen(items: list[review.ReviewItem], query: dict[str, str]) -> int:
    """The record to show: the one asked for (`item`), else the one after a record just reviewed (`done` at
    position `at`, which may have left the queue), else the first."""
    names = [key(item) for item in items]
    if query.get("item") in names:
        return names.index(query["item"])
    at = int(query["at"]) if query.get("at", "").isdigit() else 0
    if at < len(names) and names[at] == query.get("done"):
        at += 1
    return min(at, max(len(names) - 1, 0))


def header_span(item: review.ReviewItem) -> tuple[int, int] | None:
    """Where a table cell's column header (and caption) is in the text: v_salaries' header_start/header_end, set
    for a salary read from a table row; None for any other record."""
    start, end = item.values.get("header_start"), item.values.get("header_end")
    return (start, end) if start is not None and end is not None else None


def pieces(text: str, item: review.ReviewItem) -> list[tuple[str, str | None]]:
    """The document text cut into (text, mark) pieces: the quote marked 'quote', its header span 'header'."""
    spans = [(item.char_start, item.char_end, "quote")]
    if (header := header_span(item)) and (header[1] <= item.char_start or header[0] >= item.char_end):
        spans.append((*header, "header"))
    result, at = [], 0
    for start, end, name in sorted(spans):
        result += [(text[at:start], None), (text[start:end], name)]
        at = end
    return [*result, (text[at:], None)]


def form_fields(item: review.ReviewItem) -> list[Field]:
    """The correction form of a record (the salary form for a money amount): the fields its kind lets a person
    correct (`db.kinds`), with their current values and, for an enum or a currency, the choices."""
    model = Salary if item.kind == MONEY_KIND else kind(item.kind).model
    offered = {f: f for f in SALARY_FIELDS} if item.kind == MONEY_KIND else kind(item.kind).correctable
    order = {column: n for n, column in enumerate(SALARY_FIELDS)}
    first = sorted(offered.items(), key=lambda pair: order.get(pair[0], len(order)))  # amounts first, then the rest
    return [
        Field(column, shown(typed(model, name, item.values.get(column))), choices(model, name))
        for column, name in first
    ]


def typed(model: type[BaseModel], name: str, value):
    """A view value as the model's field types it: SQLite hands a boolean back as 0 or 1."""
    return bool(value) if model.model_fields[name].annotation is bool and value in (0, 1) else value


def choices(model: type[BaseModel], name: str) -> tuple[str, ...] | None:
    """The values a field may take, when they are a closed set: an enum's members, ISO currency codes, true/false."""
    annotation = model.model_fields[name].annotation
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return tuple(member.value for member in annotation)
    if name in CURRENCY_FIELDS:
        return tuple(sorted(list_currencies()))  # every ISO 4217 code, as schemas.records accepts
    return ("false", "true") if annotation is bool else None


def shown(value) -> str:
    """A value as a form shows it: '' for none, true/false, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- writes -----------------------------------------------------------------------------------------------------


def write(page: ReviewPage, form: dict[str, str]) -> dict[str, str]:
    """Do what a posted form asks (accept, reject, correct, salary); the query of the page to show next."""
    kind_name, record_id = record_named(form.get("item", ""))
    action = form.get("action")
    if action == "accept":
        done = review.accept(page.engine, kind_name, record_id, page.reviewer)
    elif action == "reject":
        done = review.reject(page.engine, kind_name, record_id, page.reviewer)
    elif action in ("correct", "salary"):
        done = _correct(page, kind_name, record_id, form, action)
    else:
        raise review.ReviewError(f"unknown action {action!r}: accept, reject, correct or salary")
    return {"saved": str(done), "done": form["item"], "at": form.get("at", "0")}


def record_named(name: str) -> tuple[str, int]:
    """The kind and id of a record named as `key` names it: 'salary-12', or 'salary--3' for a salary a person added
    (its id is minus its review's; a kind's name has no '-')."""
    kind_name, _, number = name.partition("-")
    try:
        return kind_name, int(number)
    except ValueError:
        raise review.ReviewError(f"no record named {name!r}: expected KIND-ID such as salary-12") from None


def _correct(page: ReviewPage, kind_name: str, record_id: int, form: dict[str, str], action: str) -> int:
    """A correction of the fields whose value the person changed, or a money amount marked as a salary."""
    if action == "salary":  # fields left empty keep what the amount says (or the salary's default)
        changes = {name: parse(Salary, name, form[name]) for name in SALARY_FIELDS if form.get(name, "").strip()}
        return review.mark_salary(page.engine, record_id, changes, page.reviewer)
    record = kind(kind_name)
    changes = {
        column: parse(record.model, name, form[column])
        for column, name in record.correctable.items()
        if column in form and form[column] != form.get(f"was_{column}")
    }
    if not changes:
        raise review.ReviewError("nothing to correct: change a field first")
    return review.correct(page.engine, kind_name, record_id, changes, page.reviewer)


def parse(model: type[BaseModel], name: str, value: str) -> str | float | bool | None:
    """A form value as the model's field takes it: None for an emptied field, a number, true/false, else text."""
    value, annotation = value.strip(), model.model_fields[name].annotation
    if not value:
        return None
    if annotation is bool:
        return value == "true"
    if float in getattr(annotation, "__args__", (annotation,)):
        try:
            return float(value.replace(",", ""))
        except ValueError:
            raise review.ReviewError(f"{name} must be a number such as 150000, not {value!r}") from None
    return value


# --- the command ------------------------------------------------------------------------------------------------


def serve(engine: Engine, reviewer: str, port: int, announce: Callable[[str], None] = print) -> None:
    """Serve the review page until Ctrl-C; `announce` is told its address."""
    with make_server(engine, reviewer, port) as server:
        announce(f"review page at {server.url} (reviewing as {reviewer}; Ctrl-C stops it)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            announce("stopped")
