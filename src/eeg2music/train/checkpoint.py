"""Atomic checkpoints and resume from the newest complete one.

A checkpoint is written to ``ckpt-<step>.pt.tmp`` and renamed, so a job killed mid-write leaves no file that looks
complete. On resume, files that fail to load (corrupt, truncated) are skipped with a warning in favour of the
previous one. A checkpoint from another model configuration is refused with the differing keys named.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import torch

from eeg2music.errors import InputError, write_failure

log = logging.getLogger("eeg2music.train")
NAME = re.compile(r"ckpt-(\d{8})\.pt")


def atomic_save(obj: Any, path: Path) -> Path:
    """``torch.save`` to ``<path>.tmp``, fsync, rename: after a kill or a power loss ``path`` is whole or absent.
    A refused write removes the temporary and is one line naming ``path`` (the previous checkpoint stays)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
    except (OSError, RuntimeError) as err:  # torch's zip writer reports a failed write as RuntimeError
        written = tmp.stat().st_size if tmp.exists() else 0
        tmp.unlink(missing_ok=True)
        raise write_failure(path, err, written) from err
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself
    finally:
        os.close(dir_fd)
    return path


def save(run_dir: Path, step: int, state: dict[str, Any], keep: int = 3) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = atomic_save({**state, "complete": True}, run_dir / f"ckpt-{step:08d}.pt")
    for old in sorted(p for p in run_dir.glob("ckpt-*.pt") if NAME.fullmatch(p.name))[:-keep]:
        old.unlink()
    return path


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _diff(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [f"{prefix.rstrip('.')} ({a!r} → {b!r})"]


def load_latest(run_dir: Path, model_cfg: dict[str, Any]) -> dict[str, Any] | None:
    """The newest complete checkpoint whose model config matches ``model_cfg`` (None if there is none).

    Temporaries of writes that a kill interrupted are removed first: they are never complete.
    """
    for stale in run_dir.glob("*.pt.tmp"):
        stale.unlink(missing_ok=True)
    for path in sorted((p for p in run_dir.glob("ckpt-*.pt") if NAME.fullmatch(p.name)), reverse=True):
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
            if not state.get("complete"):
                raise ValueError("not marked complete")
        except Exception as err:  # any unreadable file is skipped, whatever the reason
            log.warning("%s: unreadable checkpoint (%s); falling back to the previous one", path,
                        str(err).splitlines()[0][:120])
            continue
        differing = _diff(state["config"]["model"], model_cfg)
        if differing:
            raise InputError(path, f"checkpoint is from a different model config: {', '.join(differing)}",
                             "use a fresh run directory, or restore the original model settings")
        return state
    return None
