"""One settings object, read from the environment once and passed explicitly to every stage."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_LOCAL_MODEL = "local:qwen-1.5b"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured. Secrets, URLs and paths come from the environment."""

    database_url: str = "sqlite:///kb.sqlite"
    llm_base_url: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_model: str = DEFAULT_LOCAL_MODEL
    llm_max_retries: int = 2  # re-asks after a validation error
    llm_timeout: float = 120.0
    llm_concurrency: int = 4
    processes: int | None = None  # worker processes for large runs; None: one per core (see flows.workers)
    home: Path = Path.home() / ".cache" / "career-kb"
    allow_private_urls: bool = False
    fetch_timeout: float = 20.0
    fetch_max_bytes: int = 5_000_000
    fetch_max_redirects: int = 5
    file_max_bytes: int = 20_000_000
    chunk_chars: int = 6000

    @property
    def uses_embedded_model(self) -> bool:
        return self.llm_model.startswith("local:") or not (self.llm_base_url or self.llm_api_key)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)
        base_url = env.get("KB_LLM_BASE_URL") or None
        api_key = env.get("KB_LLM_API_KEY") or env.get("OPENAI_API_KEY") or None
        endpoint = bool(base_url or api_key)
        model = env.get("KB_LLM_MODEL") or ("gpt-4o-mini" if endpoint else DEFAULT_LOCAL_MODEL)
        values = dict(
            database_url=env.get("KB_DATABASE_URL") or cls.database_url,
            llm_base_url=base_url,
            llm_api_key=api_key,
            llm_model=model,
            llm_concurrency=int(env.get("KB_LLM_CONCURRENCY") or cls.llm_concurrency),
            processes=int(env["KB_PROCESSES"]) if env.get("KB_PROCESSES") else None,
            home=Path(env["KB_HOME"]) if env.get("KB_HOME") else cls.home,
            allow_private_urls=_flag(env.get("KB_ALLOW_PRIVATE_URLS")),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_database(self, db: str | None) -> "Settings":
        """`--db PATH` (a file) or a SQLAlchemy URL."""
        if not db:
            return self
        url = db if "://" in db else f"sqlite:///{Path(db).expanduser()}"
        return replace(self, database_url=url)
