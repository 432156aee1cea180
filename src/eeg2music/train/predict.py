"""Decode every trial of a split part with a trained model: ``final.pt`` → ``predictions.npz``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from eeg2music.data.splits import Manifest
from eeg2music.data.windows import WindowDataset
from eeg2music.errors import InputError, one_line_errors
from eeg2music.evaluate.predictions import Predictions
from eeg2music.models import registry
from eeg2music.train.config import from_dict
from eeg2music.train.engine import window_config


def predict(run_dir: Path, out: Path, part: str = "test", manifest: Path | None = None) -> Path:
    final = run_dir / "final.pt"
    if not final.exists():
        raise InputError(final, "no final weights", "train the model first (or resume its run)")
    state = torch.load(final, map_location="cpu", weights_only=False)
    cfg = from_dict(state["config"], str(final))
    m = Manifest.load(manifest or Path(cfg.data.manifest))
    data = WindowDataset(m, part, window_config(cfg, whole_trial=True))
    model = registry.build(cfg.model, n_inputs=len(data.channel_map.names))
    model.load_state_dict(state["model"])
    model.eval()
    pred, true, meta = [], [], []
    with torch.no_grad():
        for i in range(len(data)):
            item = data[i]
            pred.append(model.predict(item["eeg"][None])[0].numpy())
            true.append(item[model.target].numpy())
            meta.append(dict(item["meta"]))
    rate = data.stores[data.entries[0].store].envelope_rate if model.target == "envelope" else cfg.data.rate
    return Predictions(pred, true, meta, rate, model.target).save(out)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.train.predict", description=__doc__)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--part", default="test", choices=("train", "val", "test"))
    p.add_argument("--manifest", type=Path, help="default: the one the model was trained on")
    a = p.parse_args(argv)
    predict(a.run_dir, a.out, a.part, a.manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
