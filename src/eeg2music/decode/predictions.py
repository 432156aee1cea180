"""Decoded test trials, in one file format for every model (trained or closed-form).

``predictions.npz`` holds ``pred_<i>`` and ``true_<i>`` (float32, one trial each) and a JSON header with the meta
(dataset, subject, run, trial, clip per trial), the rate and the target. ``pred_<i>`` is (T,) for deterministic
models or (K, T) for K samples of a generative one. Models that produce a log-mel also store ``mel_pred_<i>``
((n_mels, F) or (K, n_mels, F)) and ``mel_true_<i>`` at ``mel_rate``, as float16 (read back as float32): 80 bands at
100 Hz are 115 MB per test hour in float32, and the bcmi study decodes 17.6 h of test music into more than 20 of
them (README, "Rehearse the real study"). A natural-log mel power lies between ln(1e-5) ≈ −11.5 and about +10,
where float16 keeps it to within 0.004 (0.02 dB). Each array is deflated at zlib's fastest level (a file NumPy's
``np.load`` reads as any ``.npz``): the rehearsal's float16 log-mels shrink to 0.3–0.5 of their size at about
100 MB/s, where ``np.savez_compressed``'s default level is several times slower for a few points more. A song
classifier (target ``song``) stores its logits per frame, (n_songs, T), the songs named in the header
(``classes``), and the amplitude as ``true_<i>``.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eeg2music.errors import InputError
from eeg2music.provenance import stamp


def write_npz(path: Path, arrays: dict[str, np.ndarray], level: int = 1) -> None:
    """``np.savez_compressed`` at zlib level ``level``: one deflated ``<name>.npy`` entry per array."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(array), allow_pickle=False)


def trial_key(meta: dict) -> tuple:
    """What identifies a decoded trial across models and training shares: dataset, subject, run, trial."""
    return (meta.get("dataset"), meta.get("subject"), meta.get("run"), meta.get("trial"))


@dataclass
class Predictions:
    pred: list[np.ndarray]
    true: list[np.ndarray]
    meta: list[dict[str, Any]]
    rate: float
    target: str
    mel_pred: list[np.ndarray] | None = None
    mel_true: list[np.ndarray] | None = None
    mel_rate: float | None = None
    classes: list[str] | None = None  # a song classifier's songs, in the order of its logits

    @property
    def _trial_ndim(self) -> int:
        """Axes of one deterministic trial's prediction: time, and the songs for a classifier."""
        return 2 if self.target == "song" else 1

    @property
    def n_samples(self) -> int:
        """K for generative models (K samples per trial), 1 for deterministic ones."""
        return int(self.pred[0].shape[0]) if self.pred[0].ndim > self._trial_ndim else 1

    def sample(self, k: int) -> Predictions:
        """The k-th sample of every trial as a deterministic set (k = 0 for deterministic models)."""
        if self.pred[0].ndim == self._trial_ndim:
            return self
        mel = [m[k] for m in self.mel_pred] if self.mel_pred is not None else None
        return Predictions([p[k] for p in self.pred], self.true, self.meta, self.rate, self.target, mel,
                           self.mel_true, self.mel_rate, self.classes)

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"pred_{i}": p.astype(np.float32) for i, p in enumerate(self.pred)}
        arrays |= {f"true_{i}": t.astype(np.float32) for i, t in enumerate(self.true)}
        if self.mel_pred is not None:
            arrays |= {f"mel_pred_{i}": m.astype(np.float16) for i, m in enumerate(self.mel_pred)}
            arrays |= {f"mel_true_{i}": m.astype(np.float16) for i, m in enumerate(self.mel_true)}
        header = json.dumps({"meta": self.meta, "rate": self.rate, "target": self.target,
                             "mel_rate": self.mel_rate, "has_mel": self.mel_pred is not None,
                             "classes": self.classes, "provenance": stamp()})
        tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.npz")
        write_npz(tmp, {"header": np.array(header), **arrays})
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> Predictions:
        if not Path(path).exists():
            raise InputError(path, "predictions file does not exist", "run the model's predict step first")
        with np.load(path) as f:
            header = json.loads(str(f["header"]))
            n = len(header["meta"])
            mel = header.get("has_mel", False)
            return cls([f[f"pred_{i}"] for i in range(n)], [f[f"true_{i}"] for i in range(n)], header["meta"],
                       header["rate"], header["target"],
                       [f[f"mel_pred_{i}"].astype(np.float32) for i in range(n)] if mel else None,
                       [f[f"mel_true_{i}"].astype(np.float32) for i in range(n)] if mel else None,
                       header.get("mel_rate"),
                       header.get("classes"))

    def subjects(self) -> list[str]:
        return [f"{m['dataset']}/sub-{m['subject']}" for m in self.meta]
