"""The PyTorch Dataset of EEG windows that every trained model reads: :class:`~eeg2music.data.windows.Windows`
with its arrays as tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from eeg2music.data.windows import Windows


class WindowDataset(Windows, Dataset):
    """Windows of one part of a split manifest, each array a tensor (labels and ``meta`` as they are)."""

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in self.arrays(idx).items()}
