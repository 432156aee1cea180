"""The package's layers and the absence of import cycles, as pyproject.toml's import-linter contracts state them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..conftest import REPO


def lint_imports(src: Path = REPO / "src") -> subprocess.CompletedProcess:
    """import-linter on the package found in ``src`` (first on the path), with the repository's contracts."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([exe, "--config", str(REPO / "pyproject.toml"), "--no-cache"], cwd=src, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_layer_contracts_hold():
    proc = lint_imports()
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "pipeline layers KEPT" in proc.stdout and "no import cycles KEPT" in proc.stdout


def test_an_import_against_the_layers_breaks_the_contract(tmp_path):
    """The contract is not vacuous: a models module importing the training layer is reported by name (checked on a
    copy of the package)."""
    shutil.copytree(REPO / "src/eeg2music", tmp_path / "eeg2music", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "eeg2music/models/_layer_probe.py").write_text("from eeg2music.train import engine  # noqa: F401\n")
    proc = lint_imports(tmp_path)
    assert proc.returncode != 0
    assert "eeg2music.models is not allowed to import eeg2music.train" in proc.stdout
    assert "eeg2music.models._layer_probe -> eeg2music.train.engine" in proc.stdout
