"""The ceiling of the synthetic study: the correlation an oracle linear decoder reaches.

"Oracle" means unlimited data from the same subject model: we simulate a long independent recording (fresh clips,
same TRFs, same noise and artefacts), band-pass EEG and envelope to 1–8 Hz at 100 Hz, fit a backward model (ridge over
EEG lags 0–400 ms → envelope) on 4 minutes, pick the ridge on 1 minute and report Pearson r on 1 held-out minute.
A decoder trained on the small study should approach, not exceed, this number.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from eeg2music.preprocess.audio import resample
from eeg2music.synth.forward import Realism, SubjectModel
from eeg2music.synth.music import piano_clip

RATE = 100.0
LAG_S = 0.4
RIDGES = (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3)


def lagged(x: np.ndarray, n_lags: int) -> np.ndarray:
    """(time, channel·lag) design: row t holds x[:, t + 0 … t + n_lags − 1] (EEG follows the music)."""
    n_ch, n = x.shape
    out = np.zeros((n, n_ch * n_lags))
    for lag in range(n_lags):
        out[: n - lag, lag * n_ch:(lag + 1) * n_ch] = x[:, lag:].T
    return out


def long_stimulus(model: SubjectModel, seconds: float, audio_rate: int, rng: np.random.Generator,
                  realism: Realism | None = None) -> np.ndarray:
    """Drive features of back-to-back fresh random clips, ``seconds`` long (each clip a trial of ``realism``)."""
    chunks = []
    for _ in range(int(np.ceil(seconds / 20))):
        clip = piano_clip("ceiling.wav", 20.0, audio_rate, rng)
        n = int(20 * model.sfreq)
        drive = model.stimulus_features(clip.audio, audio_rate, clip.onsets_s, clip.velocities, n)
        chunks.append(realism.trial_drive(drive, model.sfreq, rng) if realism else drive)
    return np.concatenate(chunks, axis=1)[:, : int(seconds * model.sfreq)]


def oracle_ceiling(model: SubjectModel, rng: np.random.Generator, audio_rate: int = 8000,
                   fit_s: float = 240, val_s: float = 60, test_s: float = 60,
                   realism: Realism | None = None) -> float:
    feats = long_stimulus(model, fit_s + val_s + test_s, audio_rate, rng, realism)
    eeg = model.simulate(feats, rng)
    eeg -= eeg.mean(axis=0, keepdims=True)  # average reference
    sos = butter(4, (1.0, 8.0), btype="bandpass", fs=model.sfreq, output="sos")
    eeg = resample(sosfiltfilt(sos, eeg, axis=1), model.sfreq, RATE, axis=1)
    env = resample(sosfiltfilt(sos, feats[0]), model.sfreq, RATE)
    x = lagged(eeg / eeg.std(), int(LAG_S * RATE))
    a, b = int(fit_s * RATE), int((fit_s + val_s) * RATE)
    xtx = x[:a].T @ x[:a]
    xty = x[:a].T @ env[:a]
    best, best_r = None, -np.inf
    scale = np.trace(xtx) / xtx.shape[0]
    for ridge in RIDGES:
        w = np.linalg.solve(xtx + ridge * scale * np.eye(xtx.shape[0]), xty)
        r = np.corrcoef(x[a:b] @ w, env[a:b])[0, 1]
        if r > best_r:
            best, best_r = w, r
    return float(np.corrcoef(x[b:] @ best, env[b:])[0, 1])
