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
from scipy.ndimage import uniform_filter
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


def pearson_matrix(pred: list[np.ndarray], true: list[np.ndarray]) -> np.ndarray:
    """``M[i, j] = pearson(pred[i], true[j])`` for equally shaped arrays, as one matrix product."""
    def standard(xs: list[np.ndarray]) -> np.ndarray:
        x = np.stack([a.ravel() for a in xs]).astype(np.float64)
        x -= x.mean(1, keepdims=True)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    return standard(pred) @ standard(true).T


def ssim_matrix(pred: list[np.ndarray], true: list[np.ndarray], k1: float = 0.01, k2: float = 0.03,
                chunk: int = 8) -> np.ndarray:
    """``M[i, j] = ssim(pred[i], true[j])`` for equally shaped signals or images, vectorised over ``j``.

    The same arithmetic as :func:`ssim` (scikit-image's uniform 7-wide window, sample covariance, joint data range
    per pair), but local means and variances are filtered once per signal and only the cross term per pair, on
    ``chunk`` true signals at a time (temporaries stay small enough to be reused rather than mapped afresh), and the
    SSIM map is formed only where it is averaged (away from the edges): 72 test trials' log-mels in seconds.
    """
    t = np.stack(true).astype(np.float64)
    win = min(7, *(s if s % 2 else s - 1 for s in t.shape[1:]))
    size, pad = (1,) + (win,) * (t.ndim - 1), (win - 1) // 2
    cov = win ** (t.ndim - 1) / (win ** (t.ndim - 1) - 1)
    inner = (slice(None),) + (slice(pad, -pad or None),) * (t.ndim - 1)
    uy = uniform_filter(t, size=size)
    vy = (cov * (uniform_filter(t * t, size=size) - uy * uy))[inner]
    uy_in = uy[inner]
    t_lo, t_hi = t.reshape(len(t), -1).min(1), t.reshape(len(t), -1).max(1)
    out = np.empty((len(pred), len(true)))
    for i, p in enumerate(pred):
        x = p.astype(np.float64)
        ux = uniform_filter(x, size=size[1:])
        vx = (cov * (uniform_filter(x * x, size=size[1:]) - ux * ux))[inner[1:]]
        ux = ux[inner[1:]]
        rng = np.maximum(t_hi, x.max()) - np.minimum(t_lo, x.min())
        rng = np.where(rng > 0, rng, 1.0).reshape((-1,) + (1,) * (t.ndim - 1))
        for j in range(0, len(t), chunk):
            js = slice(j, j + chunk)
            c1, c2 = (k1 * rng[js]) ** 2, (k2 * rng[js]) ** 2
            m_y = uy_in[js]
            vxy = uniform_filter(x * t[js], size=size)[inner]
            vxy -= ux * m_y
            vxy *= 2 * cov
            vxy += c2
            num = ux * m_y
            num *= 2
            num += c1
            num *= vxy
            den = ux * ux + m_y * m_y
            den += c1
            den *= vx + vy[js] + c2
            num /= den
            out[i, js] = num.reshape(len(num), -1).mean(1)
    return out


def metric_matrices(pred: list[np.ndarray], true: list[np.ndarray], rate: float, mel: bool = False
                    ) -> dict[str, np.ndarray]:
    """Every metric's decoded × true matrix; trials are cropped to a common length first."""
    n = min(min(x.shape[-1] for x in pred), min(x.shape[-1] for x in true))
    pred = [p[..., :n] for p in pred]
    true = [t[..., :n] for t in true]
    if mel:  # (mels, frames) images
        return {"mel_r": pearson_matrix(pred, true), "mel_ssim": ssim_matrix(pred, true)}
    pb, tb = [band(p, rate) for p in pred], [band(t, rate) for t in true]
    ps, ts = [psd(p, rate) for p in pred], [psd(t, rate) for t in true]
    ss, ts2 = [spec(p, rate) for p in pred], [spec(t, rate) for t in true]
    return {
        "r_time": pearson_matrix(pred, true),
        "r_spectrum": pearson_matrix(ps, ts),
        "ssim_spectrogram": ssim_matrix(ss, ts2),
        "ssim_band": ssim_matrix(pb, tb),  # the similarity Daly's rank accuracy ranks
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
