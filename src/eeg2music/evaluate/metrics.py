"""Decoding metrics, each as a matrix ``M[i, j] = metric(decoded_i, true_j)`` over test trials.

The diagonal is the score of each trial; the off-diagonal entries give the trial-shuffle permutation null for free
(``stats.permutation_test``), and rank accuracy and identification are read off the same matrix.

* Pearson r in time and of power spectra (Welch), SSIM of spectrograms (scikit-image), after Daly (2023);
* Daly's rank accuracy: z-score, band-pass 0.035–4.75 Hz, SSIM of each decoded trial against every true trial,
  normalised rank of the true one (1 = best, 0.5 = chance, 0 = worst);
* n-way clip identification: the clip whose true signal is most similar (by the same band-passed SSIM) wins;
* for log-mels (mel and waveform models): Pearson r of the images over every pair, and their SSIM within each
  participant (``WITHIN_PARTICIPANT``): an SSIM of two 80 × 2000 images costs milliseconds, so over every pair of
  the bcmi study's 2426 pooled test trials it would take hours per decoded set, growing with the square of the
  subjects (docs/benchmarks.md, "evaluate_scale").
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.signal import butter, sosfiltfilt, spectrogram, welch
from skimage.metrics import structural_similarity

from eeg2music.evaluate.stats import group_members

RANK_BAND = (0.035, 4.75)
# Matrices filled only between trials of the same participant (NaN elsewhere): their permutation nulls shuffle
# partners within participants, and they rank only within participants (Daly's protocol).
WITHIN_PARTICIPANT = frozenset({"mel_ssim"})
PEARSON_BLOCK = 256  # rows standardised at a time in pearson_matrix
CHUNK_ELEMENTS = 1 << 18  # samples of true signals filtered per step in ssim_matrix (1 MB in float32)


def zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + 1e-12)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """scikit-image SSIM over the joint data range of ``a`` and ``b`` (1-D signals or 2-D images)."""
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    win = min(7, *(s if s % 2 else s - 1 for s in a.shape))
    return float(structural_similarity(a.astype(np.float64), b.astype(np.float64), data_range=float(hi - lo) or 1.0,
                                       win_size=win))


def band(x: np.ndarray, rate: float, lo: float = RANK_BAND[0], hi: float = RANK_BAND[1]) -> np.ndarray:
    sos = butter(2, (lo, min(hi, rate / 2 * 0.99)), btype="bandpass", fs=rate, output="sos")
    return sosfiltfilt(sos, zscore(x), axis=-1)


def psd(x: np.ndarray, rate: float) -> np.ndarray:
    return welch(x, fs=rate, nperseg=min(256, x.shape[-1]))[1]


def spec(x: np.ndarray, rate: float) -> np.ndarray:
    """Log-magnitude spectrogram (frequency × time) of a z-scored signal."""
    _, _, s = spectrogram(zscore(x), fs=rate, nperseg=min(64, x.shape[-1]), noverlap=min(48, x.shape[-1] - 1))
    return np.log(s + 1e-8)


def pearson_matrix(pred: list[np.ndarray], true: list[np.ndarray]) -> np.ndarray:
    """``M[i, j] = pearson(pred[i], true[j])`` for equally shaped arrays, as matrix products of standardised rows
    in float64, ``PEARSON_BLOCK`` rows of each side at a time: the bcmi study's 2426 log-mels (160 000 values each)
    stacked whole in float64 were 3.1 GB a side, three times over."""
    def standard(xs: list[np.ndarray]) -> np.ndarray:
        x = np.stack([a.ravel() for a in xs]).astype(np.float64)
        x -= x.mean(1, keepdims=True)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x

    out = np.empty((len(pred), len(true)))
    for j in range(0, len(true), PEARSON_BLOCK):
        t = standard(true[j:j + PEARSON_BLOCK])
        for i in range(0, len(pred), PEARSON_BLOCK):
            out[i:i + PEARSON_BLOCK, j:j + PEARSON_BLOCK] = standard(pred[i:i + PEARSON_BLOCK]) @ t.T
    return out


def _span(a: np.ndarray, axis: int, start: int, length: int) -> np.ndarray:
    return a[(slice(None),) * axis + (slice(start, start + length),)]


def window_mean(x: np.ndarray, win: int, ndim: int) -> np.ndarray:
    """Mean of every full ``win``-wide window along the last ``ndim`` axes (the positions an SSIM averages over,
    away from the edges): scikit-image's uniform filter there, as sums of shifted views (runs of 1, 2, 4 …
    samples, each summed once from the last and added where ``win`` has that bit: four additions for a 7-wide
    window) instead of SciPy's filter, which took most of :func:`ssim_matrix`'s time."""
    for axis in range(x.ndim - ndim, x.ndim):
        n_out = x.shape[axis] - win + 1
        total, done, width, run = None, 0, 1, x  # run[k]: the sum of ``width`` samples from k
        while True:
            if win & width:
                piece = _span(run, axis, done, n_out)
                total = piece.copy() if total is None else total + piece
                done += width
            if width * 2 > win:
                break
            n_run = run.shape[axis] - width
            run = _span(run, axis, 0, n_run) + _span(run, axis, width, n_run)
            width *= 2
        x = total
    return x / np.asarray(win ** ndim, dtype=x.dtype)


def ssim_matrix(pred: list[np.ndarray], true: list[np.ndarray], k1: float = 0.01, k2: float = 0.03,
                chunk: int | None = None, dtype: type = np.float32, threads: int = 1) -> np.ndarray:
    """``M[i, j] = ssim(pred[i], true[j])`` for equally shaped signals or images, vectorised over ``j``.

    The same arithmetic as :func:`ssim` (scikit-image's uniform 7-wide window, sample covariance, joint data range
    per pair), but local means and variances are computed once per signal and only the cross term per pair, on
    ``chunk`` true signals at a time (by default as many as make ``CHUNK_ELEMENTS``: temporaries that stay in
    cache, yet few enough Python steps for short signals), and only where the SSIM map is averaged (away from the
    edges, :func:`window_mean`). In float32 by default: half the memory traffic of float64, and within 1e-6 of it
    (the stabilising constants ``(k · range)²`` dwarf float32's rounding of the local variances).
    With ``threads``, the decoded signals are split between threads (NumPy releases the GIL).
    """
    t = np.stack(true).astype(dtype)
    chunk = chunk or max(1, CHUNK_ELEMENTS // t[0].size)
    nd = t.ndim - 1
    win = min(7, *(s if s % 2 else s - 1 for s in t.shape[1:]))
    cov = win ** nd / (win ** nd - 1)
    uy = window_mean(t, win, nd)
    vy = cov * (window_mean(t * t, win, nd) - uy * uy)
    uy2 = uy * uy
    t_lo, t_hi = t.reshape(len(t), -1).min(1), t.reshape(len(t), -1).max(1)
    out = np.empty((len(pred), len(true)))

    def fill_rows(rows: np.ndarray) -> None:
        for i in rows:
            fill_row(int(i))

    def fill_row(i: int) -> None:
        x = pred[i].astype(dtype)
        ux = window_mean(x[None], win, nd)[0]
        vx = cov * (window_mean(x[None] * x[None], win, nd)[0] - ux * ux)
        ux2 = ux * ux
        rng = np.maximum(t_hi, x.max()) - np.minimum(t_lo, x.min())
        rng = np.where(rng > 0, rng, 1.0).astype(dtype).reshape((-1,) + (1,) * nd)
        c1s, c2s = (k1 * rng) ** 2, (k2 * rng) ** 2
        for j in range(0, len(t), chunk):
            js = slice(j, j + chunk)
            c1, c2 = c1s[js], c2s[js]
            mean_xy = ux * uy[js]
            cross = window_mean(x * t[js], win, nd)  # the local mean of x·y, made 2 · covariance + c2
            cross -= mean_xy
            cross *= 2 * cov
            cross += c2
            num = mean_xy  # (2 · ux · uy + c1) · cross
            num *= 2
            num += c1
            num *= cross
            den = uy2[js] + ux2  # (ux² + uy² + c1) · (vx + vy + c2)
            den += c1
            den *= vy[js] + vx + c2
            num /= den
            out[i, js] = num.reshape(len(num), -1).mean(1, dtype=np.float64)

    parts = np.array_split(np.arange(len(pred)), max(1, min(threads, len(pred))))
    if len(parts) == 1:
        fill_rows(parts[0])
    else:  # rows split between threads, the true side's local statistics computed once for all of them
        with ThreadPoolExecutor(len(parts)) as pool:
            list(pool.map(fill_rows, parts))
    return out


def ssim_within(pred: list[np.ndarray], true: list[np.ndarray], groups: list[str], threads: int = 1
                ) -> np.ndarray:
    """:func:`ssim_matrix` between the trials of each group (participant), NaN between groups: the cost grows with
    the subjects, not their square, and only a group's true images are held at a time."""
    out = np.full((len(pred), len(true)), np.nan)
    for idx in group_members(groups).values():
        out[np.ix_(idx, idx)] = ssim_matrix([pred[i] for i in idx], [true[i] for i in idx], threads=threads)
    return out


def metric_matrices(pred: list[np.ndarray], true: list[np.ndarray], rate: float, mel: bool = False,
                    groups: list[str] | None = None, threads: int = 1) -> dict[str, np.ndarray]:
    """Every metric's decoded × true matrix; trials are cropped to a common length first. ``groups`` (the
    participant of each trial) bounds the ``WITHIN_PARTICIPANT`` matrices; without it they cover every pair."""
    n = min(min(x.shape[-1] for x in pred), min(x.shape[-1] for x in true))
    pred = [p[..., :n] for p in pred]
    true = [t[..., :n] for t in true]
    if mel:  # (mels, frames) images
        return {"mel_r": pearson_matrix(pred, true),
                "mel_ssim": ssim_within(pred, true, groups, threads) if groups else ssim_matrix(pred, true)}
    pb, tb = [band(p, rate) for p in pred], [band(t, rate) for t in true]
    ps, ts = [psd(p, rate) for p in pred], [psd(t, rate) for t in true]
    ss, ts2 = [spec(p, rate) for p in pred], [spec(t, rate) for t in true]
    return {
        "r_time": pearson_matrix(pred, true),
        "r_spectrum": pearson_matrix(ps, ts),
        "ssim_spectrogram": ssim_matrix(ss, ts2, threads=threads),
        "ssim_band": ssim_matrix(pb, tb, threads=threads),  # the similarity Daly's rank accuracy ranks
    }


def rank_scorer(sim: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Rank accuracy of every decoded trial for any pairing ``partner`` (a permutation of the true trials).

    Each entry's rank within its row (how many are smaller, how many equal) is found once, by sorting the rows;
    a pairing then costs one lookup per trial instead of a pass over the whole matrix: the bcmi study's 4000
    shuffles of 2426 pooled trials take seconds, not minutes.
    """
    n = sim.shape[0]
    ordered = np.sort(sim, axis=1)
    less = np.empty(sim.shape, dtype=np.int64)
    equal = np.empty(sim.shape, dtype=np.int64)
    for i in range(n):
        less[i] = np.searchsorted(ordered[i], sim[i], "left")
        equal[i] = np.searchsorted(ordered[i], sim[i], "right") - less[i]
    rows = np.arange(n)

    def score(partner: np.ndarray) -> np.ndarray:
        # the partner's own entry is among the equal ones; the others that tie with it count half
        return (less[rows, partner] + 0.5 * (equal[rows, partner] - 1)) / (n - 1)

    return score


def rank_accuracy(sim: np.ndarray, partner: np.ndarray | None = None) -> np.ndarray:
    """Per decoded trial: normalised rank of its true partner's similarity among all true trials (ties count
    half). 1.0 = the right trial is the most similar, 0.5 = chance, 0.0 = the least similar."""
    return rank_scorer(sim)(np.arange(sim.shape[0]) if partner is None else partner)


def identification_scorer(sim: np.ndarray, clips: list[str]) -> Callable[[np.ndarray], np.ndarray]:
    """Identification of every decoded trial for any pairing ``partner``: the most similar clip of each decoded
    trial does not depend on the pairing, so it is found once."""
    names = sorted(set(clips))
    index = np.array([names.index(c) for c in clips])
    member = (index[None, :] == np.arange(len(names))[:, None]).astype(float)  # (clip, trial)
    best = (sim @ member.T / member.sum(1)).argmax(1)  # (decoded trial) → its most similar clip

    def score(partner: np.ndarray) -> np.ndarray:
        return (best == index[partner]).astype(float)

    return score


def identification(sim: np.ndarray, clips: list[str], partner: np.ndarray | None = None) -> np.ndarray:
    """Per decoded trial: 1 if the clip of its (partner) true trial is the most similar clip, else 0.

    A clip's similarity is the mean over the true trials of that clip; chance is 1 / number of clips.
    """
    return identification_scorer(sim, clips)(np.arange(sim.shape[0]) if partner is None else partner)
