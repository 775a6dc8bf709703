"""Shared test fixtures: an isolated environment, a fake model, a page server, a Prefect test harness.

Nothing here reaches beyond 127.0.0.1 or writes outside pytest's temporary directories.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Prefect reads its settings when imported: point its home at a throwaway folder and keep it offline first.
_PREFECT_HOME = tempfile.mkdtemp(prefix="kb-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ.pop("PREFECT_API_URL", None)

import pytest  # noqa: E402

from pipeline.settings import Settings  # noqa: E402
from tests.fakes.http_pages import PageServer  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.fakes.reader import reader  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "fixtures" / "pages"
SECRET_KEY = "sk-test-DO-NOT-LEAK-0123456789abcdef"
POSTGRES_URL = os.environ.get("KB_TEST_POSTGRES_URL")  # a scratch database: its public schema is dropped


@pytest.fixture(params=["sqlite", *(["postgresql"] if POSTGRES_URL else [])])
def blank_engine(request, tmp_path):
    """An empty database: a SQLite file in tmp, and the scratch PostgreSQL too when KB_TEST_POSTGRES_URL is set."""
    from db.engine import make_engine

    engine = make_engine(POSTGRES_URL if request.param == "postgresql" else f"sqlite:///{tmp_path / 'kb.sqlite'}")
    if request.param == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No real keys or endpoints leak in from the developer's shell; caches live in tmp."""
    for name in ("OPENAI_API_KEY", "KB_LLM_BASE_URL", "KB_LLM_API_KEY", "KB_LLM_MODEL", "KB_DATABASE_URL", "KB_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KB_HOME", os.environ.get("KB_TEST_MODEL_HOME") or str(tmp_path / "kb-home"))
    monkeypatch.setenv("KB_ALLOW_PRIVATE_URLS", "1")


@pytest.fixture
def fake_llm():
    """A fake OpenAI-compatible server answering chunk readings with simple, predictable rules."""
    with FakeOpenAI(reader) as fake:
        yield fake


@pytest.fixture
def llm_env(monkeypatch, fake_llm):
    """Point career-kb at the fake server through the environment, as a user would."""
    monkeypatch.setenv("KB_LLM_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("KB_LLM_API_KEY", SECRET_KEY)
    monkeypatch.setenv("KB_LLM_MODEL", "fake-model")
    return fake_llm


@pytest.fixture
def settings(llm_env, tmp_path) -> Settings:
    return Settings.from_env().with_database(str(tmp_path / "kb.sqlite"))


@pytest.fixture
def site():
    with PageServer(PAGES) as server:
        yield server


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session (starting one costs ~10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
