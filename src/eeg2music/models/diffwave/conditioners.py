"""What the vocoder is conditioned on, behind one interface: ``cond = conditioner(batch)``, (B, features, frames)
at ``conditioner.rate`` frames per second.

1. ``mel``: the log-mel of the true audio (the vocoder sanity check; needs only music).
2. ``eeg``: the EEG window through a small convolutional encoder (the seed's basic model on 0.1–1 s chunks). The
   encoder's output has one feature per mel band; with ``aux_weight`` > 0 it is also trained to predict the
   normalised log-mel, so the diffusion model sees a mel-like signal early in training.
3. ``tensor``: any precomputed tensor in the batch with a stated frame rate (model A's EEGPT tokens, 4 Hz × 2048).
4. ``eegpt``: model A itself inside B: its tokens are computed from the batch's EEG, so the diffusion loss fine-tunes
   A and B together (stage 4 of the plan), starting from A's trained run (loaded by ``train.init``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from eeg2music.errors import InputError
from eeg2music.models.mel import normalise_mel
from eeg2music.models.standardise import EEGStandardiser

MODES = ("mel", "eeg", "tensor", "eegpt", "none")


class MelConditioner(nn.Module):
    def __init__(self, n_mels: int, rate: float) -> None:
        super().__init__()
        self.features, self.rate = n_mels, rate

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return normalise_mel(batch["mel"].float())


class EEGEncoder(nn.Module):
    """(B, channels, T) EEG → (B, n_mels, T) mel-like features at the EEG rate; non-causal, receptive field
    ±(kernel // 2)·(1 + 1 + 2 + 4) samples (±0.45 s at 100 Hz with kernel 7), covering the brain's response lag.
    Trained on short windows and run on whole trials, so its input scaling is fixed (``EEGStandardiser``)."""

    def __init__(self, n_inputs: int, n_mels: int, rate: float, channels: int = 64, kernel: int = 7) -> None:
        super().__init__()
        self.features, self.rate = n_mels, rate
        pad = kernel // 2
        self.standardise = EEGStandardiser(n_inputs)
        self.input = nn.Conv1d(n_inputs, channels, kernel, padding=pad)
        self.blocks = nn.ModuleList(nn.Conv1d(channels, channels, kernel, dilation=d, padding=pad * d)
                                    for d in (1, 2, 4))
        self.out = nn.Conv1d(channels, n_mels, 1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = F.gelu(self.input(self.standardise(batch["eeg"].float())))
        for block in self.blocks:
            x = x + F.gelu(block(x))
        return self.out(x)


class TensorConditioner(nn.Module):
    def __init__(self, key: str, features: int, rate: float) -> None:
        super().__init__()
        self.key, self.features, self.rate = key, features, rate

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.key not in batch:
            raise InputError(None, f"the batch has no conditioner tensor {self.key!r} (has {sorted(batch)})",
                             "produce it first (model A's features) or pick another conditioning mode")
        cond = batch[self.key].float()
        if cond.shape[1] != self.features:
            raise InputError(None, f"conditioner {self.key!r} has {cond.shape[1]} features, the model expects "
                                   f"{self.features}", "set model.tensor_features to match")
        return cond


class EEGPTConditioner(nn.Module):
    """Model A's tokens, (B, embed_num · embed_dim, patches) at 256 / 64 = 4 Hz, with A's weights trainable."""

    def __init__(self, n_inputs: int, n_mels: int, rates: dict[str, float], channels: list[str], eeg_unit: str,
                 eegpt: dict) -> None:
        super().__init__()
        from eeg2music.models.foundation.model import EEGPTDecoder

        self.a = EEGPTDecoder(n_inputs, rates, n_mels, channels, eeg_unit, **eegpt)
        self.features = self.a.encoder.embed_num * self.a.encoder.embed_dim
        self.rate = rates["eeg"] / self.a.encoder.patch_size

    def load_model_a(self, state: dict, source: Path) -> None:
        """Model A's trained weights (a stage-1 run's state, read by the training layer)."""
        try:
            self.a.load_state_dict(state)
        except RuntimeError as err:
            raise InputError(source, f"is not a model A with this configuration ({str(err).splitlines()[0]})",
                             "give model.eegpt the same sizes as model A's config") from err

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.a.trial_tokens(batch["eeg"].float())


def build(mode: str, n_inputs: int, n_mels: int, rates: dict[str, float], encoder_channels: int = 64,
          tensor_key: str = "features", tensor_features: int = 2048, tensor_rate: float = 4.0,
          channels: list[str] | None = None, eeg_unit: str = "uV", eegpt: dict | None = None) -> nn.Module | None:
    if mode == "eegpt":
        return EEGPTConditioner(n_inputs, n_mels, rates, channels or [], eeg_unit, eegpt or {})
    if mode == "mel":
        return MelConditioner(n_mels, rates["mel"])
    if mode == "eeg":
        return EEGEncoder(n_inputs, n_mels, rates["eeg"], encoder_channels)
    if mode == "tensor":
        return TensorConditioner(tensor_key, tensor_features, tensor_rate)
    if mode == "none":
        return None
    raise InputError(None, f"unknown conditioning {mode!r}", f"use one of {', '.join(MODES)}")
