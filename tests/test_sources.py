"""Sources stage: arguments, folders and `--from` lists become one ordered, de-duplicated source list."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.errors import SourceError
from pipeline.sources import expand_sources, is_url

FOLDER_FILES = [
    "b.html",
    "a.md",
    "notes.txt",
    "page.htm",
    "long.markdown",
    "sub/c.txt",
    "sub/deeper/d.html",
    "UPPER.HTML",
    "image.png",
    "data.json",
    "sub/report.pdf",
    "README",
    ".draft.md",
    ".git/notes.md",
]
EXPANDED = ["UPPER.HTML", "a.md", "b.html", "long.markdown", "notes.txt", "page.htm", "sub/c.txt", "sub/deeper/d.html"]


def make_folder(root: Path) -> Path:
    """A folder holding text files next to files a folder expansion must skip."""
    for name in FOLDER_FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("https://example.com/a", True),
        ("http://example.com", True),
        ("HTTPS://EXAMPLE.COM/", True),
        ("  https://example.com/a  ", True),
        ("ftp://example.com/file", True),  # a URL, refused by the fetch stage by name
        ("file:///etc/passwd", True),
        ("docs/page.html", False),
        ("/abs/path/page.md", False),
        ("C:\\articles\\page.html", False),
        ("example.com/page", False),
        ("page.html#section", False),
    ],
)
def test_is_url(source, expected):
    assert is_url(source) is expected


def test_urls_and_files_are_kept_exactly_as_given():
    args = ["https://example.com/a?x=1#frag", "missing/page.html", "./relative.md", "HTTP://Example.com/B"]
    assert expand_sources(args) == args


def test_folder_expands_recursively_to_sorted_text_files(tmp_path):
    folder = make_folder(tmp_path / "docs")
    assert expand_sources([str(folder)]) == [os.path.join(str(folder), *p.split("/")) for p in EXPANDED]


@pytest.mark.parametrize("folder_arg", ["docs", "./docs", "docs/"])
def test_folder_paths_are_joined_onto_the_folder_as_given(tmp_path, monkeypatch, folder_arg):
    make_folder(tmp_path / "docs")
    monkeypatch.chdir(tmp_path)
    expanded = expand_sources([folder_arg])
    assert expanded[0] == os.path.join(folder_arg, "UPPER.HTML")
    assert all(path.startswith(folder_arg) for path in expanded)


def test_file_with_other_extension_named_explicitly_is_kept(tmp_path):
    # Only folder expansion filters by extension; the read stage reports an unsupported type.
    pdf = make_folder(tmp_path) / "sub" / "report.pdf"
    assert expand_sources([str(pdf)]) == [str(pdf)]


def test_nonexistent_path_is_kept_for_the_read_stage_to_report(tmp_path):
    missing = str(tmp_path / "nope.html")
    assert expand_sources(["https://example.com/", missing]) == ["https://example.com/", missing]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["a.html", "b.html", "a.html"], ["a.html", "b.html"]),
        (["https://x.test/1", "https://x.test/2", "https://x.test/1"], ["https://x.test/1", "https://x.test/2"]),
        (["b.html", "a.html", "b.html", "a.html"], ["b.html", "a.html"]),
    ],
)
def test_duplicates_are_removed_keeping_the_first_occurrence(args, expected):
    assert expand_sources(args) == expected


def test_folder_and_explicit_file_inside_it_are_not_duplicated(tmp_path, monkeypatch):
    make_folder(tmp_path / "docs")
    monkeypatch.chdir(tmp_path)
    expanded = expand_sources([os.path.join("docs", "b.html"), "docs"])
    assert expanded[0] == os.path.join("docs", "b.html")
    assert expanded.count(os.path.join("docs", "b.html")) == 1
    assert len(expanded) == len(EXPANDED)


def test_from_file_skips_blank_lines_and_comments_and_expands_folders(tmp_path, monkeypatch):
    make_folder(tmp_path / "docs")
    monkeypatch.chdir(tmp_path)
    listing = tmp_path / "sources.txt"
    listing.write_text(
        "# career articles\n\nhttps://example.com/a#section\n   \n  docs/sub  \n# https://skipped.test/\n"
        "missing.md\r\nhttps://example.com/a#section\n",
        encoding="utf-8",
    )
    expected = [
        "first.html",
        "https://example.com/a#section",
        os.path.join("docs/sub", "c.txt"),
        os.path.join("docs/sub", "deeper", "d.html"),
        "missing.md",
    ]
    assert expand_sources(["first.html"], from_file=str(listing)) == expected


def test_missing_from_file_is_a_source_error(tmp_path):
    missing = str(tmp_path / "list.txt")
    with pytest.raises(SourceError) as caught:
        expand_sources([], from_file=missing)
    assert caught.value.source == missing
    assert "cannot read source list" in caught.value.reason


def test_from_file_drops_trailing_comments_but_keeps_url_fragments(tmp_path):
    listing = tmp_path / "sources.txt"
    listing.write_text(
        "https://example.com/a   # the salary survey\nhttps://example.com/b#pay\t# tabbed\nhttps://example.com/a\n",
        encoding="utf-8",
    )
    assert expand_sources([], from_file=str(listing)) == ["https://example.com/a", "https://example.com/b#pay"]


@pytest.mark.parametrize("junk", ["see the links below:", "example.com/page", "TODO"])
def test_a_junk_line_is_not_a_file_or_url_and_names_its_line(tmp_path, monkeypatch, junk):
    monkeypatch.chdir(tmp_path)
    listing = tmp_path / "sources.txt"
    listing.write_text(f"https://example.com/a\n\n{junk}\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        expand_sources([], from_file=str(listing))
    assert caught.value.reason == f"line 3: {junk!r} is not a file or URL"


def test_a_from_file_that_is_not_utf8_is_a_source_error(tmp_path):
    listing = tmp_path / "sources.txt"
    listing.write_bytes("https://example.com/caf\u00e9\n".encode("latin-1"))
    with pytest.raises(SourceError, match="not UTF-8"):
        expand_sources([], from_file=str(listing))
