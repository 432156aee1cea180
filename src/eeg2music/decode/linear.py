"""The field's classical backward model: ridge regression from time-lagged EEG to the music (mTRF decoding).

Per subject (as mTRF decoders are fitted), with MNE's ``ReceptiveField``: EEG at t … t + 400 ms predicts the target
at t (``tmin = -0.4, tmax = 0`` in MNE's convention). The ridge is chosen by Pearson r on the validation trials,
then the model is refitted on train + val and decodes every test trial. Any deep model that cannot beat it is not
worth its GPU hours, so it sits in every comparison.

Targets: Daly's 100 Hz music amplitude as stored (``envelope``), or with ``--lowpass-hz 8`` the slow envelope that
cortical tracking studies decode (the amplitude low-passed, zero-phase).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import mne
import numpy as np
from mne.decoding import ReceptiveField, TimeDelayingRidge
from scipy import linalg
from scipy.signal import butter, sosfiltfilt

from eeg2music.data.channel_map import MODES
from eeg2music.data.splits import Manifest
from eeg2music.data.windows import WindowConfig, Windows
from eeg2music.decode.predictions import Predictions
from eeg2music.errors import InputError, one_line_errors

ALPHAS = tuple(10.0**k for k in range(-1, 6))


def _trials(manifest: Manifest, part: str, rate: int, target: str, lowpass_hz: float | None,
            channels: str = "intersection") -> dict[tuple[str, str], list[dict]]:
    ds = Windows(manifest, part, WindowConfig(whole_trial=True, rate=rate, targets=(target,), eeg_unit="uV",
                                                    channels=channels))
    sos = butter(4, lowpass_hz, fs=rate, output="sos") if lowpass_hz else None
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for i in range(len(ds)):
        item = ds.arrays(i)
        m = item["meta"]
        y = item[target]
        if sos is not None:
            y = sosfiltfilt(sos, y).astype(np.float32)
        out[(m["dataset"], m["subject"])].append({"x": item["eeg"].T, "y": y, "meta": m})
    return out


def _stack(trials: list[dict]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(time, epoch, channel), (time, epoch) and each trial's length: every trial standardised over its own samples
    and zero-padded to the longest. A lagged product that reaches into the padding is zero, so trials of unequal
    length (NMED-T's time blocks) each count in full and none reaches into another."""
    lengths = [t["x"].shape[0] for t in trials]
    x = np.zeros((max(lengths), len(trials), trials[0]["x"].shape[1]), np.float32)
    y = np.zeros((max(lengths), len(trials)), np.float32)
    for k, (t, n) in enumerate(zip(trials, lengths, strict=True)):
        x[:n, k] = (t["x"] - t["x"].mean(0)) / (t["x"].std(0) + 1e-9)
        y[:n, k] = (t["y"] - t["y"].mean(0)) / (t["y"].std(0) + 1e-9)
    return x, y, lengths


def _predict(rf: ReceptiveField, x: np.ndarray, lengths: list[int]) -> list[np.ndarray]:
    """Each trial's prediction over its own length; the samples whose lags reach past the trial's end (or start) are
    zero, as MNE leaves them out (``valid_samples_`` counts from either end, so it fits any length)."""
    y_hat = rf.predict(x).reshape(x.shape[0], x.shape[1])
    out = []
    for k, n in enumerate(lengths):
        p = np.zeros(n, dtype=np.float32)
        p[rf.valid_samples_] = y_hat[:n, k][rf.valid_samples_]
        out.append(p)
    return out


def _score(rf: ReceptiveField, x: np.ndarray, y: np.ndarray, lengths: list[int]) -> float:
    """MNE's ``corrcoef`` score over the valid samples of every trial, the padding left out."""
    pred = _predict(rf, x, lengths)
    valid = rf.valid_samples_
    return float(np.corrcoef(np.concatenate([p[valid] for p in pred]),
                             np.concatenate([y[:n, k][valid] for k, n in enumerate(lengths)]))[0, 1])


def select_alpha(x_fit: np.ndarray, y_fit: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, tmin: float,
                 tmax: float, rate: int, val_lengths: list[int] | None = None) -> float:
    """The ridge penalty whose fit on the training trials best predicts the validation trials (Pearson r).

    MNE computes the lagged covariance C at every fit, which was most of the decoder's time at the real data's size
    (seven penalties, then the refit). Here one fit (at the first penalty) gives C's blocks and the cross-covariance
    c (``auto_``, ``x_y_``), and every further penalty is one solve of (C + αI)w = c (:func:`ridge_solve`). The
    intercept stays the first penalty's, which does not change a correlation."""
    rf = ReceptiveField(tmin, tmax, rate, estimator=_ridge(tmin, tmax, rate, ALPHAS[0]), scoring="corrcoef")
    rf.fit(x_fit, y_fit)
    ridge = rf.estimator_
    auto, cross, shape = ridge.auto_, ridge.x_y_, ridge.coef_.shape  # coef_: (outputs, channels, lags)
    scores = []
    for alpha in ALPHAS:
        if alpha != ALPHAS[0]:  # the fit above solved the first
            ridge.coef_ = ridge_solve(auto, cross, alpha).T.reshape(shape)
        scores.append(_score(rf, x_val, y_val, val_lengths or [len(x_val)] * x_val.shape[1]))
    return ALPHAS[int(np.argmax(scores))]


def ridge_solve(auto: np.ndarray, cross: np.ndarray, alpha: float) -> np.ndarray:
    """w of (C + αI)w = c, C the lagged covariance made of ``auto`` (:func:`toeplitz_cov`), c channel-major as MNE
    lays it out; least squares if C + αI is singular, as MNE falls back.

    C is block Toeplitz (lag blocks of channels × channels), so the block Levinson recursion solves it in about
    3·L²·m³ operations for L lags of m channels, against m³·L³/3 for a Cholesky factorisation: with NMED-T's 125
    channels × 41 lags, 0.4 s against 1.0 s a penalty (MNE's ``linalg.solve(assume_a="pos")``: 1.2 s)."""
    lags, m, _ = auto.shape
    rhs = cross.reshape(m, lags, -1).transpose(1, 0, 2)  # lag-major: (lag, channel, output)
    try:
        w = block_levinson(auto, rhs, alpha)
    except np.linalg.LinAlgError:
        return linalg.lstsq(toeplitz_cov(auto) + alpha * np.eye(m * lags), cross, lapack_driver="gelsy")[0]
    return w.transpose(1, 0, 2).reshape(m * lags, -1)


def block_levinson(auto: np.ndarray, rhs: np.ndarray, alpha: float) -> np.ndarray:
    """x of (T + αI)x = rhs, T block Toeplitz with block (i, j) = auto[j − i] for j ≥ i, auto[i − j]ᵀ below.

    The block Levinson recursion: for n = 1 … L the solution for the leading n blocks, carried with the forward and
    backward vectors f, b of T_n f = [I 0 … 0]ᵀ, T_n b = [0 … 0 I]ᵀ. ``auto``: (L, m, m); ``rhs``: (L, m, k)."""
    lags, m, _ = auto.shape
    eye = np.eye(m)
    blocks = auto.copy()
    blocks[0] += alpha * eye
    below = np.concatenate(blocks[:0:-1].transpose(0, 2, 1), axis=1)  # [R(L−1)ᵀ … R(1)ᵀ], a row of T below the top
    above = np.concatenate(blocks[1:], axis=1)  # [R(1) … R(L−1)], the top row right of R(0)
    f, b, x = np.zeros((lags * m, m)), np.zeros((lags * m, m)), np.zeros((lags * m, rhs.shape[-1]))
    f[:m] = b[:m] = np.linalg.inv(blocks[0])
    x[:m] = f[:m] @ rhs[0]
    for n in range(1, lags):
        row = below[:, (lags - 1 - n) * m:]  # block row n of T_{n+1} left of its diagonal
        err_f, err_b = row @ f[:n * m], above[:, :n * m] @ b[:n * m]
        scale_f, scale_b = np.linalg.inv(eye - err_b @ err_f), np.linalg.inv(eye - err_f @ err_b)
        f_n, b_n = f[:n * m].copy(), b[:n * m].copy()
        f[:(n + 1) * m] = 0.0
        f[:n * m] = f_n @ scale_f
        f[m:(n + 1) * m] -= b_n @ (err_f @ scale_f)
        b[:(n + 1) * m] = 0.0
        b[m:(n + 1) * m] = b_n @ scale_b
        b[:n * m] -= f_n @ (err_b @ scale_b)
        x[:(n + 1) * m] += b[:(n + 1) * m] @ (rhs[n] - row @ x[:n * m])
    return x.reshape(lags, m, -1)


def lagged_blocks(x: np.ndarray, y: np.ndarray, smin: int, smax: int, fit_intercept: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray | float, np.ndarray | float]:
    """The lagged auto-covariance as its Toeplitz blocks (``auto[k][a, b] = Σ_t x_a[t + k] x_b[t]``, k = 0 … L − 1),
    the cross-covariance with the target (channel-major then lag, as MNE), the channel count and the offsets, from
    one matrix product per lag instead of MNE's inverse FFT per channel pair (with NMED-T's 125 channels, 15 625 FFTs
    per trial and most of the decoder's time). ``x``: (time, epoch, channel); ``y``: (time, epoch, output)."""
    if fit_intercept:
        x_offset, y_offset = x.mean(axis=(0, 1)), y.mean(axis=(0, 1))
        x, y = x - x_offset, y - y_offset
    else:
        x_offset = y_offset = 0.0
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    n, epochs, n_ch = x.shape
    flat = x.reshape(-1, n_ch)  # time-major: a shift of k samples is a shift of k · epochs rows
    auto = np.stack([flat[k * epochs:].T @ flat[:(n - k) * epochs] for k in range(smax - smin)])
    out = y.reshape(-1, y.shape[-1])
    cross = np.empty((n_ch, smax - smin, y.shape[-1]))
    for i, k in enumerate(range(smin, smax)):  # Σ_t y[t + k] x_a[t]
        cross[:, i] = flat[:(n - k) * epochs].T @ out[k * epochs:] if k >= 0 else \
            flat[-k * epochs:].T @ out[:(n + k) * epochs]
    return auto, cross.reshape(n_ch * (smax - smin), -1), n_ch, x_offset, y_offset


def toeplitz_cov(auto: np.ndarray) -> np.ndarray:
    """The full lagged covariance in MNE's layout, ``[a·L + i, b·L + j]`` = block (i, j) of :func:`block_levinson`
    at channels (a, b)."""
    lags = len(auto)
    shift = np.subtract.outer(np.arange(lags), np.arange(lags)).T  # [i, j] = j − i
    picked = auto[np.abs(shift)]  # (lags, lags, channel, channel)
    blocks = np.where((shift >= 0)[..., None, None], picked, picked.swapaxes(-1, -2))
    return blocks.transpose(2, 0, 3, 1).reshape(auto.shape[1] * lags, auto.shape[1] * lags)


def lagged_corrs(x: np.ndarray, y: np.ndarray, smin: int, smax: int, fit_intercept: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray | float, np.ndarray | float]:
    """What MNE's ``_compute_corrs`` returns without edge correction: :func:`lagged_blocks` with the covariance as
    one matrix."""
    auto, cross, n_ch, x_offset, y_offset = lagged_blocks(x, y, smin, smax, fit_intercept)
    return toeplitz_cov(auto), cross, n_ch, x_offset, y_offset


class LaggedRidge(TimeDelayingRidge):
    """MNE's ridge in the lag domain without its edge correction (with trials of hundreds of lags' length it
    changes the covariance by a lag/trial-length fraction but took ~60 % of the fit time), its covariances from
    :func:`lagged_blocks`, its solve :func:`ridge_solve` (the plain ridge, ``reg_type="ridge"``, as :func:`_ridge`
    makes it). Everything else (intercept, predict, scoring) is MNE's."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> LaggedRidge:
        X, y = self._check_data(X, y, reset=True)
        self._validate_params(X)
        x3, y3 = (X, y) if X.ndim == 3 else (X[:, None], y[:, None])
        self.auto_, self.x_y_, n_ch, x_offset, y_offset = lagged_blocks(x3, y3, self._smin, self._smax,
                                                                        self.fit_intercept)
        self.coef_ = ridge_solve(self.auto_, self.x_y_, self.alpha_).T.reshape(y3.shape[-1], n_ch, -1)
        self.intercept_ = y_offset - np.dot(x_offset, self.coef_.sum(-1).T) if self.fit_intercept else 0.0
        return self


def _ridge(tmin: float, tmax: float, rate: int, alpha: float) -> TimeDelayingRidge:
    return LaggedRidge(tmin, tmax, rate, alpha=alpha, edge_correction=False)


def fit_predict(manifest: Manifest, rate: int = 100, target: str = "envelope", tmin: float = -0.4,
                tmax: float = 0.0, lowpass_hz: float | None = None, channels: str = "intersection") -> Predictions:
    """``channels: frontal`` fits on the frontal and periocular channels only (the artefact control)."""
    train, val, test = (_trials(manifest, p, rate, target, lowpass_hz, channels) for p in ("train", "val", "test"))
    pred, true, meta = [], [], []
    for subject, test_trials in sorted(test.items()):
        fit = train.get(subject, [])
        held = val.get(subject, [])
        if not fit:
            raise InputError(None, f"{subject[0]} sub-{subject[1]} has test trials but no training trials",
                             "a per-subject decoder needs a within-subject split (cv-by-run, random-trial)")
        x_fit, y_fit, _ = _stack(fit)
        alpha = ALPHAS[len(ALPHAS) // 2]
        with warnings.catch_warnings(), mne.utils.use_log_level("error"):
            warnings.simplefilter("ignore", RuntimeWarning)  # MNE warns about edge effects of short lags
            if held:
                x_val, y_val, val_lengths = _stack(held)
                alpha = select_alpha(x_fit, y_fit, x_val, y_val, tmin, tmax, rate, val_lengths)
                x_fit, y_fit, _ = _stack(fit + held)
            rf = ReceptiveField(tmin, tmax, rate, estimator=_ridge(tmin, tmax, rate, alpha), scoring="corrcoef")
            rf.fit(x_fit, y_fit)
            x_test, _, lengths = _stack(test_trials)
            pred += _predict(rf, x_test, lengths)
        for t in test_trials:
            true.append(t["y"])
            meta.append({**t["meta"], "alpha": alpha})
    return Predictions(pred, true, meta, float(rate), target)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.decode.linear", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="predictions.npz")
    p.add_argument("--rate", type=int, default=100)
    p.add_argument("--target", default="envelope", choices=("envelope",))
    p.add_argument("--tmin", type=float, default=-0.4, help="earliest lag (s); negative = EEG after the music")
    p.add_argument("--tmax", type=float, default=0.0)
    p.add_argument("--lowpass-hz", type=float, default=None, help="decode the amplitude low-passed at this rate")
    p.add_argument("--channels", default="intersection", choices=MODES,
                   help="frontal: the frontal and periocular channels only (the artefact control)")
    a = p.parse_args(argv)
    fit_predict(Manifest.load(a.manifest), a.rate, a.target, a.tmin, a.tmax, a.lowpass_hz, a.channels).save(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
