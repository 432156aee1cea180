"""The bi-LSTM of Daly (2023), "Neural decoding of music from the EEG", Sci. Rep.

4 stacked bidirectional LSTM layers of 250 units → a fully connected layer → the music amplitude at 100 Hz.
With Daly's 124 inputs (31 ICA components × 4 source locations) it has 5,264,501 parameters (paper: ~5.26 M).
"""

from __future__ import annotations

import torch
from torch import nn

from eeg2music.models.standardise import zscore


class DalyBiLSTM(nn.Module):
    target = "envelope"

    def __init__(self, n_inputs: int, hidden: int = 250, layers: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_inputs, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(2 * hidden, 1)

    def predict(self, eeg: torch.Tensor) -> torch.Tensor:
        """(B, C, T) EEG at 100 Hz → (B, T) standardised amplitude."""
        h, _ = self.lstm(zscore(eeg).transpose(1, 2))  # (B, T, 2H)
        return self.head(h).squeeze(-1)  # (B, T)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        pred = self.predict(batch["eeg"])
        return nn.functional.mse_loss(pred.float(), zscore(batch[self.target].float()))
