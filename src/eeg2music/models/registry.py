"""Model name → class; the experiment config's ``model:`` block names one and gives its arguments.

Models that need the data's rates and mel size (``needs_data_info``) get them from the dataset, not the config,
so the two cannot disagree.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from eeg2music.errors import InputError


def _classes() -> dict[str, type[nn.Module]]:
    from eeg2music.models.bilstm import DalyBiLSTM
    from eeg2music.models.diffwave.decoder import DiffWaveDecoder
    from eeg2music.models.foundation.model import EEGPTDecoder
    from eeg2music.models.small_cnn import SmallCNN
    from eeg2music.models.song_classifier import SongCNN
    from eeg2music.models.unet1d import UNetControl

    return {"daly_bilstm": DalyBiLSTM, "diffwave": DiffWaveDecoder, "unet_control": UNetControl,
            "eegpt": EEGPTDecoder, "small_cnn": SmallCNN, "song_cnn": SongCNN}


# Keys of a model config that are not constructor arguments: where training starts from (applied after the model is
# built, by ``train.init``) and what it keeps frozen.
INIT_KEYS = ("init_from", "vocoder_from", "freeze_vocoder")
AUTO_GAIN_RMS = 0.5  # ``audio_gain: auto`` scales the training audio to this RMS (half the diffusion noise's)


def target_of(model_cfg: dict[str, Any]) -> str:
    """What the named model outputs: "envelope", "mel", "audio" or "song" (a song classifier's logits; EEGPT's
    is chosen by its ``target:``)."""
    name = model_cfg.get("name")
    if name not in _classes():
        raise InputError(None, f"unknown model {name!r}", f"use one of {', '.join(_classes())}")
    if name == "eegpt":
        return model_cfg.get("target", "mel")
    return model_cfg.get("target", _classes()[name].target)  # a model with several targets takes it from its config


def trainable_groups(model: nn.Module, lr: float) -> list:
    """What the optimiser updates: the model's own groups when it has fine-tuning schemes (EEGPT: frozen parts
    left out, layer-wise decayed learning rates), else every parameter that requires a gradient."""
    if hasattr(model, "param_groups"):
        return model.param_groups(lr)
    return [p for p in model.parameters() if p.requires_grad]


def build(model_cfg: dict[str, Any], n_inputs: int, data_info: dict[str, Any] | None = None,
          source: str = "experiment config", trained: bool = False) -> nn.Module:
    """``trained``: the caller loads a trained run's weights next, so pretrained ones (EEGPT's ``weights``) are not
    read. ``source``: the file holding ``model_cfg``, named by any bad-argument error a model raises without a file
    of its own."""
    classes = _classes()
    name = model_cfg.get("name")
    if name not in classes:
        raise InputError(source, f"unknown model {name!r}", f"use one of {', '.join(classes)}")
    skip = ("name", *INIT_KEYS, *(("weights",) if trained else ()))
    kwargs = {k: v for k, v in model_cfg.items() if k not in skip}
    if kwargs.get("audio_gain") == "auto":  # a trained run's gain is in its weights (a buffer)
        rms = 1.0 if trained else (data_info or {}).get("audio_rms")
        if not rms:
            raise InputError(source, "audio_gain: auto needs the training audio's RMS",
                             "build the model from a dataset with an audio target, or give a number")
        kwargs["audio_gain"] = 1.0 if trained else AUTO_GAIN_RMS / rms
    if getattr(classes[name], "needs_data_info", False):
        if data_info is None:
            raise InputError(source, f"model {name} needs the data's rates", "build it from a dataset")
        kwargs |= {"rates": data_info["rates"], "n_mels": data_info["n_mels"]}
        if name == "eegpt":  # the encoder maps channels by name and checks the unit it was pretrained on
            kwargs |= {"channels": data_info["channels"], "eeg_unit": data_info["eeg_unit"]}
        elif model_cfg.get("conditioning") == "eegpt":  # model A inside the vocoder (joint fine-tuning)
            kwargs |= {"channel_names": data_info["channels"], "eeg_unit": data_info["eeg_unit"]}
    if getattr(classes[name], "needs_songs", False):  # a classifier's classes are the split's songs
        kwargs["songs"] = data_info["songs"]
    try:
        return classes[name](n_inputs=n_inputs, **kwargs)
    except InputError as err:
        if err.path is None:  # a model checks its arguments but does not know which file they came from
            raise InputError(source, err.problem, err.fix) from err
        raise
    except TypeError as err:
        raise InputError(source, f"bad model arguments for {name} ({err})", "check the model: block") from err
