"""Model name → class; the experiment config's ``model:`` block names one and gives its arguments."""

from __future__ import annotations

from typing import Any

from torch import nn

from eeg2music.errors import InputError


def _classes() -> dict[str, type[nn.Module]]:
    from eeg2music.models.bilstm import DalyBiLSTM

    return {"daly_bilstm": DalyBiLSTM}


def build(model_cfg: dict[str, Any], n_inputs: int, source: str = "experiment config") -> nn.Module:
    classes = _classes()
    name = model_cfg.get("name")
    if name not in classes:
        raise InputError(source, f"unknown model {name!r}", f"use one of {', '.join(classes)}")
    kwargs = {k: v for k, v in model_cfg.items() if k != "name"}
    try:
        return classes[name](n_inputs=n_inputs, **kwargs)
    except TypeError as err:
        raise InputError(source, f"bad model arguments for {name} ({err})", "check the model: block") from err
