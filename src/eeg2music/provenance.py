"""Provenance recorded in every store and run directory: git SHA and package versions."""

from __future__ import annotations

import importlib.metadata
import subprocess
from pathlib import Path

TRACKED_PACKAGES = ("eeg2music", "mne", "mne-bids", "numpy", "scipy", "zarr", "torch", "torchaudio", "edfio")


def git_sha(repo: Path | None = None) -> str:
    """The commit of the code that produced a result ("unknown" outside a git checkout)."""
    cwd = repo or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = out.stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                           capture_output=True, text=True, timeout=10)
    return sha + ("-dirty" if dirty.stdout.strip() else "")


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
