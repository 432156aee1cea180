"""Dataset registry: id → what the set contains and which reader reads it.

Adding another set (NMED-H, MUSIN-G = OpenNeuro ds003774, OpenMIIR) is one new reader file plus one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eeg2music.errors import InputError


@dataclass(frozen=True)
class DatasetSpec:
    id: str
    title: str
    source: str  # "openneuro" (eeg2music fetch can download it) or "manual"
    has_audio: bool
    has_clip_ids: bool
    trial_s: float  # music trial length
    task_pattern: str | None  # which BIDS tasks are music runs
    make_reader: Callable[..., Any]


def _bcmi(kind: str) -> Callable[..., Any]:
    def make(dataset: str, root: Path, trial_s: float, task_pattern: str | None, **_: Any):
        from eeg2music.io.bcmi import BcmiReader

        return BcmiReader(kind, dataset, root, trial_s, task_pattern)

    return make


def _nmed(dataset: str, root: Path, audio_dir: Path | None = None, **_: Any):
    from eeg2music.io.nmed import NmedReader

    return NmedReader(dataset, root, audio_dir)


DATASETS: dict[str, DatasetSpec] = {s.id: s for s in (
    DatasetSpec("ds002725", "BCMI joint EEG-fMRI, generated music (Daly's main set)", "openneuro", True, True, 40.0,
                r"genMusic\d+", _bcmi("ds002725")),
    DatasetSpec("ds002722", "BCMI calibration (Daly's EEG-only set)", "openneuro", True, True, 20.0, r"run\d+",
                _bcmi("ds002722")),
    DatasetSpec("ds002724", "BCMI training sessions (clip ambiguous)", "openneuro", True, False, 40.0, r"run\d+",
                _bcmi("ds002724")),
    DatasetSpec("ds002721", "BCMI film-music listening (audio not distributed)", "openneuro", False, False, 12.0,
                r"run[2-5]", _bcmi("ds002721")),  # runs 1 and 6 are rest; 12-s clips (README)
    DatasetSpec("ds002723", "BCMI online testing (audio not distributed)", "openneuro", False, False, 60.0, r"run\d+",
                _bcmi("ds002723")),
    DatasetSpec("nmed-t", "NMED-T naturalistic music, 125-ch EGI at 125 Hz (audio supplied by the user)", "manual",
                True, True, 0.0, None, _nmed),
)}


def get_dataset(kind: str) -> DatasetSpec:
    if kind not in DATASETS:
        raise InputError(None, f"unknown dataset id {kind!r}", f"use one of: {', '.join(DATASETS)}")
    return DATASETS[kind]


def make_reader(kind: str, name: str, root: Path, trial_s: float | None = None, audio_dir: Path | None = None):
    """The reader for dataset ``kind`` stored at ``root`` and called ``name`` in result paths."""
    spec = get_dataset(kind)
    root = Path(root)
    if not root.exists():
        raise InputError(root, f"dataset root of {name} does not exist",
                         f"run `eeg2music fetch {kind}` or fix datasets.{name}.root in config/config.yaml")
    return spec.make_reader(dataset=name, root=root, trial_s=trial_s or spec.trial_s, task_pattern=spec.task_pattern,
                            audio_dir=audio_dir)
