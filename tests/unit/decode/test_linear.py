"""The linear decoder's penalty search: one covariance, one solve per penalty, the same choice as refitting."""

from __future__ import annotations

import mne
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


@pytest.mark.parametrize(("smin", "smax", "intercept"), [(-40, 1, True), (0, 6, False), (3, 9, True), (-7, -2, True)])
def test_the_lagged_covariances_are_mnes(smin, smax, intercept):
    """``lagged_corrs`` (a matrix product per lag) gives what MNE's FFT loop gives without edge correction: the same
    auto- and cross-covariances, in the same layout, and the same offsets."""
    from mne.decoding.time_delaying_ridge import _compute_corrs

    from eeg2music.decode.linear import lagged_corrs

    rng = np.random.default_rng(abs(smax))
    x, y = rng.normal(1.0, 1.0, size=(300, 3, 5)), rng.normal(size=(300, 3, 2))
    ours = lagged_corrs(x, y, smin, smax, intercept)
    with mne.utils.use_log_level("error"):
        theirs = _compute_corrs(x, y, smin, smax, fit_intercept=intercept, edge_correction=False)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("alpha", [ALPHAS[0], 1.0, ALPHAS[-1]])
def test_the_ridge_is_mnes(alpha):
    """The block Levinson solve (``ridge_solve``) gives MNE's own ridge: the same coefficients and intercept as
    ``TimeDelayingRidge`` without edge correction, at the smallest and largest penalty searched."""
    from mne.decoding import TimeDelayingRidge

    x_fit, y_fit, _, _ = lagged_study(3.0, 4)
    y_fit = y_fit[..., None]  # (time, epoch, output), as ReceptiveField hands it on
    ours = _ridge(TMIN, TMAX, RATE, alpha).fit(x_fit, y_fit)
    with mne.utils.use_log_level("error"):
        theirs = TimeDelayingRidge(TMIN, TMAX, RATE, alpha=alpha, edge_correction=False).fit(x_fit, y_fit)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_the_recursion_solves_an_average_referenced_covariance(alpha):
    """After the average reference EEG's channel covariance has rank m − 1 and its lags are strongly correlated: at
    every penalty searched the block Levinson recursion solves (C + αI)w = c to a relative residual below 1e-6, and
    its predictions of the training EEG are a dense solve's (energy of the difference below 1e-6 of theirs)."""
    from scipy.signal import lfilter

    from eeg2music.decode.linear import lagged_blocks, ridge_solve, toeplitz_cov

    rng = np.random.default_rng(5)
    x = rng.normal(size=(3000, 2, 24)) @ rng.normal(size=(24, 24))
    x = lfilter([1.0], [1.0, -0.9], x - x.mean(axis=-1, keepdims=True), axis=0)
    auto, cross, *_ = lagged_blocks(x, rng.normal(size=(3000, 2, 1)), -40, 1)
    mat = toeplitz_cov(auto) + alpha * np.eye(24 * 41)
    ours, dense = ridge_solve(auto, cross, alpha), np.linalg.solve(mat, cross)
    assert np.linalg.norm(mat @ ours - cross) < 1e-6 * np.linalg.norm(cross)
    diff = ours - dense
    assert (diff.T @ mat @ diff).item() < 1e-6 * (dense.T @ mat @ dense).item()


def test_trials_of_unequal_length_each_count_in_full():
    """NMED-T's time blocks differ in length: the decoder neither crops them to the shortest nor lets a lag reach from
    one trial into the next; its covariances are the sums of each trial's own, and each prediction is as long as its
    trial, zero where its lags leave the trial (as MNE's ``valid_samples_``)."""
    from eeg2music.decode.linear import _predict, _stack, lagged_corrs

    rng = np.random.default_rng(3)
    trials = [{"x": rng.normal(2.0, 3.0, size=(n, 4)), "y": rng.normal(size=n)} for n in (900, 1200, 700)]
    x, y, lengths = _stack(trials)
    assert lengths == [900, 1200, 700] and x.shape == (1200, 3, 4)
    smin, smax = -40, 1
    padded = lagged_corrs(x, y[..., None], smin, smax, fit_intercept=False)
    each = [lagged_corrs(x[:n, k:k + 1], y[:n, k:k + 1, None], smin, smax, fit_intercept=False)
            for k, n in enumerate(lengths)]
    for part in (0, 1):
        np.testing.assert_allclose(padded[part], sum(e[part] for e in each), rtol=1e-4, atol=1e-3)
    rf = ReceptiveField(TMIN, TMAX, RATE, estimator=_ridge(TMIN, TMAX, RATE, 1.0), scoring="corrcoef").fit(x, y)
    pred = _predict(rf, x, lengths)
    assert [p.size for p in pred] == lengths
    for p in pred:
        assert np.all(p[-40:] == 0) and np.all(p[:-40] != 0)
