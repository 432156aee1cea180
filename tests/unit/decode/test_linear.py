"""The linear decoder's penalty search: one covariance, one solve per penalty, the same choice as refitting."""

from __future__ import annotations

import numpy as np
import pytest
from mne.decoding import ReceptiveField

from eeg2music.decode.linear import ALPHAS, _ridge, select_alpha

RATE, TMIN, TMAX = 100, -0.4, 0.0


def lagged_study(noise: float, seed: int) -> tuple[np.ndarray, ...]:
    """(time, epoch, channel) EEG that carries a lagged copy of the (time, epoch) target in 3 of 16 channels."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(1200, 10))
    x = noise * rng.normal(size=(1200, 10, 16))
    for ch, lag in ((2, 5), (7, 12), (11, 20)):
        x[lag:, :, ch] += y[:-lag]
    split = 7
    return x[:, :split], y[:, :split], x[:, split:], y[:, split:]


def refit_scores(x_fit, y_fit, x_val, y_val) -> list[float]:
    """The search as MNE does it: a full fit per penalty."""
    return [ReceptiveField(TMIN, TMAX, RATE, estimator=_ridge(TMIN, TMAX, RATE, a), scoring="corrcoef")
            .fit(x_fit, y_fit).score(x_val, y_val) for a in ALPHAS]


@pytest.mark.parametrize(("noise", "seed"), [(0.5, 0), (3.0, 1), (30.0, 2)])
def test_the_penalty_chosen_equals_the_refits(noise, seed):
    x_fit, y_fit, x_val, y_val = lagged_study(noise, seed)
    scores = refit_scores(x_fit, y_fit, x_val, y_val)
    assert select_alpha(x_fit, y_fit, x_val, y_val, TMIN, TMAX, RATE) == ALPHAS[int(np.argmax(scores))]


def test_the_chosen_penalty_moves_with_the_noise():
    """Clean data wants little shrinkage, noisy data more: the search is not stuck at one end."""
    clean = select_alpha(*lagged_study(0.5, 0), TMIN, TMAX, RATE)
    noisy = select_alpha(*lagged_study(30.0, 2), TMIN, TMAX, RATE)
    assert clean < noisy
