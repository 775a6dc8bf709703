"""Clean stage: decoding, refusals, HTML main text with tables and metadata, text/Markdown normalisation."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import pytest

from pipeline.clean import clean, decode, normalize_text, text_title
from pipeline.errors import CleanError
from schemas.documents import Page

URL = "https://careers.example.com/posts/ai-engineer-pay"
PARAGRAPH = (
    "Hiring managers told us that demand for applied AI engineers grew again this year, and that "
    "candidates who can ship retrieval systems to production are the hardest to find."
)
SECOND = "Python, PyTorch and solid evaluation habits remain the skills most often listed in job postings."


def page(
    body: bytes | str,
    content_type: str = "text/html",
    charset: str | None = None,
    url: str | None = URL,
    source: str = "src",
) -> Page:
    """A Page as the fetch/read stage would hand it over."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return Page(source=source, url=url, body=raw, content_type=content_type, charset=charset)


def article_html(inner: str, head: str = "<title>AI Engineer Pay in 2025</title>") -> str:
    """A plausible article page: navigation, a main article around `inner`, comments and a footer."""
    return (
        f"<!DOCTYPE html><html><head>{head}</head><body>"
        "<nav><a href='/'>Home</a> <a href='/jobs'>Jobs</a> <a href='/about'>About us</a></nav>"
        f"<main><article><h1>AI Engineer Pay in 2025</h1><p>{PARAGRAPH}</p>{inner}<p>{SECOND}</p>"
        "</article></main>"
        "<section id='comments' class='comments'><h2>Comments</h2>"
        "<div class='comment'><p>Thanks for this, very helpful overview of the market!</p></div></section>"
        "<footer><p>© 2025 Example Careers Ltd. All rights reserved.</p></footer></body></html>"
    )


def lines_of(html: str) -> list[str]:
    return clean(page(html)).text.split("\n")


# --- HTML main text --------------------------------------------------------------------------------------

SALARY_ROWS = [
    "Level | Experience | Base salary",
    "Entry | 0–2 years | $110K–$145K",
    "Mid | 3–5 years | $150K–$200K",
    "Senior | 6+ years | $210K–$300K",
]
TABLES = {
    "thead and th": "<table><thead><tr><th>Level</th><th>Experience</th><th>Base salary</th></tr></thead><tbody>"
    "<tr><td>Entry</td><td>0–2 years</td><td>$110K–$145K</td></tr>"
    "<tr><td>Mid</td><td>3–5 years</td><td>$150K–$200K</td></tr>"
    "<tr><td>Senior</td><td>6+ years</td><td>$210K–$300K</td></tr></tbody></table>",
    "plain td rows": "<table><tr><td>Level</td><td>Experience</td><td>Base salary</td></tr>"
    "<tr><td>Entry</td><td>0–2 years</td><td>$110K–$145K</td></tr>"
    "<tr><td>Mid</td><td>3–5 years</td><td>$150K–$200K</td></tr>"
    "<tr><td>Senior</td><td>6+ years</td><td>$210K–$300K</td></tr></table>",
    "inline markup in cells": "<table><tr><th>Level</th><th>Experience</th><th>Base salary</th></tr>"
    "<tr><td><b>Entry</b></td><td>0–2 years</td>"
    "<td><a href='/pay'>$110K–$145K</a></td></tr>"
    "<tr><td>Mid</td><td><em>3–5 years</em></td><td>$150K–$200K</td></tr>"
    "<tr><td>Senior</td><td>6+ years</td><td><span>$210K–$300K</span></td></tr></table>",
    "multi-line cells": "<table><tr><th>Level</th><th>Experience</th><th>Base\nsalary</th></tr>"
    "<tr><td>Entry</td><td>0–2\n years</td><td>$110K–$145K</td></tr>"
    "<tr><td>Mid</td><td>3–5 years</td><td>$150K–$200K</td></tr>"
    "<tr><td>Senior</td><td>6+ years</td><td>$210K–$300K</td></tr></table>",
}


@pytest.mark.parametrize("table", TABLES.values(), ids=TABLES.keys())
def test_table_rows_stay_on_one_line_with_every_cell_in_order(table):
    lines = lines_of(article_html(f"<p>Base pay by level:</p>{table}"))
    start = lines.index(SALARY_ROWS[0])
    assert lines[start : start + len(SALARY_ROWS)] == SALARY_ROWS
    assert not any(set(line) <= set("|-") for line in lines), "markdown rule rows are dropped"


def test_empty_cell_keeps_later_cells_in_their_columns():
    table = (
        "<table><tr><th>Role</th><th>Remote</th><th>Salary</th></tr>"
        "<tr><td>ML engineer</td><td></td><td>$180K</td></tr></table>"
    )
    assert "ML engineer |  | $180K" in lines_of(article_html(table))


TRICKY_TABLES = {
    "list in a cell (trafilatura drops it)": (
        "<table><tr><th>Level</th><th>Skills</th><th>Pay</th></tr>"
        "<tr><td>Entry</td><td><ul><li>Python</li><li>SQL, <b>dbt</b></li></ul></td><td>$110K</td></tr></table>",
        ["Level | Skills | Pay", "Entry | Python; SQL, dbt | $110K"],
    ),
    "nested list in a cell": (
        "<table><tr><td>Mid</td><td><ol><li>ML<ul><li>PyTorch</li><li>JAX</li></ul></li><li>Go</li></ol></td>"
        "<td>$160K</td></tr></table>",
        ["Mid | ML PyTorch JAX; Go | $160K"],
    ),
    "row headers": (
        "<table><tr><th>Level</th><th>Salary</th></tr><tr><th>Entry</th><td>$110K</td></tr>"
        "<tr><th>Senior</th><td>$250K</td></tr></table>",
        ["Level | Salary", "Entry | $110K", "Senior | $250K"],
    ),
    "colspan and rowspan": (
        "<table><tr><th colspan=2>Role</th><th>Pay</th></tr><tr><td rowspan=2>US</td><td>Entry</td>"
        "<td>$110K</td></tr><tr><td>Senior</td><td>$250K</td></tr></table>",
        ["US | Entry | $110K", "| Senior | $250K"],
    ),
}


@pytest.mark.parametrize(("table", "rows"), TRICKY_TABLES.values(), ids=TRICKY_TABLES.keys())
def test_tricky_tables_keep_every_cell(table, rows):
    lines = lines_of(article_html(table))
    assert [row for row in rows if row in lines] == rows


def test_main_text_has_no_navigation_comments_or_footer():
    text = clean(page(article_html(""))).text
    assert text.split("\n") == ["AI Engineer Pay in 2025", PARAGRAPH, SECOND]


@pytest.mark.parametrize(
    "hidden",
    [
        '<p style="display:none">SECRET one</p>',
        '<div style="color: red; display: none;">SECRET two</div>',
        '<p style="DISPLAY : NONE !important">SECRET three</p>',
        '<p style="visibility:hidden">SECRET four</p>',
        "<div hidden>SECRET five</div>",
        "<template><p>SECRET six</p></template>",
    ],
)
def test_hidden_text_does_not_appear(hidden):
    text = clean(page(article_html(hidden))).text
    assert "SECRET" not in text
    assert PARAGRAPH in text and SECOND in text


def test_text_after_an_inline_hidden_element_is_kept():
    inner = "<p>Median pay rose <span style='display:none'>SECRET</span>by nine percent across all levels.</p>"
    text = clean(page(article_html(inner))).text
    assert "Median pay rose by nine percent across all levels." in text
    assert "SECRET" not in text


# --- forum threads ---------------------------------------------------------------------------------------

POSTS = [
    "Offered a platform engineer job in Leeds at 64k, coming from a support role. Worth taking?",
    "Take it. I moved from support two years ago and never looked back, the on-call is lighter too.",
    "Ask whether the on-call rota is paid separately before you sign anything.",
]
FIRST_POST_LIST = "<ul><li>hybrid, three days in the office</li><li>pension matched to six percent</li></ul>"
SIDEBAR = "Upgrade to Gold for ad-free browsing, only 3.49 a month"


def thread_html(post: str) -> str:
    """A forum thread: header, title, three posts marked up by `post` (a format with {}), sidebar, footer."""
    posts = [POSTS[0] + FIRST_POST_LIST, *POSTS[1:]]
    return (
        "<html><head><title>Platform engineer offer - Careers - Example Boards</title></head><body>"
        "<div class='site-header'><a href='/'>Example Boards</a> <a href='/login'>Log in</a></div>"
        "<h1>Platform engineer offer, worth taking?</h1>"
        + "".join(post.format(f"<p>{text}</p>") for text in posts)
        + f"<div class='sidebar'><h4>Gold</h4><p>{SIDEBAR}.</p></div>"
        "<div class='footer'>Example Boards · Rules · Privacy</div></body></html>"
    )


THREADS = {
    "div.post": "<div class='post'><div class='author'>someone</div><div class='body'>{}</div></div>",
    "discourse-like": "<div class='topic-post'><div class='cooked'>{}</div></div>",
    "article.message": "<article class='message message--post'>{}</article>",
    "schema.org": "<div itemscope itemtype='https://schema.org/DiscussionForumPosting'>{}</div>",
}


@pytest.mark.parametrize("post", THREADS.values(), ids=THREADS.keys())
def test_a_thread_keeps_every_post_in_order_without_its_sidebar(post):
    text = clean(page(thread_html(post))).text
    found = [text.find(line) for line in POSTS]
    assert -1 not in found and found == sorted(found)
    assert "- pension matched to six percent" in text.split("\n")
    assert SIDEBAR not in text and "Rules · Privacy" not in text


def test_a_thread_whose_first_post_has_a_class_of_its_own_keeps_it_first():
    html = thread_html(THREADS["div.post"]).replace("<div class='post'>", "<div class='post post--op'>", 1)
    text = clean(page(html)).text
    found = [text.find(line) for line in POSTS]
    assert -1 not in found and found == sorted(found)


def test_a_posts_quote_of_another_is_marked_as_quoted():
    """A reply quoting an earlier post keeps the quote as a "> " line (a repeat, not a heading over the reply)."""
    quoted = "<blockquote><p>on-call is lighter</p><p>never looked back</p></blockquote>"
    html = thread_html(THREADS["div.post"]).replace(f"<p>{POSTS[2]}</p>", f"{quoted}<p>{POSTS[2]}</p>")
    lines = clean(page(html)).text.split("\n")
    assert lines[lines.index(POSTS[2]) - 2 :][:3] == ["> on-call is lighter", "> never looked back", POSTS[2]]
    assert lines.count("> on-call is lighter") == 1


BARRED_POSTS = [
    "Moved from a support desk to platform work last year and the pay step was bigger than I expected, mostly"
    " because the on-call allowance is separate and the team pays for certifications too.",
    "Ask about the rota before you sign. Ours looked light on paper but the pager went off most weekends in"
    " winter, and nobody had written down how the overtime was counted or paid.",
    "Update: took the offer, starting in May.",
]


def test_a_short_last_post_with_a_bar_of_links_is_kept_without_the_bar():
    """Each post ends in a bar of links (Quote, Like): the bar is no text, and a short last post holding one is
    not taken for a list of links and dropped."""
    posts = "".join(
        f"<div class='post'><div class='postmeta'><b>user{n}</b> · 2 Mar</div><div class='postbody'><p>{text}</p>"
        "</div><div class='postactions'><a href='/reply'>Quote</a> <a href='/like'>Like (4)</a></div></div>"
        for n, text in enumerate(BARRED_POSTS)
    )
    html = f"<html><body><div class='thread'>{posts}</div><div class='sidebar'><p>{SIDEBAR}</p></div></body></html>"
    text = clean(page(html)).text
    assert [line for line in text.split("\n") if line] == BARRED_POSTS


def question_with_replies(question: str) -> str:
    """A Reddit-style page: one post (the question) and a comment section of replies, one nested."""
    replies = (
        f"<div class='comment'><p>{POSTS[1]}</p><div class='comment'><p>{POSTS[2]}</p></div></div>"
        "<div class='comment'><p>Same here, the rota was paid at a flat rate.</p></div>"
    )
    return (
        "<html><body><header><nav><a href='/'>Example Boards</a></nav></header><main>"
        f"<div class='post'><h1>Platform engineer offer</h1><div class='body'>{question}</div></div>"
        f"<section class='comments'>{replies}</section></main>"
        f"<aside class='sidebar'><p>{SIDEBAR}.</p></aside></body></html>"
    )


def test_a_question_post_keeps_its_replies_nested_ones_too_and_in_order():
    text = clean(page(question_with_replies(f"<p>{POSTS[0]}</p>"))).text
    found = [text.find(line) for line in [*POSTS, "Same here, the rota was paid at a flat rate."]]
    assert -1 not in found and found == sorted(found)
    assert SIDEBAR not in text


def test_a_question_whose_post_has_parts_keeps_its_replies():
    """A post marked up in parts ("post-meta", "post-body", "post-actions") is one post, not a thread of them."""
    parts = (
        "<div class='post-meta'>Posted by someone, 3 days ago</div>"
        f"<div class='post-body'><p>{POSTS[0]}</p></div><div class='post-actions'>12 comments · Share</div>"
    )
    html = question_with_replies("").replace("<div class='post'>", "<article class='post'>", 1)
    html = html.replace("<div class='body'></div></div>", f"{parts}</article>", 1)
    text = clean(page(html)).text
    found = [text.find(line) for line in POSTS]
    assert -1 not in found and found == sorted(found)


def test_a_long_post_is_an_article_and_its_comments_stay_out():
    article = "".join(f"<p>{PARAGRAPH} {SECOND} {n}</p>" for n in range(20))
    text = clean(page(question_with_replies(article))).text
    assert PARAGRAPH in text and POSTS[1] not in text


def test_teasers_of_other_posts_do_not_replace_the_article():
    teasers = "".join(f"<div class='post-teaser'><p>{text}</p></div>" for text in POSTS[1:])
    html = article_html("").replace("<footer>", f"<section class='latest'>{teasers}</section><footer>", 1)
    text = clean(page(html)).text
    assert PARAGRAPH in text and SECOND in text
    assert not any(post in text for post in POSTS)


def test_a_single_post_page_and_a_blog_comment_list_are_cleaned_as_before():
    comments = "".join(f"<div class='comment'><p>{text}</p></div>" for text in POSTS[1:])
    blog = article_html(f"<div class='post'><p>{POSTS[0]}</p></div>").replace("<div class='comment'>", comments, 1)
    text = clean(page(blog)).text
    assert POSTS[0] in text and PARAGRAPH in text
    assert not any(reply in text for reply in POSTS[1:])


METADATA_HEAD = (
    "<title>AI Engineer Pay in 2025 | Example Careers</title>"
    "<meta property='og:title' content='AI Engineer Pay in 2025'>"
    "<meta name='author' content='Priya Raman'>"
    "<meta property='article:published_time' content='2025-03-14T09:30:00+00:00'>"
)


@pytest.mark.parametrize(
    ("canonical", "expected"),
    [
        ("<link rel='canonical' href='https://example.com/pay-2025'>", "https://example.com/pay-2025"),
        ("<link rel='canonical' href='/pay-2025?ref=x'>", "https://careers.example.com/pay-2025?ref=x"),
        ("<link rel='Canonical Shortlink' href='https://example.com/c'>", "https://example.com/c"),
        ("", URL),
    ],
)
def test_metadata_title_author_iso_date_and_canonical_url(canonical, expected):
    article = clean(page(article_html("", head=METADATA_HEAD + canonical)))
    assert (article.title, article.author, article.published) == (
        "AI Engineer Pay in 2025",
        "Priya Raman",
        "2025-03-14",
    )
    assert (article.canonical_url, article.url, article.kind) == (expected, URL, "html")


def test_local_html_without_url_has_no_canonical_url():
    article = clean(page(article_html(""), url=None, source="saved/page.html"))
    assert (article.source, article.url, article.canonical_url) == ("saved/page.html", None, None)


@pytest.mark.parametrize(
    ("body", "published"),
    [
        ("<p class='byline'>Published March 3, 2024 by Ana Ruiz</p>", "2024-03-03"),
        ("<p>By March 3, 2024, most teams had moved their first models into production.</p>", None),
    ],
    ids=["byline", "date-in-a-sentence"],
)
def test_the_publication_date_comes_from_markup_not_from_a_sentence(body, published):
    assert clean(page(article_html(body))).published == published


def test_date_after_the_fetch_is_not_taken_as_the_publication_date():
    head = "<meta property='article:published_time' content='2031-01-01'>"
    fetched = Page(
        source="s",
        url=URL,
        body=article_html("", head=head).encode(),
        content_type="text/html",
        fetched_at=datetime(2025, 6, 1, tzinfo=UTC),
    )
    assert clean(fetched).published != "2031-01-01"


def test_html_fragment_without_html_element_is_cleaned():
    assert clean(page(f"<p>{PARAGRAPH}</p><p>{SECOND}</p>")).text == f"{PARAGRAPH}\n{SECOND}"


def test_clean_is_deterministic():
    html = article_html(TABLES["thead and th"], head=METADATA_HEAD)
    first, second = clean(page(html)), clean(page(html))
    assert first.model_dump(exclude={"fetched_at"}) == second.model_dump(exclude={"fetched_at"})


NO_MAIN_CONTENT = {
    "navigation only": "<html><body><nav><a href='/'>Home</a><a href='/jobs'>Jobs</a>"
    "<a href='/contact'>Contact us</a></nav></body></html>",
    "link list only": "<html><body><ul><li><a href='/a'>AI careers</a></li><li><a href='/b'>ML jobs</a></li>"
    "<li><a href='/c'>Salary guides</a></li></ul></body></html>",
    "JS-only app": "<html><head><title>App</title><script src='/app.js'></script></head><body><div id='root'>"
    "</div><noscript>You need to enable JavaScript to run this app.</noscript></body></html>",
    "empty body": "<html><head><title>Nothing</title></head><body></body></html>",
    "only hidden text": f"<html><body><div style='display:none'><p>{PARAGRAPH}</p></div></body></html>",
}


@pytest.mark.parametrize("html", NO_MAIN_CONTENT.values(), ids=NO_MAIN_CONTENT.keys())
def test_html_without_main_content_is_refused(html):
    with pytest.raises(CleanError) as caught:
        clean(page(html, source="nav.html"))
    assert caught.value.reason.startswith("no main content")
    assert caught.value.source == "nav.html"


# --- decoding --------------------------------------------------------------------------------------------

WESTERN = "Le café coûte 3 € — naïve résumé, “quoted”"


@pytest.mark.parametrize(
    ("body", "content_type", "charset"),
    [
        (WESTERN.encode("cp1252"), "text/plain", None),  # no declaration at all
        (WESTERN.encode("cp1252"), "text/plain", "iso-8859-1"),  # latin-1 label means windows-1252
        (WESTERN.encode("cp1252"), "text/plain", "windows-1252"),
        (WESTERN.encode("utf-8"), "text/plain", "iso-8859-1"),  # wrong server default on a UTF-8 body
        (codecs.BOM_UTF8 + WESTERN.encode("utf-8"), "text/plain", "windows-1252"),  # BOM outranks the header
        (codecs.BOM_UTF16_LE + WESTERN.encode("utf-16-le"), "text/plain", None),
        (
            f"<html><head><meta charset='windows-1252'></head><body><p>{WESTERN}</p></body></html>".encode("cp1252"),
            "text/html",
            None,
        ),
        (
            f"<html><head><meta http-equiv='Content-Type' content='text/html; charset=ISO-8859-1'></head>"
            f"<body><p>{WESTERN}</p></body></html>".encode("cp1252"),
            "text/html",
            None,
        ),
    ],
)
def test_decoding_recovers_the_characters(body, content_type, charset):
    assert WESTERN in decode(page(body, content_type, charset))


def test_short_undeclared_cp1252_is_not_left_to_a_statistical_guess():
    assert decode(page(b"caf\xe9 \x80", "text/plain")) == "café €"


def test_server_charset_outranks_meta_charset():
    html = f"<html><head><meta charset='utf-8'></head><body><p>{WESTERN}</p></body></html>"
    assert WESTERN in decode(page(html.encode("cp1252"), charset="windows-1252"))


def test_cp1252_file_is_cleaned_to_the_right_text():
    body = f"Pay report\r\n\r\n{WESTERN}\r\n".encode("cp1252")
    assert clean(page(body, "text/plain", url=None)).text == f"Pay report\n\n{WESTERN}"


def test_cyrillic_legacy_text_is_not_read_as_windows_1252():
    text = "Зарплата инженера по машинному обучению растёт каждый год, и спрос на специалистов высок."  # noqa: E501
    assert decode(page(text.encode("cp1251"), "text/plain")) == text


# --- refusals --------------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (PNG, "text/html"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "text/plain"),
        (b"PK\x03\x04\x14\x00\x06\x00", "text/markdown"),
        (b"\x1f\x8b\x08\x00\x00\x00", "text/html"),
        (b"<html><body><p>text\x00with\x00nul</p></body></html>", "text/html"),
        (bytes(range(1, 32)) * 20, "text/plain"),
    ],
)
def test_binary_content_is_refused(body, content_type):
    with pytest.raises(CleanError) as caught:
        clean(page(body, content_type, source="image.html"))
    assert caught.value.reason.startswith("binary content")
    assert caught.value.source == "image.html"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "text/html"),
        (b"", "text/plain"),
        (b"  \n\t\r\n ", "text/markdown"),
        (codecs.BOM_UTF8, "text/plain"),
        (codecs.BOM_UTF8 + b"\n\n", "text/html"),
    ],
)
def test_empty_content_is_refused(body, content_type):
    with pytest.raises(CleanError) as caught:
        clean(page(body, content_type))
    assert caught.value.reason.startswith("empty")


# --- text and Markdown -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\ufeffTitle\r\nline one\r\n", "Title\nline one"),
        ("old mac\rline endings\r", "old mac\nline endings"),
        ("trailing   \t\nspaces  \n", "trailing\nspaces"),
        ("a\n\n\n\n\nb\n\n\nc\n\nd", "a\n\nb\n\nc\n\nd"),
        ("\n\n\nleading and trailing blank lines\n\n\n", "leading and trailing blank lines"),
        ("cafe\u0301 decomposed", "café decomposed"),
        ("    indented code stays indented", "    indented code stays indented"),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "kind", "title"),
    [
        ("# AI Engineer Roadmap\n\nIntro text.", "markdown", "AI Engineer Roadmap"),
        ("Some intro line\n\n## Skills to learn ##\n\nPython.", "markdown", "Skills to learn"),
        ("Career Guide\n============\n\nBody.", "markdown", "Career Guide"),
        ('---\ntitle: "Front Matter Title"\ndate: 2025-01-02\n---\n# Heading\n', "markdown", "Front Matter Title"),
        ("---\ndate: 2025-01-02\n---\nBody line\n\n# Heading", "markdown", "Heading"),
        ("```bash\n# not a heading\n```\n# Real Heading", "markdown", "Real Heading"),
        ("no headings here\njust lines", "markdown", "no headings here"),
        ("\n\n  First line of the text file  \n# not a heading in txt", "text", "First line of the text file"),
    ],
)
def test_text_and_markdown_titles(raw, kind, title):
    assert text_title(normalize_text(raw), kind) == title


@pytest.mark.parametrize(("content_type", "kind"), [("text/plain", "text"), ("text/markdown", "markdown")])
def test_text_sources_are_normalised_but_not_stripped_of_boilerplate(content_type, kind):
    raw = "# Salaries\r\n\r\n\r\n\r\nHome | Jobs | About   \r\nEntry | 0–2 years | $110K–$145K\r\n"
    article = clean(page(raw.encode("utf-8"), content_type, url=None, source="notes.md"))
    assert article.text == "# Salaries\n\nHome | Jobs | About\nEntry | 0–2 years | $110K–$145K"
    assert (article.kind, article.source, article.canonical_url) == (kind, "notes.md", None)
    assert article.title == ("Salaries" if kind == "markdown" else "# Salaries")


def test_article_text_is_the_string_offsets_point_into():
    article = clean(page(article_html(TABLES["thead and th"])))
    quote = "Entry | 0–2 years | $110K–$145K"
    start = article.text.index(quote)
    assert article.text[start : start + len(quote)] == quote
    assert "\r" not in article.text and article.text == article.text.strip()


def test_a_thread_whose_question_no_class_marks_keeps_its_replies_in_order():
    """Hacker News markup: the question sits in a table cell with no post class, and each reply is a "comment"
    element in a row of its own (no two of them siblings). The replies are the thread's text, read after the
    question; the page's comment headers stay as they were."""
    rows = "".join(
        f"<tr class='athing comtr'><td><table><tr><td class='ind'></td><td class='default'>"
        f"<div class='comhead'><a class='hnuser'>user{n}</a> <span class='age'>2 hours ago</span></div>"
        f"<div class='comment'><span class='commtext'>{text}</span></div></td></tr></table></td></tr>"
        for n, text in enumerate([*POSTS[1:], *BARRED_POSTS[:2]])
    )
    html = (
        "<html><body><table id='main'><tr><td><table class='fatitem'><tr class='athing'><td class='title'>"
        "Ask: what does platform work pay?</td></tr><tr><td class='toptext'><p>"
        f"{POSTS[0]}</p></td></tr></table><table class='comment-tree'>{rows}</table></td></tr></table></body></html>"
    )
    text = clean(page(html)).text
    found = [text.find(post) for post in [*POSTS, *BARRED_POSTS[:2]]]
    assert -1 not in found and found == sorted(found)
