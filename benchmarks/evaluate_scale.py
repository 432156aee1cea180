"""The log-mel SSIM of ``evaluate`` at the bcmi study's size: within each participant in float32 (now) against every
pooled pair in float64 (before).

The evaluate step scores each decoded log-mel (80 bands × 2000 frames, a 20-s trial) by its SSIM with the true
one, and its permutation null needs the SSIM of every decoded trial against every candidate. Over every pair of the
study's pooled test trials that is N² pairs; within each participant it is the sum of the participants' squared
trial counts, which grows with the subjects instead of their square. Both costs are measured here per pair, in
one run, on the same images (one participant's block, ``--block`` trials), and projected to the study's trial
count and participants; then the whole within-participant matrix is timed at ``--measure`` participants with
``--threads`` threads. With ``--whole``, the evaluate step itself runs on a study-sized predictions file (amplitudes
and log-mels of every pooled test trial, ``--n-perm`` shuffles) and its wall time and peak memory are printed: what
``cluster/wcss`` gives the evaluate jobs.
Last line: ``evaluate_mel_ssim_vs_pooled: <projected now / projected before>`` (lower is faster).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from eeg2music.decode.predictions import Predictions
from eeg2music.evaluate.metrics import ssim_matrix, ssim_within


def images(n: int, frames: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Log-mel-like images (natural-log power, about −11 to +3) and decoded ones that follow them weakly."""
    rng = np.random.default_rng(seed)
    true = [np.clip(rng.normal(-4, 3, size=(80, frames)), -11.5, 3).astype(np.float32) for _ in range(n)]
    pred = [(0.3 * t + rng.normal(-3, 2, size=t.shape)).astype(np.float32) for t in true]
    return pred, true


def per_pair(fn, pred: list[np.ndarray], true: list[np.ndarray]) -> float:
    start = time.perf_counter()
    fn(pred, true)
    return (time.perf_counter() - start) / (len(pred) * len(true))


def whole_evaluate(sizes: np.ndarray, frames: int, n_perm: int, threads: int) -> None:
    """The evaluate step on a study-sized predictions file, as a separate process: wall time and peak memory."""
    rng = np.random.default_rng(2)
    pred, true, meta = [], [], []
    for s, n in enumerate(sizes):
        for k in range(int(n)):
            envelope = np.abs(rng.normal(size=frames)).astype(np.float32)
            true.append(envelope)
            pred.append((0.2 * envelope + rng.normal(size=frames)).astype(np.float32))
            meta.append({"dataset": "d", "subject": f"{s:02d}", "run": "1", "trial": k, "clip": f"c{k % 40}",
                         "start_s": 0.0})
    mel_pred, mel_true = images(len(pred), frames, 3)
    with tempfile.TemporaryDirectory() as tmp:
        path = Predictions(pred, true, meta, 100.0, "envelope", mel_pred, mel_true, 100.0).save(
            Path(tmp) / "predictions.npz")
        del pred, true, mel_pred, mel_true
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "eeg2music.evaluate.score", "--predictions", str(path), "--out",
                        str(Path(tmp) / "metrics.json"), "--n-perm", str(n_perm), "--threads", str(threads)],
                       check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"evaluate, {len(meta)} trials with log-mels, {n_perm} shuffles, {threads} threads: {wall / 60:.1f} min, "
          f"peak {peak:.0f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=2426, help="pooled test trials of the study (bcmi: 2426)")
    p.add_argument("--participants", type=int, default=37, help="bcmi: 18 (ds002725) + 19 (ds002722)")
    p.add_argument("--frames", type=int, default=2000, help="log-mel frames per trial (100 Hz)")
    p.add_argument("--block", type=int, default=24, help="trials of the block both forms are timed on")
    p.add_argument("--measure", type=int, default=4, help="participants of the whole within-participant timing")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--whole", action="store_true", help="also time the evaluate step at the study's size")
    p.add_argument("--n-perm", type=int, default=4000, help="the bcmi study's shuffles")
    a = p.parse_args()
    pred, true = images(a.block, a.frames, 0)
    before = per_pair(lambda x, y: ssim_matrix(x, y, chunk=8, dtype=np.float64), pred[:4], true)
    now = per_pair(ssim_matrix, pred[:4], true)
    got, ref = ssim_matrix(pred[:2], true[:4]), ssim_matrix(pred[:2], true[:4], chunk=8, dtype=np.float64)
    print(f"per pair: pooled float64 {before * 1e3:.2f} ms, float32 {now * 1e3:.2f} ms "
          f"(largest difference {np.abs(got - ref).max():.1e})")
    sizes = np.full(a.participants, a.trials // a.participants)
    sizes[: a.trials % a.participants] += 1
    pooled_pairs, within_pairs = a.trials ** 2, int((sizes ** 2).sum())
    t_before, t_now = pooled_pairs * before, within_pairs * now
    print(f"{a.trials} trials, {a.participants} participants: pooled {pooled_pairs:,} pairs, "
          f"{t_before / 3600:.2f} CPU-h a decoded set; within participant {within_pairs:,} pairs, "
          f"{t_now / 60:.1f} CPU-min")
    n = int(sizes[0])
    pred, true = images(a.measure * n, a.frames, 1)
    groups = [f"sub-{i // n:02d}" for i in range(len(pred))]
    start = time.perf_counter()
    ssim_within(pred, true, groups, threads=a.threads)
    wall = time.perf_counter() - start
    print(f"ssim_within, {a.measure} participants × {n} trials, {a.threads} threads: {wall:.1f} s wall "
          f"→ {wall * a.participants / a.measure / 60:.1f} min a decoded set at the study's size")
    if a.whole:
        whole_evaluate(sizes, a.frames, a.n_perm, a.threads)
    print(f"evaluate_mel_ssim_vs_pooled: {t_now / t_before:.4f}")


if __name__ == "__main__":
    main()
