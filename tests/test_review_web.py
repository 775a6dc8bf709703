"""The review page (`kb review serve`): a knowledge base made by the real ingest path (fake model), a server on
127.0.0.1 started here, then real clicks and keys in headless Chromium (Selenium and Debian's chromedriver) and
plain HTTP requests, each checked against the public views.

The browser test is skipped only when /usr/bin/chromium is absent (CI installs it, see .ci/run).
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from db.engine import init_db, make_engine
from db.query import run_readonly
from flows.ingest import Runtime, run_sources
from pipeline import review
from pipeline.cli import main
from pipeline.review_web import RefusedRequest, chosen, form_fields, key, make_server, pieces, record_named
from tests.conftest import PAGES

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
HOSTILE_NOTE = (
    "# Pay notes\n\nSenior AI engineers earn $150,000 to $180,000 a year.\n\n"
    "Hiring of <script>alert('x')</script> engineers rose 12% in 2025.\n\n"
    "The certification exam fee is $300.\n"
)


class Tags(HTMLParser):
    """The tags of a page, the attributes of its <script> tags, and its hidden inputs by name."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.scripts: list[dict] = []
        self.hidden: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(attrs)
        if tag == "input" and attrs.get("type") == "hidden":
            self.hidden[attrs["name"]] = attrs.get("value", "")


@pytest.fixture
def kb(settings, tmp_path):
    """A knowledge base of two fixture pages and a note whose claim quotes HTML, made by the real ingest path."""
    note = tmp_path / "pay-notes.md"
    note.write_text(HOSTILE_NOTE, encoding="utf-8")
    sources = [str(PAGES / "ai-engineer-salaries-2026.html"), str(PAGES / "career-notes.md"), str(note)]
    summary = run_sources(sources, Runtime.create(settings), "test")
    assert {o.status for o in summary.outcomes} == {"ok"}
    engine = make_engine(settings.database_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def server(kb):
    """The review page on 127.0.0.1, on a free port, served from a thread."""
    server = make_server(kb, reviewer="tester")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def rows(engine, sql: str) -> list[dict]:
    result = run_readonly(engine.url.render_as_string(hide_password=False), sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def state(engine) -> dict:
    """What reviews change: the reviews, and the record views with their review status."""
    return {
        view: rows(engine, f"select * from {view}")
        for view in ("v_reviews", "v_salaries", "v_skills", "v_certifications", "v_claims")
    }


def test_the_page_listens_on_loopback_only(kb):
    with pytest.raises(RefusedRequest, match="127.0.0.1 only"):
        make_server(kb, reviewer="tester", host="0.0.0.0")
    with make_server(kb, reviewer="tester") as server:
        assert server.server_address[0] == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")


def test_writes_without_the_session_token_or_from_elsewhere_are_refused_and_change_nothing(server, kb):
    claim = next(item for item in review.queue(kb) if item.kind == "claim")
    with httpx.Client(base_url=server.url) as browser:
        page = Tags(browser.get("/", params={"item": key(claim)}).text)
        form = {**page.hidden, "action": "accept"}  # the claim's decision form
        before = state(kb)
        refused = [
            browser.post("/review", data={k: v for k, v in form.items() if k != "token"}),
            browser.post("/review", data={**form, "token": "0" * 64}),
            browser.post("/review", data=form, headers={"Origin": "http://evil.example"}),
            browser.post("/review", data=form, headers={"Host": "evil.example"}),
            httpx.post(server.url + "review", data=form),  # the right token without its session cookie
        ]
        assert [r.status_code for r in refused] == [403] * 5
        assert "token" in refused[0].text and "evil.example" in refused[2].text
        assert state(kb) == before
        accepted = browser.post("/review", data=form, headers={"Origin": server.url.rstrip("/")})
    assert accepted.status_code == 303  # the same form with its token is taken
    [written] = rows(kb, "select * from v_reviews")
    assert (written["kind"], written["record_id"]) == ("claim", claim.record_id)


def test_a_page_reached_by_another_name_is_refused(server):
    """A site whose name resolves to 127.0.0.1 (DNS rebinding) gets nothing: the Host must be this server's."""
    assert httpx.get(server.url, headers={"Host": f"evil.example:{server.port}"}).status_code == 403
    assert httpx.get(server.url.replace("127.0.0.1", "localhost")).status_code == 200


def test_a_bad_correction_is_refused_with_the_reason_on_the_page_and_changes_nothing(server, kb):
    salary = next(item for item in review.queue(kb) if item.kind == "salary")
    with httpx.Client(base_url=server.url) as browser:
        page = Tags(browser.get("/", params={"item": key(salary)}).text)
        before = state(kb)
        answer = browser.post("/review", data={**page.hidden, "action": "correct", "amount_min": "lots"})
    assert answer.status_code == 400
    assert "amount_min must be a number such as 150000, not &#39;lots&#39;" in answer.text
    assert state(kb) == before


def test_quotes_and_values_are_shown_as_text(server, kb):
    [claim] = [item for item in review.queue(kb) if "<script>" in item.quote]
    html = httpx.get(server.url, params={"item": key(claim)}).text
    assert "&lt;script&gt;alert(" in html and "<script>alert" not in html
    assert Tags(html).scripts == [{"src": "/review.js", "defer": None}]  # the page's own script and nothing else


def test_the_quote_and_a_header_span_are_cut_out_of_the_text():
    text = "Junior | x | $90,000 a year"
    item = review.ReviewItem(
        kind="salary",
        record_id=1,
        document_id=1,
        source="s",
        quote="$90,000",
        values={"header_start": 0, "header_end": 6},
        char_start=text.index("$"),
        char_end=text.index(" a year"),
    )
    assert pieces(text, item) == [
        ("", None),
        ("Junior", "header"),
        (" | x | ", None),
        ("$90,000", "quote"),
        (" a year", None),
    ]


SURVEY = """Engineer pay by level, 2025
We show the median base salary, which is what offers quote.
Level | Median base (USD) | Offers
Junior | 96,000 | 120
Senior | 164,500 | 88
"""


def test_a_table_salary_shows_its_row_and_its_column_header_marked_in_the_text(settings, tmp_path):
    survey = tmp_path / "survey.txt"
    survey.write_text(SURVEY, encoding="utf-8")
    assert {o.status for o in run_sources([str(survey)], Runtime.create(settings), "test").outcomes} == {"ok"}
    engine = make_engine(settings.database_url)
    init_db(engine)
    [junior] = rows(engine, "select * from v_salaries where amount_min = 96000")
    assert junior["header_quote"].endswith("Level | Median base (USD) | Offers")
    with make_server(engine, reviewer="tester") as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        html = httpx.get(server.url, params={"item": f"salary-{junior['salary_id']}"}).text
        server.shutdown()
    thread.join(timeout=10)
    engine.dispose()
    marked = dict(re.findall(r'<mark class="(\w+)" id="\w+">([^<]*)</mark>', html))
    assert marked == {"header": junior["header_quote"], "quote": junior["quote"]}
    assert "96,000" in marked["quote"] and html.index('<mark class="header"') < html.index('<mark class="quote"')


def test_a_yes_or_no_field_is_offered_as_true_or_false_even_when_the_database_says_1():
    item = review.ReviewItem(
        kind="salary",
        record_id=1,
        document_id=1,
        source="s",
        quote="$240,000+",
        values={"open_ended": 1, "amount_min": 240000.0},
        char_start=0,
        char_end=9,
    )
    fields = {field.name: field for field in form_fields(item)}
    assert (fields["open_ended"].value, fields["open_ended"].choices) == ("true", ("false", "true"))
    assert fields["amount_min"].value == "240000"


def test_after_a_review_the_page_moves_to_the_next_record():
    items = [
        review.ReviewItem(
            kind="skill", record_id=n, document_id=1, source="s", quote="q", values={}, char_start=0, char_end=1
        )
        for n in (1, 2, 3)
    ]
    assert chosen(items, {"done": "skill-2", "at": "1"}) == 2  # reviewed and still listed: the one after it
    assert chosen(items, {"done": "skill-9", "at": "1"}) == 1  # it left the queue: the one now in its place
    assert chosen(items, {"item": "skill-3", "done": "skill-1", "at": "0"}) == 2
    assert chosen(items, {"done": "skill-3", "at": "2"}) == 2 and chosen([], {}) == 0


def test_kb_review_serve_serves_the_page_on_loopback(kb, settings):
    command = [
        sys.executable,
        "-u",
        "-m",
        "pipeline.cli",
        "review",
        "serve",
        "--port",
        "0",
        "--reviewer",
        "tester",
        "--db",
        settings.database_url,
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as served:
        try:
            url = re.search(r"http://127\.0\.0\.1:\d+/", served.stdout.readline()).group()
            page = httpx.get(
                url, timeout=60
            ).text  # httpx waits 5 s by default; a loaded machine builds the page slower
        finally:
            served.send_signal(signal.SIGINT)
        assert served.wait(timeout=30) == 0
    listed = re.findall(r'data-key="([a-z]+-\d+)"', page)
    assert listed == [key(item) for item in review.queue(kb)] and len(listed) > 10


def test_kb_review_serve_names_a_port_it_cannot_have(kb, settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["review", "serve", "--port", str(port), "--db", settings.database_url])
    assert result.exit_code == 1 and f"cannot serve the review page on 127.0.0.1:{port}" in result.output


def test_record_names_round_trip_even_for_a_salary_a_person_added():
    for kind_name, record_id in (("salary", 12), ("salary", -3), ("claim", 7)):
        item = review.ReviewItem(
            kind=kind_name,
            record_id=record_id,
            document_id=1,
            source="s",
            quote="q",
            values={},
            char_start=0,
            char_end=1,
        )
        assert record_named(key(item)) == (kind_name, record_id)
    with pytest.raises(review.ReviewError, match="expected KIND-ID"):
        record_named("salary-twelve")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install -y chromium)")
def test_a_person_reviews_with_the_mouse_and_the_keyboard(server, kb, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select

    with chromium(tmp_path) as browser:
        browser.get(server.url)
        claim = next(link for link in queue_links(browser) if link.startswith("claim-"))
        pick(browser, claim)  # with the mouse
        body = browser.find_element(By.TAG_NAME, "body")
        saved(browser, lambda: body.send_keys("a"))  # accept with the keyboard
        assert review_of(kb, claim)["action"] == "accept"
        [accepted] = rows(kb, f"select * from v_claims where claim_id = {claim.rpartition('-')[2]}")
        assert accepted["review_status"] == "accepted"

        links = queue_links(browser)
        at = links.index(current(browser))
        next_page(browser, lambda: browser.find_element(By.TAG_NAME, "body").send_keys("j"))
        assert current(browser) == links[at + 1]
        next_page(browser, lambda: browser.find_element(By.TAG_NAME, "body").send_keys("k"))
        assert current(browser) == links[at]

        salary = next(link for link in queue_links(browser) if link.startswith("salary-"))
        pick(browser, salary)  # with the mouse
        browser.find_element(By.TAG_NAME, "body").send_keys("c")  # to the correction form
        amount = browser.switch_to.active_element
        assert amount.get_attribute("name") == "amount_min"
        amount.send_keys(Keys.CONTROL, "a")
        saved(browser, lambda: amount.send_keys("123456", Keys.ENTER))
        [corrected] = rows(kb, f"select * from v_salaries where salary_id = {salary.rpartition('-')[2]}")
        assert (corrected["amount_min"], corrected["review_status"]) == (123456, "corrected")

        skill = next(link for link in queue_links(browser) if link.startswith("skill-"))
        pick(browser, skill)  # with the mouse
        saved(browser, lambda: browser.find_element(By.ID, "reject").click())  # reject with the mouse
        assert not rows(kb, f"select * from v_skills where mention_id = {skill.rpartition('-')[2]}")
        assert review_of(kb, skill)["action"] == "reject"
        pick(browser, skill)  # still listed, as rejected: a person may change their mind
        assert browser.find_element(By.ID, "review-status").text == "rejected"
        saved(browser, lambda: browser.find_element(By.TAG_NAME, "body").send_keys("a"))
        [back] = rows(kb, f"select * from v_skills where mention_id = {skill.rpartition('-')[2]}")
        assert back["review_status"] == "accepted"

        amount = next(link for link in queue_links(browser) if link.startswith("amount-"))
        pick(browser, amount)  # money the extraction did not take for pay
        browser.find_element(By.TAG_NAME, "body").send_keys("s")  # to the salary form
        first_field = browser.switch_to.active_element
        Select(browser.find_element(By.CSS_SELECTOR, "#salary select[name=level]")).select_by_value("senior")
        saved(browser, lambda: first_field.send_keys(Keys.ENTER))
        review_id = int(re.search(r"\d+", browser.find_element(By.CSS_SELECTOR, "[role=status]").text).group())
        [added] = rows(kb, f"select * from v_salaries where salary_id = {-review_id}")
        [money] = rows(kb, f"select * from v_money where amount_id = {amount.rpartition('-')[2]}")
        assert (added["quote"], added["amount_min"], added["level"]) == (money["quote"], money["amount_min"], "senior")
        browser.save_screenshot(str(tmp_path / "review.png"))  # kept in pytest's tmp dir to look at
    assert (tmp_path / "review.png").stat().st_size > 10_000


def chromium(tmp_path: Path):
    """Headless Chromium driven by Debian's chromedriver, with a throwaway profile and nothing going out."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))


def pick(browser, record: str) -> None:
    """Click a record in the queue and wait for its page."""
    from selenium.webdriver.common.by import By

    link = browser.find_element(By.CSS_SELECTOR, f'#queue a[data-key="{record}"]')
    next_page(browser, link.click)
    assert current(browser) == record


def current(browser) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, "#queue a[aria-current]").get_attribute("data-key")


def queue_links(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    return [a.get_attribute("data-key") for a in browser.find_elements(By.CSS_SELECTOR, "#queue a")]


def next_page(browser, act) -> None:
    """Do `act` (a click or keys) and wait until the browser has left the page it was on."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")

    def gone(exc: WebDriverException) -> bool:
        """chromedriver may report a node of the page just left as "not of the document", not as stale."""
        return "does not belong to the document" in str(exc)

    def left(_browser) -> bool:
        try:
            return expected_conditions.staleness_of(page)(_browser)
        except WebDriverException as exc:
            if gone(exc):
                return True
            raise

    try:
        act()
    except WebDriverException as exc:  # the same report when the click navigated at once
        if not gone(exc):
            raise
    WebDriverWait(browser, 10).until(left)


def saved(browser, act) -> None:
    """Do `act` (a click or keys that post a form); the next page must say a review was saved."""
    from selenium.webdriver.common.by import By

    next_page(browser, act)
    assert re.fullmatch(r"Review \d+ saved\.", browser.find_element(By.CSS_SELECTOR, "[role=status]").text)


def review_of(engine, record: str) -> dict:
    kind, _, record_id = record.rpartition("-")
    reviews = rows(engine, "select * from v_reviews")
    [found] = [r for r in reviews if (r["kind"], str(r["record_id"])) == (kind, record_id)]
    return found
