"""Decoding metrics, each as a matrix ``M[i, j] = metric(decoded_i, true_j)`` over test trials.

The diagonal is the score of each trial; the off-diagonal entries give the trial-shuffle permutation null for free
(``stats.permutation_test``), and rank accuracy and identification are read off the same matrix.

* Pearson r in time and of power spectra (Welch), SSIM of spectrograms (scikit-image), after Daly (2023);
* Daly's rank accuracy: z-score, band-pass 0.035–4.75 Hz, SSIM of each decoded trial against every true trial,
  normalised rank of the true one (1 = best, 0.5 = chance, 0 = worst);
* n-way clip identification: the clip whose true signal is most similar (by the same band-passed SSIM) wins;
* for mel targets: Pearson r and SSIM of the log-mel images.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt, spectrogram, welch
from skimage.metrics import structural_similarity

RANK_BAND = (0.035, 4.75)


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


def _pairwise(pred: list[np.ndarray], true: list[np.ndarray], f) -> np.ndarray:
    return np.array([[f(p, t) for t in true] for p in pred])


def metric_matrices(pred: list[np.ndarray], true: list[np.ndarray], rate: float, mel: bool = False
                    ) -> dict[str, np.ndarray]:
    """Every metric's decoded × true matrix; trials are cropped to a common length first."""
    n = min(min(x.shape[-1] for x in pred), min(x.shape[-1] for x in true))
    pred = [p[..., :n] for p in pred]
    true = [t[..., :n] for t in true]
    if mel:  # (mels, frames) images
        return {"mel_r": _pairwise(pred, true, pearson), "mel_ssim": _pairwise(pred, true, ssim)}
    pb, tb = [band(p, rate) for p in pred], [band(t, rate) for t in true]
    ps, ts = [psd(p, rate) for p in pred], [psd(t, rate) for t in true]
    ss, ts2 = [spec(p, rate) for p in pred], [spec(t, rate) for t in true]
    return {
        "r_time": _pairwise(pred, true, pearson),
        "r_spectrum": _pairwise(ps, ts, pearson),
        "ssim_spectrogram": _pairwise(ss, ts2, ssim),
        "ssim_band": _pairwise(pb, tb, ssim),  # the similarity Daly's rank accuracy ranks
    }


def rank_accuracy(sim: np.ndarray, partner: np.ndarray | None = None) -> np.ndarray:
    """Per decoded trial: normalised rank of its true partner's similarity among all true trials (ties count
    half). 1.0 = the right trial is the most similar, 0.5 = chance, 0.0 = the least similar."""
    n = sim.shape[0]
    partner = np.arange(n) if partner is None else partner
    own = sim[np.arange(n), partner][:, None]
    others = np.ones_like(sim, dtype=bool)
    others[np.arange(n), partner] = False
    below = ((sim < own) & others).sum(1) + 0.5 * ((sim == own) & others).sum(1)
    return below / (n - 1)


def identification(sim: np.ndarray, clips: list[str], partner: np.ndarray | None = None) -> np.ndarray:
    """Per decoded trial: 1 if the clip of its (partner) true trial is the most similar clip, else 0.

    A clip's similarity is the mean over the true trials of that clip; chance is 1 / number of clips.
    """
    n = sim.shape[0]
    partner = np.arange(n) if partner is None else partner
    names = sorted(set(clips))
    member = np.array([[c == name for c in clips] for name in names], dtype=float)  # (clip, trial)
    by_clip = sim @ member.T / member.sum(1)  # (decoded trial, clip)
    truth = np.array([names.index(clips[j]) for j in partner])
    return (by_clip.argmax(1) == truth).astype(float)
