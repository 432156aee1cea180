"""A compact convolutional decoder trained from scratch: the baseline a foundation model has to beat.

Benchmarks of EEG foundation models (e.g. arXiv 2601.17883, 2607.27268) find that they often do not beat compact
convolutional networks trained from scratch, above all with little data. This is such a network in the spirit of
EEGNet (Lawhern et al. 2018): a temporal convolution per channel, a depthwise spatial convolution (a few spatial
filters per temporal filter), a separable temporal convolution, then a 1×1 head, with no pooling so that it keeps the
time axis and regresses a signal rather than a class: Daly's amplitude (``target: envelope``) or the log-mel
(``target: mel``), the two targets of model A. braindecode's EEGNet ends in a per-window classifier, so it cannot be
used as it is. Tens of thousands of parameters at the default size.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from eeg2music.errors import InputError
from eeg2music.models.mel import denormalise_mel, normalise_mel
from eeg2music.models.standardise import EEGStandardiser, zscore


class SmallCNN(nn.Module):
    target = "envelope"  # the default; ``target: mel`` in the config decodes the log-mel
    targets = ("envelope", "mel")
    needs_data_info = True

    def __init__(self, n_inputs: int, rates: dict[str, float], n_mels: int, target: str = "envelope",
                 temporal: int = 16, depth_multiplier: int = 2, features: int = 64, kernel_s: float = 0.5,
                 dropout: float = 0.25) -> None:
        super().__init__()
        if target not in self.targets:
            raise InputError(None, f"small_cnn target {target!r} is not one of {self.targets}", "set model.target")
        self.target = target
        self.eeg_rate, self.out_rate = rates["eeg"], rates[target]
        kernel = max(3, round(kernel_s * self.eeg_rate) | 1)  # odd, so "same" padding is symmetric
        spatial = temporal * depth_multiplier
        self.standardise = EEGStandardiser(n_inputs)  # fixed for decoding: whole trials scale as training windows
        self.temporal = nn.Conv2d(1, temporal, (1, kernel), padding=(0, kernel // 2), bias=False)
        self.norm1 = nn.BatchNorm2d(temporal)
        self.spatial = nn.Conv2d(temporal, spatial, (n_inputs, 1), groups=temporal, bias=False)
        self.norm2 = nn.BatchNorm2d(spatial)
        self.separable = nn.Sequential(
            nn.Conv1d(spatial, spatial, 17, padding=8, groups=spatial, bias=False),
            nn.Conv1d(spatial, features, 1, bias=False))
        self.norm3 = nn.BatchNorm1d(features)
        self.context = nn.Conv1d(features, features, 9, padding=4)
        self.head = nn.Conv1d(features, n_mels if target == "mel" else 1, 1)
        self.dropout = nn.Dropout(dropout)

    def _features(self, eeg: torch.Tensor) -> torch.Tensor:
        """(B, C, T) EEG → (B, features, T)."""
        x = self.norm1(self.temporal(self.standardise(eeg.float())[:, None]))  # (B, F1, C, T)
        x = self.dropout(F.elu(self.norm2(self.spatial(x)))).squeeze(2)  # (B, F1·D, T)
        x = self.dropout(F.elu(self.norm3(self.separable(x))))
        return F.elu(self.context(x)) + x

    def _decode(self, eeg: torch.Tensor, frames: int) -> torch.Tensor:
        out = self.head(self._features(eeg))
        out = F.interpolate(out, size=frames, mode="linear", align_corners=False)
        return out.squeeze(1) if self.target == "envelope" else out

    def _frames(self, eeg: torch.Tensor) -> int:
        return round(eeg.shape[-1] * self.out_rate / self.eeg_rate)

    def predict(self, eeg: torch.Tensor) -> torch.Tensor:
        """(B, C, T) EEG → (B, T') standardised amplitude or (B, n_mels, T') log-mel, at the target's rate."""
        out = self._decode(eeg, self._frames(eeg))
        return out if self.target == "envelope" else denormalise_mel(out)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        true = batch[self.target].float()
        goal = zscore(true) if self.target == "envelope" else normalise_mel(true)
        return F.mse_loss(self._decode(batch["eeg"], true.shape[-1]).float(), goal)
