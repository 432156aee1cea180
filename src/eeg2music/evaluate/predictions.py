"""Decoded test trials, in one file format for every model (trained or closed-form).

``predictions.npz`` holds ``pred_<i>`` and ``true_<i>`` (float32, one trial each, same length) and ``meta``: a JSON
list with dataset, subject, run, trial, clip and the rate of the signals.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eeg2music.errors import InputError


@dataclass
class Predictions:
    pred: list[np.ndarray]
    true: list[np.ndarray]
    meta: list[dict[str, Any]]
    rate: float
    target: str

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"pred_{i}": p.astype(np.float32) for i, p in enumerate(self.pred)}
        arrays |= {f"true_{i}": t.astype(np.float32) for i, t in enumerate(self.true)}
        header = json.dumps({"meta": self.meta, "rate": self.rate, "target": self.target})
        tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.npz")
        np.savez(tmp, header=np.array(header), **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> Predictions:
        if not Path(path).exists():
            raise InputError(path, "predictions file does not exist", "run the model's predict step first")
        with np.load(path) as f:
            header = json.loads(str(f["header"]))
            n = len(header["meta"])
            return cls([f[f"pred_{i}"] for i in range(n)], [f[f"true_{i}"] for i in range(n)], header["meta"],
                       header["rate"], header["target"])

    def subjects(self) -> list[str]:
        return [f"{m['dataset']}/sub-{m['subject']}" for m in self.meta]
