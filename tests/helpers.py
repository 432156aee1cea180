"""Helpers for tests that run the real CLIs and damage real files."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import mne
import numpy as np

from .conftest import PRE_ARGS, REPO


def preprocess_cmd(root: Path, kind: str, subject: str, out: Path, trial_s: float = 8.0) -> list[str]:
    return [sys.executable, "-m", "eeg2music.preprocess", "--kind", kind, "--dataset", f"t-{kind}", "--root",
            str(root), "--subject", subject, "--out", str(out), "--trial-s", str(trial_s), *PRE_ARGS]


def run_preprocess(root: Path, kind: str, subject: str, out: Path, trial_s: float = 8.0):
    return subprocess.run(preprocess_cmd(root, kind, subject, out, trial_s), capture_output=True, text=True,
                          timeout=300)


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The single `error:` line a failing CLI must print (asserts there is exactly one)."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def rewrite_edf(edf: Path, change) -> None:
    """Read an EDF, let ``change(data, ch_names)`` edit it in place, and write it back as EDF."""
    raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
    data = raw.get_data()
    change(data, raw.ch_names)
    out = mne.io.RawArray(data, mne.create_info(raw.ch_names, raw.info["sfreq"], "eeg"), verbose="error")
    mne.export.export_raw(str(edf), out, fmt="edf", overwrite=True, verbose="error")


def zero_channel(name: str):
    def change(data: np.ndarray, names: list[str]) -> None:
        data[names.index(name)] = 0.0

    return change


@contextlib.contextmanager
def small_filesystem(path: Path, size_mb: int):
    """A tmpfs of ``size_mb`` MiB mounted at ``path`` (tests run as root, as CI does)."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); CI runs as root and can")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_up(folder: Path, leave_bytes: int = 64 * 1024) -> None:
    """Fill the filesystem holding ``folder`` until about ``leave_bytes`` are free."""
    import shutil

    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave_bytes))


def quick_start_config(repo: Path) -> dict:
    """What the Quick start runs: config/config.yaml with the synthetic study's overrides on top, without the
    experiments the study leaves out."""
    import yaml

    from eeg2music.config import drop_switched_off
    from eeg2music.train.config import merge

    defaults = yaml.safe_load((repo / "config/config.yaml").read_text())
    cfg = drop_switched_off(merge(defaults, yaml.safe_load((repo / "config/studies/synthetic.yaml").read_text())))
    cfg.pop("leave_out")
    return cfg


def write_config(work: Path, cfg: dict) -> None:
    """A whole config as ``work/config/config.yaml``, with a study file that overrides nothing (results go to
    ``work/results/<study>/``)."""
    import yaml

    (work / "config/studies").mkdir(parents=True, exist_ok=True)
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    (work / "config/studies" / f"{cfg['study']}.yaml").write_text(yaml.safe_dump({"study": cfg["study"]}))


def train_steps(model, batch, steps: int, lr: float = 3e-3) -> None:
    """``steps`` Adam steps of ``model`` on fresh batches from ``batch()``: the small models' learning tests."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = model(batch())
        opt.zero_grad()
        loss.backward()
        opt.step()


SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def smk(*args: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run Snakemake with this interpreter's environment first on PATH (rules call `python -m eeg2music…`)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([*SNAKEMAKE, "-s", str(REPO / "Snakefile"), *args], cwd=cwd or REPO, capture_output=True,
                          text=True, timeout=timeout, env=env)
