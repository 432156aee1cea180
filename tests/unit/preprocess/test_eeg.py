"""EEG cleaning helpers."""

from __future__ import annotations

import numpy as np
import pytest


def test_mean_psd_of_a_sampled_run_finds_the_rhythm_and_the_noise_level():
    """The QC figure's PSD uses 64 segments of a long run: white noise of SD σ has a one-sided density 2σ²/fs, and
    a 10 Hz rhythm stands out at 10 Hz."""
    import mne

    from eeg2music.preprocess.eeg import mean_psd

    rng = np.random.default_rng(0)
    sfreq, n = 250.0, 250 * 600
    t = np.arange(n) / sfreq
    data = 1e-6 * rng.normal(size=(4, n)) + 5e-6 * np.sin(2 * np.pi * 10 * t)
    raw = mne.io.RawArray(data, mne.create_info(4, sfreq, "eeg"), verbose="error")
    freqs, psd = mean_psd(raw)
    assert freqs[np.argmax(psd)] == 10.0
    flat = (freqs > 30) & (freqs < 100)
    assert np.median(psd[flat]) == pytest.approx(2 * 1e-12 / sfreq, rel=0.15)
