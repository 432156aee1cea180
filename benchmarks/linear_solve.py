"""The linear decoder's ridge solve: the block Levinson recursion (``ridge_solve``) against a Cholesky factorisation
of the full lagged covariance (the dense solve MNE's ``_fit_corrs`` makes), over the seven penalties searched.

Average-referenced, temporally correlated EEG-like data; by default NMED-T's size (125 channels, lags 0-400 ms at
100 Hz: 5125 lagged features). Also printed: the largest relative difference of the two solutions' predictions of
the training EEG. Last line: ``linear_solve_levinson_vs_cholesky: <time ratio>`` (below 1 is faster).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import linalg
from scipy.signal import lfilter

from eeg2music.decode.linear import ALPHAS, lagged_blocks, ridge_solve, toeplitz_cov

SMIN, SMAX = -40, 1


def cholesky(cov: np.ndarray, cross: np.ndarray, alpha: float) -> np.ndarray:
    return linalg.cho_solve(linalg.cho_factor(cov + alpha * np.eye(len(cov))), cross)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--channels", type=int, default=125)
    p.add_argument("--seconds", type=float, default=150.0, help="EEG per subject at 100 Hz")
    a = p.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(int(a.seconds * 100), 1, a.channels)) @ rng.normal(size=(a.channels, a.channels))
    x = lfilter([1.0], [1.0, -0.9], x - x.mean(axis=-1, keepdims=True), axis=0)
    auto, cross, *_ = lagged_blocks(x, rng.normal(size=(*x.shape[:2], 1)), SMIN, SMAX)
    cov = toeplitz_cov(auto)
    times, worst = {"levinson": 0.0, "cholesky": 0.0}, 0.0
    for alpha in ALPHAS:
        t = time.perf_counter()
        ours = ridge_solve(auto, cross, alpha)
        times["levinson"] += time.perf_counter() - t
        t = time.perf_counter()
        dense = cholesky(cov, cross, alpha)
        times["cholesky"] += time.perf_counter() - t
        diff = ours - dense
        worst = max(worst, float(np.sqrt((diff.T @ cov @ diff).item() / (dense.T @ cov @ dense).item())))
    features = a.channels * (SMAX - SMIN)
    print(f"{a.channels} channels × {SMAX - SMIN} lags ({features} features), {len(ALPHAS)} penalties")
    print(f"block Levinson {times['levinson']:.2f} s, Cholesky {times['cholesky']:.2f} s; largest relative "
          f"difference of their predictions {worst:.1e}")
    print(f"linear_solve_levinson_vs_cholesky: {times['levinson'] / times['cholesky']:.3f}")


if __name__ == "__main__":
    main()
