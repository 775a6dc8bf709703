"""Layers with no way back: the import-linter contracts in pyproject.toml hold, and they leave no module out.

The contracts: commands (CLI, report, eval, search, export, console) above flows, flows above the stages, stages
above db, db above schemas, errors and settings at the bottom; schemas import no settings; no import cycle between
sibling modules, imports inside functions included.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import ROOT

CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CONFIG['contracts'])} kept, 0 broken" in result.stdout


def test_every_module_of_pipeline_is_in_a_layer():
    (layers,) = [contract["layers"] for contract in CONFIG["contracts"] if contract["type"] == "layers"]
    layered = {module.strip() for layer in layers for module in layer.replace("|", ":").split(":")}
    modules = {f"pipeline.{path.stem}" for path in (ROOT / "pipeline").glob("*.py") if path.stem != "__init__"}
    assert modules - layered == set(), "put each new module of pipeline/ in a layer of pyproject.toml's contract"
    assert {"flows", "db", "schemas"} <= layered
