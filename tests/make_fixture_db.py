"""Make a fixture database the way a user would: `kb ingest` of fixtures/pages with the fake model, one watched source.

The migration tests upgrade these files, so every schema career-kb ever shipped stays upgradable. Run it from the
commit whose schema you want to keep (it uses only the CLI and the fake model server, which every commit has):

    python3 -m uv run python tests/make_fixture_db.py fixtures/db/kb-COMMIT.sqlite
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(
    PREFECT_HOME=tempfile.mkdtemp(prefix="kb-prefect-"),
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
    PREFECT_LOGGING_LEVEL="WARNING",
    KB_ALLOW_PRIVATE_URLS="1",
    KB_LLM_MODEL="fake-model",
    KB_LLM_API_KEY="sk-fixture",
    KB_PROCESSES="1",
)

from click.testing import CliRunner  # noqa: E402

from pipeline.cli import main  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.fakes.reader import reader  # noqa: E402


def make(out: Path) -> None:
    """Ingest the demo pages into a new SQLite file at `out`, watch one URL, and leave the file small."""
    out = out.resolve()
    if out.exists():
        raise SystemExit(f"{out} exists: remove it first")
    work = Path(tempfile.mkdtemp(prefix="kb-fixture-")) / "kb.sqlite"
    os.chdir(ROOT)  # sources are stored as given: relative paths, the same on every machine
    runner = CliRunner()
    with FakeOpenAI(reader) as fake:
        os.environ["KB_LLM_BASE_URL"] = fake.base_url
        ingest = runner.invoke(main, ["ingest", "fixtures/pages", "--db", str(work), "--quiet"])
    print(ingest.output)
    watch = runner.invoke(
        main, ["sources", "add", "https://example.org/ai-salaries", "--every", "1d", "--db", str(work)]
    )
    if watch.exit_code:
        raise SystemExit(f"kb sources add failed: {watch.output}")
    # One compact file with the WAL folded in (VACUUM INTO writes a rollback-journal database).
    sqlite3.connect(work).execute("VACUUM INTO ?", (str(out),))


if __name__ == "__main__":
    make(Path(sys.argv[1]))
