"""Shared set-up of the training benchmarks: a small preprocessed synthetic study, a split and an experiment file."""

from __future__ import annotations

from pathlib import Path

from eeg2music.data.splits import make_split
from eeg2music.data.stores import StoreInfo
from eeg2music.preprocess.eeg import EegConfig
from eeg2music.preprocess.subject import PreprocessConfig, run_subject
from eeg2music.synth.study import SynthConfig, write_study

PRE = PreprocessConfig(EegConfig(0.5, 40.0, 50.0, (100,), 5.0, 0.1, 0.25), 16000, 100, 100, 40, 0.5)


PAPER_BILSTM = """
experiment: {name}
model: {{name: daly_bilstm, hidden: 250, layers: 4}}
data: {{window_s: 4.0, hop_s: 1.0, rate: 100, targets: [envelope]}}
optim: {{lr: 0.001, warmup_steps: 5}}
batch_size: 16
ckpt_every: {ckpt_every}
log_every: 10
"""


def training_study(tmp: Path, name: str, ckpt_every: int) -> tuple[Path, Path]:
    """2 subjects × 3 runs × 4 trials × 20 s (ds002722 layout) → (config of Daly's paper-size bi-LSTM, cv-by-run
    manifest)."""
    root = write_study(SynthConfig(out=tmp / "bids", styles=("ds002722",), n_subjects=2, n_runs=3, n_trials=4))[0]
    stores = [run_subject(kind="ds002722", dataset="b", root=root, subject=f"{s:02d}", out=tmp / f"{s}.zarr",
                          cfg=PRE, trial_s=20.0) for s in (1, 2)]
    manifest = make_split([StoreInfo.read(s) for s in stores], "cv-by-run").save(tmp / "m.json")
    config = tmp / "exp.yaml"
    config.write_text(PAPER_BILSTM.format(name=name, ckpt_every=ckpt_every))
    return config, manifest
