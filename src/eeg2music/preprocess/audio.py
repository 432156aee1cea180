"""Audio targets aligned to EEG time: waveform, Daly's 100 Hz amplitude, and log-mel frames.

Alignment rule: sample ``k`` of a target at rate ``r`` describes time ``k / r`` from the trial onset, exactly as EEG
sample ``j`` at rate ``fs`` describes ``j / fs``. Log-mel frames are centred (``center=True``) so frame ``k`` is
centred on ``k / mel_rate``.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import soundfile as sf

from eeg2music.errors import InputError


def load_audio(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 audio and its rate; stereo is averaged (the BCMI wavs are 44.1 kHz stereo)."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as err:  # soundfile raises LibsndfileError for bad files
        raise InputError(path, f"cannot read audio ({err})", "replace the file with a readable wav/flac") from err
    return data.mean(axis=1), int(rate)


def resample(x: np.ndarray, rate_in: float, rate_out: float, axis: int = -1) -> np.ndarray:
    """Polyphase resampling with scipy's anti-alias FIR; rates must have a small rational ratio."""
    if rate_in == rate_out:
        return x
    ratio = Fraction(rate_out / rate_in).limit_denominator(1000)
    from scipy.signal import resample_poly  # here, not at the top: every training job imports this module

    return resample_poly(x, ratio.numerator, ratio.denominator, axis=axis)


def amplitude_envelope(audio: np.ndarray, rate: float, out_rate: float) -> np.ndarray:
    """Daly (2023)'s music amplitude signal: |Hilbert| of the waveform, anti-aliased down to ``out_rate``."""
    from scipy.signal import hilbert

    env = np.abs(hilbert(audio.astype(np.float64)))
    return resample(env, rate, out_rate).astype(np.float32)


def envelope_from_mel(log_mel_frames: np.ndarray, mel_rate: float, out_rate: float) -> np.ndarray:
    """Amplitude from a (n_mels, frames) natural-log mel power image: √(Σ mel power), resampled to ``out_rate``.

    Proportional to the frame's RMS (up to the mel filters' weighting), so after z-scoring it is comparable to
    :func:`amplitude_envelope` for models that output a mel rather than a waveform."""
    amp = np.sqrt(np.exp(log_mel_frames.astype(np.float64)).sum(axis=0))
    return resample(amp, mel_rate, out_rate).astype(np.float32)


@cache
def _mel_transform(rate: int, hop: int, n_mels: int, n_fft: int):
    import torchaudio  # deferred: torch takes a second to import and only this function needs it

    return torchaudio.transforms.MelSpectrogram(
        sample_rate=rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, center=True, power=2.0, norm="slaney",
        mel_scale="slaney",
    )


def log_mel(audio: np.ndarray, rate: int, frame_rate: float, n_mels: int, n_fft: int = 1024) -> np.ndarray:
    """(n_mels, frames) natural-log mel power; frame ``k`` is centred on ``k / frame_rate`` seconds."""
    import torch

    hop = rate / frame_rate
    if abs(hop - round(hop)) > 1e-9:
        raise ValueError(f"mel frame rate {frame_rate} Hz does not divide the audio rate {rate} Hz")
    mel = _mel_transform(int(rate), round(hop), n_mels, n_fft)(torch.from_numpy(np.ascontiguousarray(audio)))
    n_frames = round(audio.size / hop)
    return torch.log(mel[:, :n_frames] + 1e-5).numpy().astype(np.float32)


def fit_length(x: np.ndarray, n: int, path: Path, rate: float, tolerance_s: float) -> np.ndarray:
    """Crop ``x`` to ``n`` samples, or zero-pad when it is short by at most ``tolerance_s``."""
    if x.size >= n:
        return x[:n]
    short_s = (n - x.size) / rate
    if short_s > tolerance_s:
        raise InputError(
            path,
            f"audio is {x.size / rate:.2f} s but its trial needs {n / rate:.2f} s (short by {short_s:.2f} s, "
            f"tolerance {tolerance_s} s)",
            "if the dataset's clips are shorter than its trials, set trial_s in its datasets entry in "
            "config/config.yaml to the clip length (raising preprocess.audio_tolerance_s would zero-pad the "
            "missing seconds); else check that events.tsv names the right clip",
        )
    return np.pad(x, (0, n - x.size))
