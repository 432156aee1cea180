"""Experiment configuration: ``config/train/<exp>.yaml`` → a typed, checked dataclass.

Each experiment is defined once, at its real size (``config/train/<exp>.yaml``). Two kinds of file build on
another one instead of repeating it:

- ``base: <file>``: a variant, which sets the keys it changes (e.g. the bi-LSTM on source features).
- ``config/train/cpu/<exp>.yaml`` (``shrinks: ../<exp>.yaml``): the size overlay read when the study's size is
  ``cpu``. It may set only the keys that make a model smaller or a run shorter (:data:`SIZE_KEYS`); anything else
  is an error, so a CPU run is the real experiment made small and cannot drift from it.
- ``config/train/rehearsal/<exp>.yaml``: read after the CPU overlay at size ``rehearsal`` (the real study on its
  replicas, ``--config rehearse=true``), for the models whose CPU size does not fit two cores at the real data's
  size (:data:`SIZES`).

A model started from another run (``model.vocoder_from``, ``model.init_from``) takes that run's architecture from
the config saved in it (:func:`inherit_from_runs`). Unknown keys are errors (a typo like ``lerning_rate`` would
otherwise silently train with the default). The resolved config is saved into the run directory and every
checkpoint.
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
    channels: str = "intersection"  # or "eegpt", or "frontal" (the artefact control; data.channel_map)
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
    size: str = "full"  # "full" (the definition) or the size it was read at ("cpu", "rehearsal")
    model: dict[str, Any] = field(default_factory=dict)  # {"name": ..., **constructor arguments}
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    batch_size: int = 16  # global batch, split across ranks
    max_steps: int = 1000
    ckpt_every: int = 200
    val_every: int = 0  # validation loss on the split's val part every N steps (0 = off); best.pt keeps the best
    patience: int = 0  # stop after this many validations without improvement (0 = never early)
    val_windows: int = 0  # validate on this many of the val part's windows, a fixed seeded draw (0 = all of them)
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
                            ("val_windows", cfg.val_windows, cfg.val_windows >= 0),
                            ("optim.lr", cfg.optim.lr, cfg.optim.lr > 0),
                            ("optim.schedule", cfg.optim.schedule, cfg.optim.schedule in ("cosine", "constant"))):
        if not ok:
            raise InputError(source, f"{name} = {value!r} is out of range", "fix it in the experiment config")
    if cfg.patience and not cfg.val_every:
        raise InputError(source, f"patience {cfg.patience} needs validation", "set val_every to a number of steps")
    cfg.optim.betas = tuple(cfg.optim.betas)
    return cfg


# What a size overlay may change: architecture sizes, window and audio rate, batch, schedule length and the
# learning rate that goes with them (small models trained for a few hundred steps need a larger one).
SIZE_KEYS = frozenset({
    "model.layers", "model.channels", "model.cycle", "model.hidden", "model.embed_dim", "model.depth",
    "model.num_heads", "model.head_dim", "model.encoder_channels", "model.cond_dim", "model.eegpt.last_k",
    "model.temporal", "model.features",
    "data.window_s", "data.hop_s", "data.audio_rate", "data.num_workers",
    "batch_size", "max_steps", "ckpt_every", "val_every", "val_windows", "patience", "log_every",
    "optim.lr", "optim.warmup_steps",
})
# Each size and the overlay folders it reads, in order: the rehearsal is the CPU size with a few models smaller still.
SIZES = {"full": (), "cpu": ("cpu",), "rehearsal": ("cpu", "rehearsal")}
# What a model started from a mel vocoder's run takes from it (DiffWave's network), and what the joint model takes
# from model A's run (the encoder's architecture; how much of it trains stays the joint model's own choice).
VOCODER_KEYS = ("layers", "channels", "cycle", "kernel", "cond_dim", "audio_gain", "betas", "prior", "prior_floor")
ENCODER_OWN_KEYS = ("name", "weights", "finetune", "last_k", "layer_decay")


def leaves(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"layers": 6}}`` → ``{"model.layers": 6}``."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            out |= leaves(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Nested dicts merged key by key; ``top`` wins."""
    out = dict(base)
    for key, value in top.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise InputError(path, "experiment config does not exist", "see config/train/ for the experiments")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise InputError(path, "is not a mapping of keys", "see config/train/*.yaml")
    return values


def read_overlay(path: Path) -> dict[str, Any]:
    """A size overlay's keys, refused if any is not a size (:data:`SIZE_KEYS`)."""
    values = _yaml(path)
    target = values.pop("shrinks", None)
    if target != f"../{path.name}":
        raise InputError(path, f"shrinks: {target!r} is not the experiment this overlay sits for",
                         f"start the file with shrinks: ../{path.name}")
    changed = sorted(set(leaves(values)) - SIZE_KEYS)
    if changed:
        raise InputError(path, f"a size overlay changes {changed[0]}, which is not a size",
                         f"set it in ../{path.name} (the experiment's one definition); an overlay may set only "
                         "sizes, steps, batch and learning rate")
    return values


def overlays(path: Path, size: str) -> list[Path]:
    """The size overlays of ``path`` that exist, in the order :data:`SIZES` reads them."""
    if size not in SIZES:
        raise InputError(path, f"unknown size {size!r}", f"use one of {', '.join(SIZES)}")
    candidates = (path.parent / folder / path.name for folder in SIZES[size])
    return [overlay for overlay in candidates if overlay.exists()]


def read_values(path: Path, size: str = "full", seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's keys on top of its ``base:`` (a variant builds on an experiment, relative path), then the size
    overlays ``<folder>/<file name>`` beside it (:data:`SIZES`). A variant is shrunk by its base's overlays and
    its own, so the CPU size of a variant is never written twice."""
    if path.resolve() in seen:
        raise InputError(path, "builds on itself (a base: cycle)", "point base: at another file")
    values = _yaml(path)
    if "shrinks" in values:  # an overlay named directly: the experiment it shrinks, at that size
        return read_values(path.parent / values["shrinks"], path.parent.name, seen)
    parent = values.pop("base", None)
    if parent is not None:
        values = merge(read_values(path.parent / parent, size, (*seen, path.resolve())), values)
    for overlay in overlays(path, size):
        values = merge(values, read_overlay(overlay))
    return values


def config_files(path: Path, size: str = "full") -> list[Path]:
    """Every file :func:`read_values` reads for ``path`` at ``size`` (the workflow's inputs: editing one reruns)."""
    values = _yaml(path)
    if "shrinks" in values:
        return [*config_files(path.parent / values["shrinks"], path.parent.name)]
    files = config_files(path.parent / values["base"], size) if "base" in values else []
    return [*files, path, *overlays(path, size)]


def set_dotted(values: dict[str, Any], dotted: str, value: Any) -> None:
    node = values
    *parents, leaf = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def saved_config(run: Path, what: str, hint: str) -> dict[str, Any]:
    """The resolved config a training run saved in its directory."""
    path = (run.parent if run.suffix == ".pt" else run) / "config.yaml"
    if not path.exists():
        raise InputError(path, f"{what} has no saved config", hint)
    return yaml.safe_load(path.read_text())


def _take(values: dict[str, Any], key: str, value: Any, source: str, run: Path) -> None:
    """Set ``key`` from the run, or fail if the experiment sets it to something else (it would not load)."""
    mine = leaves(values).get(key, value)
    if mine != value:
        raise InputError(source, f"{key} = {mine!r}, but the run it starts from ({run}) has {value!r}",
                         f"leave {key} out: it is read from that run")
    set_dotted(values, key, value)


def inherit_from_runs(values: dict[str, Any], source: str) -> dict[str, Any]:
    """Fill the architecture of the runs a model starts from: DiffWave's network from ``vocoder_from``, model A's
    encoder from ``init_from`` (conditioning eegpt). Their run directories are the same fold's (the workflow's
    ``init:``), so a CPU overlay or a cluster size follows the run it starts from instead of repeating it."""
    model = values.get("model", {})
    if model.get("vocoder_from"):
        run = Path(model["vocoder_from"])
        saved = saved_config(run, "the vocoder's run", "train the vocoder first, or unset vocoder_from")
        for key in VOCODER_KEYS:
            if key in saved["model"]:
                _take(values, f"model.{key}", saved["model"][key], source, run)
        if saved["data"].get("audio_rate") is not None:
            _take(values, "data.audio_rate", saved["data"]["audio_rate"], source, run)
    if model.get("init_from") and model.get("conditioning") == "eegpt":
        run = Path(model["init_from"])
        saved = saved_config(run, "model A's run", "train model A first (stage 1), or unset init_from")
        for key, value in saved["model"].items():
            if key not in ENCODER_OWN_KEYS:
                _take(values, f"model.eegpt.{key}", value, source, run)
        for key in ("rate", "eeg_unit", "channels", "eeg_array"):
            _take(values, f"data.{key}", saved["data"][key], source, run)
    return values


def load_config(path: str | Path, overrides: dict[str, Any] | None = None, size: str = "full") -> TrainConfig:
    """Read at ``size`` ("full", "cpu" or "rehearsal": :data:`SIZES`), apply ``overrides`` (dotted keys,
    e.g. {"data.manifest": ...}), take the architecture of the runs it starts from, build and check."""
    path = Path(path)
    if "shrinks" in _yaml(path):  # an overlay named directly is read at its folder's size
        size = path.parent.name
    values = read_values(path, size) | {"size": size}
    for dotted, value in (overrides or {}).items():
        set_dotted(values, dotted, value)
    values = inherit_from_runs(values, str(path))
    return check(_build(TrainConfig, values, str(path)), str(path))


def from_dict(values: dict[str, Any], source: str = "checkpoint") -> TrainConfig:
    return check(_build(TrainConfig, values, source), source)
