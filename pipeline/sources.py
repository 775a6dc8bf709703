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
    """The URLs/paths listed in a `--from` file, one per line; blank lines and `#` comment lines skipped.

    Only whole-line comments are recognised: `#` inside a line may be a URL fragment.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourceError(f"cannot read source list: {exc.strerror or exc}", source=path) from exc
    except UnicodeDecodeError as exc:
        raise SourceError("source list is not UTF-8 text", source=path) from exc
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


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
