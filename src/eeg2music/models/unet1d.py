"""The non-diffusion control: a 1-D UNet that regresses the (normalised) log-mel directly from an EEG window.

Same windows, split and conditioner-target as the diffusion model on EEG, but one deterministic pass and an MSE
loss, so the report measures what diffusion adds rather than assuming it. Audio for listening comes from the mel
through the vocoder; metrics use the mel and the amplitude derived from it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from eeg2music.models.mel import denormalise_mel, normalise_mel
from eeg2music.models.standardise import EEGStandardiser


class UNetControl(nn.Module):
    target = "mel"
    needs_data_info = True

    def __init__(self, n_inputs: int, rates: dict[str, float], n_mels: int, channels: int = 64, depth: int = 2,
                 kernel: int = 5) -> None:
        super().__init__()
        self.eeg_rate, self.mel_rate, self.depth = rates["eeg"], rates["mel"], depth
        pad = kernel // 2
        self.standardise = EEGStandardiser(n_inputs)  # as the diffusion model's EEG encoder: fixed for decoding
        self.input = nn.Conv1d(n_inputs, channels, kernel, padding=pad)
        self.down = nn.ModuleList(nn.Conv1d(channels * 2 ** i, channels * 2 ** (i + 1), kernel, stride=2, padding=pad)
                                  for i in range(depth))
        self.up = nn.ModuleList(nn.ConvTranspose1d(channels * 2 ** (i + 1), channels * 2 ** i, 4, stride=2,
                                                   padding=1) for i in reversed(range(depth)))
        self.merge = nn.ModuleList(nn.Conv1d(channels * 2 ** (i + 1), channels * 2 ** i, kernel, padding=pad)
                                   for i in reversed(range(depth)))
        self.out = nn.Conv1d(channels, n_mels, 1)

    def predict_normalised(self, eeg: torch.Tensor, frames: int) -> torch.Tensor:
        x = F.gelu(self.input(self.standardise(eeg.float())))
        skips = []
        for down in self.down:
            skips.append(x)
            x = F.gelu(down(x))
        for up, merge in zip(self.up, self.merge, strict=True):
            skip = skips.pop()
            x = F.gelu(up(x))[..., : skip.shape[-1]]
            x = F.pad(x, (0, skip.shape[-1] - x.shape[-1]))
            x = F.gelu(merge(torch.cat([x, skip], dim=1)))
        return F.interpolate(self.out(x), size=frames, mode="linear", align_corners=False)

    def frames(self, n_eeg: int) -> int:
        return round(n_eeg * self.mel_rate / self.eeg_rate)

    def predict(self, eeg: torch.Tensor) -> torch.Tensor:
        """(B, C, T) EEG → (B, n_mels, frames) log-mel."""
        return denormalise_mel(self.predict_normalised(eeg, self.frames(eeg.shape[-1])))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        target = normalise_mel(batch["mel"].float())
        return F.mse_loss(self.predict_normalised(batch["eeg"], target.shape[-1]).float(), target)
