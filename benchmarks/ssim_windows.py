"""The SSIM matrices of ``evaluate`` with their local means as sums of shifted views (``metrics.window_mean``, now)
against SciPy's ``uniform_filter`` cropped to the same positions (before), on the bcmi study's signals.

Per decoded × true pair, on ``--trials`` of each kind: the band-passed amplitude (2000 samples: a 20-s trial at
100 Hz, what rank accuracy ranks), its spectrogram (33 × 122) and a log-mel (80 × 2000). The pooled study has 2426
test trials, so each amplitude matrix is 5.9 million pairs per decoded set. Both forms run alternately, ``--repeats``
times, on the same inputs; the figures are medians. Last line: ``ssim_window_sums_vs_scipy_filter: <time ratio>``
over the amplitude's two matrices (below 1 is faster).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.ndimage import uniform_filter

from eeg2music.evaluate import metrics
from eeg2music.evaluate.metrics import band, spec, ssim_matrix

SUMS = metrics.window_mean


def scipy_window_mean(x: np.ndarray, win: int, ndim: int) -> np.ndarray:
    """The earlier form: SciPy's uniform filter over the whole array, then the positions away from the edges."""
    pad = (win - 1) // 2
    size = (1,) * (x.ndim - ndim) + (win,) * ndim
    return uniform_filter(x, size=size)[(slice(None),) * (x.ndim - ndim) + (slice(pad, -pad or None),) * ndim]


def per_pair_s(pred: list[np.ndarray], true: list[np.ndarray], form) -> float:
    metrics.window_mean = form
    try:
        start = time.perf_counter()
        ssim_matrix(pred, true)
        return (time.perf_counter() - start) / (len(pred) * len(true))
    finally:
        metrics.window_mean = SUMS


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    true = [np.abs(rng.normal(size=2000)).astype(np.float32) for _ in range(a.trials)]
    pred = [(0.2 * t + rng.normal(size=t.size)).astype(np.float32) for t in true]
    mel_true = [rng.normal(-4, 3, size=(80, 2000)).astype(np.float32) for _ in range(a.trials // 4)]
    mel_pred = [(0.3 * t + rng.normal(-3, 2, size=t.shape)).astype(np.float32) for t in mel_true]
    kinds = {"ssim_band": ([band(x, 100.0) for x in pred], [band(x, 100.0) for x in true]),
             "ssim_spectrogram": ([spec(x, 100.0) for x in pred], [spec(x, 100.0) for x in true]),
             "mel_ssim": (mel_pred, mel_true)}
    for name, (x, y) in kinds.items():  # the same matrices both ways
        before = ssim_matrix(x[:8], y[:8])
        metrics.window_mean = scipy_window_mean
        np.testing.assert_allclose(ssim_matrix(x[:8], y[:8]), before, rtol=0, atol=1e-5, err_msg=name)
        metrics.window_mean = SUMS
    totals = {"sums": 0.0, "scipy": 0.0}
    for name, (x, y) in kinds.items():
        times: dict[str, list[float]] = {"sums": [], "scipy": []}
        for _ in range(a.repeats):
            times["scipy"].append(per_pair_s(x, y, scipy_window_mean))
            times["sums"].append(per_pair_s(x, y, SUMS))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{name:17s} {x[0].shape}: {med['scipy'] * 1e6:7.1f} µs a pair (SciPy filter) → "
              f"{med['sums'] * 1e6:7.1f} µs (window sums), {med['sums'] / med['scipy']:.3f}")
        if name != "mel_ssim":
            totals = {k: totals[k] + med[k] for k in totals}
    pairs = 2426 ** 2
    print(f"the amplitude's two matrices at 2426 trials, one thread: {totals['scipy'] * pairs / 60:.1f} → "
          f"{totals['sums'] * pairs / 60:.1f} min")
    print(f"ssim_window_sums_vs_scipy_filter: {totals['sums'] / totals['scipy']:.3f}")


if __name__ == "__main__":
    main()
