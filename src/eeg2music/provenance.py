"""Provenance recorded in every store, run directory, predictions file, metrics.json and report page: the git SHA
and package versions of the code that made it."""

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


def stamp() -> dict[str, object]:
    """What made a result: {"git_sha": …, "packages": {…}}."""
    return {"git_sha": git_sha(), "packages": package_versions()}


def stamp_html(made_by: dict[str, object] | None = None) -> str:
    """A page footer naming the code that made it (``made_by`` from a result file, else this process)."""
    made_by = made_by or stamp()
    packages = ", ".join(f"{k} {v}" for k, v in made_by["packages"].items())
    return (f"<p class='provenance'>Made by eeg2music at git {made_by['git_sha']}; {packages}.</p>")
