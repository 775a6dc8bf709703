"""Sources stage: turn what the user typed (URLs, files, folders, a `--from` list) into an ordered source list.

Nothing is opened or fetched here. A path that does not exist is kept, so the read stage can record one
failure per source instead of the path vanishing without a trace.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.errors import SourceError

# File types a folder is expanded to; a file named explicitly is kept whatever its extension.
TEXT_SUFFIXES = frozenset({".html", ".htm", ".txt", ".md", ".markdown"})

# "scheme://" with a scheme of two or more characters, so a Windows drive ("C:\\") is not a URL.
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")
# A `#` comment in a source list: the whole line, or from whitespace before a `#` to the end of the line.
_COMMENT_RE = re.compile(r"(^|\s)#.*$")


def is_url(source: str) -> bool:
    """True when `source` names a URL (`scheme://...`), whatever the scheme.

    Non-web schemes (file://, ftp://) count as URLs so the fetch stage refuses them by name,
    rather than the read stage reporting a confusing "no such file".
    """
    return bool(_URL_RE.match(source.strip()))


def expand_sources(args: Iterable[str], from_file: str | None = None) -> list[str]:
    """Expand arguments, then the entries of `from_file`, into sources; first occurrence of a duplicate wins.

    URLs and file paths are kept exactly as given; folders become the text files under them.
    """
    entries = list(args)
    if from_file is not None:
        entries.extend(read_source_list(from_file))
    seen: dict[str, None] = {}
    for entry in entries:
        for source in _expand_one(entry):
            seen.setdefault(source, None)
    return list(seen)


def read_source_list(path: str) -> list[str]:
    """The URLs/paths listed in a `--from` file, one per line, without blank lines and `#` comments.

    A comment is a whole line starting with `#`, or `#` after whitespace at the end of an entry; a `#` inside
    an entry is kept, since it may be a URL fragment. An entry that is neither a URL nor a path that could be
    a source is a SourceError naming its line, so a stray word is not ingested as a file.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourceError(f"cannot read source list: {exc.strerror or exc}", source=path) from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"source list is not UTF-8 text (byte {exc.start})", source=path) from exc
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = _COMMENT_RE.sub("", line).strip()
        if entry and not _might_be_source(entry):
            raise SourceError(f"line {number}: {entry!r} is not a file or URL", source=path)
        if entry:
            entries.append(entry)
    return entries


def _might_be_source(entry: str) -> bool:
    """A URL, an existing path, or a path to a text file that the read stage can report missing."""
    return is_url(entry) or os.path.exists(entry) or Path(entry).suffix.lower() in TEXT_SUFFIXES


def _expand_one(entry: str) -> Iterator[str]:
    """One argument as sources: a folder becomes its text files, anything else stays as it is."""
    if not is_url(entry) and os.path.isdir(entry):
        yield from _folder_files(entry)
    else:
        yield entry


def _folder_files(folder: str) -> list[str]:
    """Text files under `folder`, recursively, sorted by relative path, each joined onto `folder` as given.

    Hidden entries (".git", ".obsidian", ".draft.md") are skipped, as a shell glob would. Symlinked folders
    are not followed, so a link cycle cannot make the walk endless.
    """
    found: list[tuple[str, ...]] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        rel_root = os.path.relpath(root, folder)
        prefix = () if rel_root == os.curdir else tuple(Path(rel_root).parts)
        found.extend(prefix + (name,) for name in files if _is_text_file(name))
    return [os.path.join(folder, *parts) for parts in sorted(found)]


def _is_text_file(name: str) -> bool:
    """A visible file with one of the TEXT_SUFFIXES (any case)."""
    return not name.startswith(".") and Path(name).suffix.lower() in TEXT_SUFFIXES
