"""The linear decoder's lagged covariances on one NMED-T subject's training data: one matrix product per lag
(``lagged_corrs``) against MNE's inverse FFT per channel pair (``_compute_corrs``, no edge correction), which is
what the decoder spent most of its time on with 125 channels.

One NMED-T subject under time-block: 10 songs of which about 3 minutes each train, 125 channels at 100 Hz, lags
0-400 ms. Last line: ``linear_corrs_vs_mne: <time ratio>`` (below 1 is faster).
"""

from __future__ import annotations

import argparse
import time

import mne
import numpy as np
from mne.decoding.time_delaying_ridge import _compute_corrs

from eeg2music.decode.linear import lagged_corrs

RATE = 100


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=10, help="training spans of the subject")
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--channels", type=int, default=125)
    p.add_argument("--lags", type=int, default=41)
    a = p.parse_args()
    mne.set_log_level("ERROR")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(int(a.seconds * RATE), a.trials, a.channels))
    y = rng.normal(size=(x.shape[0], a.trials, 1))
    smin = -(a.lags - 1)
    t = time.perf_counter()
    theirs = _compute_corrs(x, y, smin, 1, fit_intercept=True, edge_correction=False)
    mne_s = time.perf_counter() - t
    t = time.perf_counter()
    ours = lagged_corrs(x, y, smin, 1, True)
    ours_s = time.perf_counter() - t
    err = max(float(np.abs(o - m).max() / (np.abs(m).max() + 1e-12)) for o, m in zip(ours[:2], theirs[:2],
                                                                                       strict=True))
    print(f"{a.trials} spans × {a.seconds:g} s × {a.channels} channels, {a.lags} lags: MNE {mne_s:.1f} s, "
          f"per-lag products {ours_s:.1f} s (largest relative difference {err:.1e})")
    print(f"linear_corrs_vs_mne: {ours_s / mne_s:.3f}")


if __name__ == "__main__":
    main()
