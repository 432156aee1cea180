"""Experiment configuration: ``config/train/<exp>.yaml`` → a typed, checked dataclass.

Unknown keys are errors (a typo like ``lerning_rate`` would otherwise silently train with the default). The
resolved config is saved into the run directory and into every checkpoint.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eeg2music.errors import InputError


@dataclass
class DataConfig:
    manifest: str = ""  # split manifest (results/splits/<protocol>/fold-<k>.json)
    window_s: float = 4.0
    hop_s: float | None = None
    rate: int = 100  # EEG rate read from the stores
    channels: str = "intersection"  # or "eegpt"
    targets: list[str] = field(default_factory=lambda: ["envelope"])
    random_offset: bool = True
    eeg_unit: str = "uV"
    eeg_array: str = "eeg"  # or "sources" (Daly's ICA → eLORETA features)
    audio_rate: int | None = None  # waveform target rate for vocoders (default: the stores' rate)
    num_workers: int = 0
    allow_leak: bool = False  # train even if the split shares trials between train and test


@dataclass
class OptimConfig:
    lr: float = 1e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 50
    schedule: str = "cosine"  # or "constant"
    grad_clip: float = 1.0


@dataclass
class TrainConfig:
    experiment: str = ""
    model: dict[str, Any] = field(default_factory=dict)  # {"name": ..., **constructor arguments}
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    batch_size: int = 16  # global batch, split across ranks
    max_steps: int = 1000
    ckpt_every: int = 200
    val_every: int = 0  # validation loss on the split's val part every N steps (0 = off); best.pt keeps the best
    patience: int = 0  # stop after this many validations without improvement (0 = never early)
    log_every: int = 10
    keep_checkpoints: int = 3
    seed: int = 0
    deterministic: bool = False  # torch.use_deterministic_algorithms (bit-identical resume on CPU)
    run_dir: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls, values: dict[str, Any], source: str, prefix: str = ""):
    if not isinstance(values, dict):
        raise InputError(source, f"{prefix.rstrip('.') or 'config'} must be a mapping", "see config/train/*.yaml")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise InputError(source, f"unknown key {prefix}{unknown[0]}",
                         f"valid keys under {prefix.rstrip('.') or 'the top level'}: {', '.join(fields)}")
    kwargs = {}
    for name, value in values.items():
        sub = {"data": DataConfig, "optim": OptimConfig}.get(name) if cls is TrainConfig else None
        kwargs[name] = _build(sub, value, source, f"{prefix}{name}.") if sub else value
    try:
        obj = cls(**kwargs)
    except TypeError as err:
        raise InputError(source, f"bad value under {prefix or 'the top level'} ({err})", "check the types") from err
    return obj


def check(cfg: TrainConfig, source: str) -> TrainConfig:
    if not cfg.experiment:
        raise InputError(source, "experiment is empty", "name the experiment")
    if "name" not in cfg.model:
        raise InputError(source, "model.name is missing", "name a model (see eeg2music.models.registry)")
    for name, value, ok in (("batch_size", cfg.batch_size, cfg.batch_size > 0),
                            ("max_steps", cfg.max_steps, cfg.max_steps > 0),
                            ("ckpt_every", cfg.ckpt_every, cfg.ckpt_every > 0),
                            ("val_every", cfg.val_every, cfg.val_every >= 0),
                            ("patience", cfg.patience, cfg.patience >= 0),
                            ("optim.lr", cfg.optim.lr, cfg.optim.lr > 0),
                            ("optim.schedule", cfg.optim.schedule, cfg.optim.schedule in ("cosine", "constant"))):
        if not ok:
            raise InputError(source, f"{name} = {value!r} is out of range", "fix it in the experiment config")
    if cfg.patience and not cfg.val_every:
        raise InputError(source, f"patience {cfg.patience} needs validation", "set val_every to a number of steps")
    cfg.optim.betas = tuple(cfg.optim.betas)
    return cfg


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read, apply ``overrides`` (dotted keys, e.g. {"data.manifest": ...}), build and check."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "experiment config does not exist", "see config/train/ for the experiments")
    values = yaml.safe_load(path.read_text()) or {}
    for dotted, value in (overrides or {}).items():
        node = values
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return check(_build(TrainConfig, values, str(path)), str(path))


def from_dict(values: dict[str, Any], source: str = "checkpoint") -> TrainConfig:
    return check(_build(TrainConfig, values, source), source)
