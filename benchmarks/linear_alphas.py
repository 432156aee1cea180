"""The linear decoder's penalty search on one subject at the real data's size: one covariance and a solve per
penalty (``select_alpha``) against MNE's full fit per penalty, each followed by the same refit on train + val.

One ds002725 subject in the replica: about 60 music trials of 40 s, two thirds of them for training and validation,
31 channels at 100 Hz, lags 0-400 ms. Last line: ``linear_alpha_search_vs_refits: <time ratio>`` (below 1 is faster).
"""

from __future__ import annotations

import argparse
import time

import mne
import numpy as np
from mne.decoding import ReceptiveField

from eeg2music.decode.linear import ALPHAS, _ridge, select_alpha

RATE, TMIN, TMAX = 100, -0.4, 0.0


def data(trials: int, seconds: float, channels: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    y = rng.normal(size=(n, trials))
    x = 5 * rng.normal(size=(n, trials, channels))
    x[10:, :, 3] += y[:-10]
    return x, y


def refits(x_fit, y_fit, x_val, y_val) -> float:
    scores = [ReceptiveField(TMIN, TMAX, RATE, estimator=_ridge(TMIN, TMAX, RATE, a), scoring="corrcoef")
              .fit(x_fit, y_fit).score(x_val, y_val) for a in ALPHAS]
    return ALPHAS[int(np.argmax(scores))]


def timed(search, x, y, n_val: int) -> tuple[float, float]:
    t = time.perf_counter()
    alpha = search(x[:, n_val:], y[:, n_val:], x[:, :n_val], y[:, :n_val])
    ReceptiveField(TMIN, TMAX, RATE, estimator=_ridge(TMIN, TMAX, RATE, alpha), scoring="corrcoef").fit(x, y)
    return time.perf_counter() - t, alpha


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=40, help="training + validation trials of the subject")
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--channels", type=int, default=31)
    a = p.parse_args()
    mne.set_log_level("ERROR")
    x, y = data(a.trials, a.seconds, a.channels)
    n_val = max(1, round(0.15 * a.trials))
    old, alpha_old = min(timed(refits, x, y, n_val) for _ in range(2))
    new, alpha_new = min(timed(lambda *d: select_alpha(*d, TMIN, TMAX, RATE), x, y, n_val) for _ in range(2))
    print(f"{a.trials} trials × {a.seconds:g} s × {a.channels} channels at {RATE} Hz, {len(ALPHAS)} penalties")
    print(f"MNE fit per penalty + refit: {old:.2f} s (alpha {alpha_old:g}); one covariance + solves + refit: "
          f"{new:.2f} s (alpha {alpha_new:g})")
    print(f"linear_alpha_search_vs_refits: {new / old:.3f}")


if __name__ == "__main__":
    main()
