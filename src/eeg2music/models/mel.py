"""The normalised log-mel every mel-predicting model shares (the vocoder's conditioning space), and its loss."""

from __future__ import annotations

import torch
from torch.nn import functional as F

# log-mel (natural log of power + 1e-5) → about [-1, 1.3]: silence (log 1e-5 = -11.5) maps to -1. A fixed map, not a
# per-window z-score, so that loudness (Daly's amplitude) survives into the conditioner.
MEL_CENTRE, MEL_SCALE = -5.75, 5.75


def normalise_mel(log_mel: torch.Tensor) -> torch.Tensor:
    return (log_mel - MEL_CENTRE) / MEL_SCALE


def denormalise_mel(x: torch.Tensor) -> torch.Tensor:
    return x * MEL_SCALE + MEL_CENTRE


def mel_loss(pred: torch.Tensor, true: torch.Tensor, loudness_weight: float = 0.0) -> torch.Tensor:
    """MSE of (B, n_mels, frames) normalised log-mels, plus ``loudness_weight`` × the MSE of their band average.

    Across 80 bands the MSE is dominated by the spectral shape (pitch, timbre), while what the EEG mostly carries is
    the loudness over time (Daly decodes the amplitude): the extra term weights that part up."""
    loss = F.mse_loss(pred, true)
    if loudness_weight > 0:
        loss = loss + loudness_weight * F.mse_loss(pred.mean(1), true.mean(1))
    return loss
