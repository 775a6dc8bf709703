"""One settings object, read from the environment once and passed explicitly to every stage.

`Variables` says which variables are read and how they parse, `Environment` (pydantic-settings) reads them;
`Settings` is the frozen value the stages receive, with the tuning defaults no variable sets. Tests build a
`Settings` directly or `replace` it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.errors import SettingsError

DEFAULT_LOCAL_MODEL = "local:qwen-1.5b"
DEFAULT_ENDPOINT_MODEL = "gpt-4o-mini"


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
    review_examples: int = 0  # reviewed figures offered to the model per call as examples; 0: none (pipeline.examples)

    @property
    def uses_embedded_model(self) -> bool:
        return self.llm_model.startswith("local:") or not (self.llm_base_url or self.llm_api_key)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        """The settings the environment (or `env`, a mapping standing in for it) asks for; `overrides` win."""
        values = read_environment(env).model_dump(exclude_none=True)
        if not values.get("llm_model"):  # an endpoint without a model name gets a small hosted model
            endpoint = values.get("llm_base_url") or values.get("llm_api_key")
            values["llm_model"] = DEFAULT_ENDPOINT_MODEL if endpoint else DEFAULT_LOCAL_MODEL
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_database(self, db: str | None) -> Settings:
        """`--db PATH` (a file) or a SQLAlchemy URL."""
        if not db:
            return self
        url = db if "://" in db else f"sqlite:///{Path(db).expanduser()}"
        return replace(self, database_url=url)


class Variables(BaseModel):
    """The environment variables career-kb reads (README, Configuration), each under its own name; unset or
    empty means the default of `Settings`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    database_url: str | None = Field(None, validation_alias="KB_DATABASE_URL")
    llm_base_url: str | None = Field(None, validation_alias="KB_LLM_BASE_URL")
    llm_api_key: str | None = Field(None, validation_alias=AliasChoices("KB_LLM_API_KEY", "OPENAI_API_KEY"), repr=False)
    llm_model: str | None = Field(None, validation_alias="KB_LLM_MODEL")
    llm_concurrency: int | None = Field(None, validation_alias="KB_LLM_CONCURRENCY", ge=1)
    processes: int | None = Field(None, validation_alias="KB_PROCESSES", ge=1)
    home: Path | None = Field(None, validation_alias="KB_HOME")
    allow_private_urls: bool | None = Field(None, validation_alias="KB_ALLOW_PRIVATE_URLS")
    review_examples: int | None = Field(None, validation_alias="KB_REVIEW_EXAMPLES", ge=0, le=10)


class Environment(Variables, BaseSettings):
    """`Variables` read from the process environment by pydantic-settings."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore", frozen=True)


def read_environment(env: dict[str, str] | None = None) -> Variables:
    """Parse the process environment (or `env`); a value that does not parse is a SettingsError naming it."""
    try:
        if env is None:
            return Environment()
        return Variables.model_validate({name: value for name, value in env.items() if value})  # `env` alone
    except ValidationError as exc:
        problems = "; ".join(f"{error['loc'][0]}: {error['msg']} (got {error['input']!r})" for error in exc.errors())
        raise SettingsError(f"bad environment variable: {problems}") from None


def environment_variables() -> list[str]:
    """Every variable read, in the order of the fields: what the README's Configuration table must list."""
    names = []
    for info in Variables.model_fields.values():
        alias = info.validation_alias
        names += alias.choices if isinstance(alias, AliasChoices) else [alias]
    return names
