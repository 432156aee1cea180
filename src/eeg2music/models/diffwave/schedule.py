"""Noise schedules: the training one (T = 50, β linear 1e-4…0.05) and DiffWave's 6-step fast sampler.

The fast schedule uses its own βs; the network still needs a diffusion-step index, so each fast step is mapped to
the (fractional) training step whose noise level √ᾱ it matches, interpolating linearly between training steps
(Kong et al. 2021, appendix B). The step embedding interpolates between table rows for the fractional index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRAIN_BETAS = tuple(np.linspace(1e-4, 0.05, 50).tolist())
FAST_BETAS = (1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5)


@dataclass(frozen=True)
class Schedule:
    betas: tuple[float, ...]

    @property
    def alphas(self) -> np.ndarray:
        return 1.0 - np.asarray(self.betas, dtype=np.float64)

    @property
    def alpha_bars(self) -> np.ndarray:
        return np.cumprod(self.alphas)

    def __len__(self) -> int:
        return len(self.betas)


def sampling_schedule(steps: int | str, train: Schedule) -> Schedule:
    """``"full"`` or the training length → the training βs; ``"fast"`` or 6 → the fast βs."""
    if steps in ("full", len(train)):
        return train
    if steps in ("fast", len(FAST_BETAS)):
        return Schedule(FAST_BETAS)
    raise ValueError(f"unknown sampling schedule {steps!r}: use 'fast' ({len(FAST_BETAS)} steps) or 'full' "
                     f"({len(train)} steps)")


def aligned_steps(infer: Schedule, train: Schedule) -> np.ndarray:
    """For each sampling step, the fractional training step with the same √ᾱ (identity for the training βs)."""
    if infer.betas == train.betas:
        return np.arange(len(train), dtype=np.float64)
    root_train = np.sqrt(train.alpha_bars)  # decreasing in t
    out = []
    for root in np.sqrt(infer.alpha_bars):
        if root >= root_train[0]:
            out.append(0.0)
        elif root <= root_train[-1]:
            out.append(float(len(train) - 1))
        else:
            t = int(np.searchsorted(-root_train, -root)) - 1  # root_train[t] ≥ root > root_train[t + 1]
            frac = (root_train[t] - root) / (root_train[t] - root_train[t + 1])
            out.append(t + float(frac))
    return np.asarray(out)
