"""One root error and a few subclasses, each carrying where it happened (source, stage) and why.

Only the CLI and the flows turn these into messages, exit codes or run states.
"""

from __future__ import annotations


class KBError(Exception):
    """Root of every error career-kb raises on purpose."""

    stage = "pipeline"

    def __init__(self, reason: str, *, source: str | None = None, stage: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.source = source
        if stage:
            self.stage = stage

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.stage}: {self.reason}"


class SourceError(KBError):
    """A source that cannot be used at all (bad scheme, missing file, refused address)."""

    stage = "read"


class FetchError(KBError):
    """A URL that could not be fetched: HTTP status, timeout, size cap, content type, address policy."""

    stage = "fetch"

    def __init__(
        self,
        reason: str,
        *,
        source: str | None = None,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(reason, source=source)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after  # seconds a 429/503 asked us to wait


class CleanError(KBError):
    """A page with no usable text (empty, binary, no main content)."""

    stage = "clean"


class ExtractError(KBError):
    """The LLM could not produce valid records (after re-asks), or could not be reached."""

    stage = "extract"


class ModelError(KBError):
    """The embedded model is missing, corrupt or cannot be loaded; the message names the fix."""

    stage = "model"


class StorageError(KBError):
    """The database refused a write or a query."""

    stage = "save"


class SettingsError(KBError):
    """An environment variable career-kb reads has a value it cannot use; the message names the variable."""

    stage = "settings"


class VocabularyError(KBError):
    """A vocabulary file (pipeline/vocabulary/, KB_VOCABULARY_DIR) that cannot be read or has a bad entry;
    `source` names the file, the reason the entry."""

    stage = "vocabulary"
