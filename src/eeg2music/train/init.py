"""Where a model starts from, applied after it is built: another run's trained weights and what stays frozen.

The workflow's ``init:`` passes the same fold's run directory of another experiment: ``vocoder_from`` (DiffWave on
EEG starts its diffusion network and bottleneck from the mel vocoder's run) and ``init_from`` (the joint model starts
model A from the stage-1 run). ``freeze_vocoder`` then keeps the loaded network fixed, so only the conditioner
trains. Reading runs from disk is the training layer's job; the models only take the state they are given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from eeg2music.errors import InputError


def run_weights(run: Path, what: str, hint: str) -> tuple[Path, dict[str, Any]]:
    """The weights file of a trained run (its directory, or a ``.pt`` file) and its model state, or a one-line
    error naming the file."""
    final = run if run.suffix == ".pt" else run / "final.pt"
    if not final.exists():
        raise InputError(final, f"{what} do not exist", hint)
    return final, torch.load(final, map_location="cpu", weights_only=False)["model"]


def apply_init(model: nn.Module, model_cfg: dict[str, Any], source: str) -> nn.Module:
    """Load the runs ``model_cfg`` starts from into ``model`` and freeze what it asks; before the optimiser is made
    (it takes only the parameters that still require gradients)."""
    if model_cfg.get("freeze_vocoder") and not model_cfg.get("vocoder_from"):
        raise InputError(source, "freeze_vocoder is set but vocoder_from is not (a random network would stay random)",
                         "start from a vocoder (config.yaml init: {vocoder_from: <experiment>}) or unset it")
    if model_cfg.get("vocoder_from"):
        final, state = run_weights(Path(model_cfg["vocoder_from"]), "the vocoder's weights",
                                   "train the vocoder first, or unset vocoder_from")
        model.load_vocoder(state, final)
    if model_cfg.get("init_from"):
        if getattr(model, "conditioning", None) != "eegpt":
            raise InputError(source, "init_from starts model A inside the vocoder (conditioning: eegpt)",
                             "unset init_from, or set model.conditioning: eegpt")
        final, state = run_weights(Path(model_cfg["init_from"]), "model A's weights",
                                   "train model A first (stage 1), or unset init_from")
        model.conditioner.load_model_a(state, final)
    if model_cfg.get("freeze_vocoder"):
        model.freeze_vocoder()
    return model
