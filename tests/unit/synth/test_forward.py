"""The forward model's realism settings: each spread keeps the mean power; the full-rank background is the same
process as the per-source one; nothing blows up over a real run's length."""

from __future__ import annotations

import numpy as np

from eeg2music.synth.forward import Realism, SubjectModel, _pink, _pink_mixed

NAMES = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T7", "T8", "P7", "P8", "Fz",
         "Cz", "Pz", "FC1", "FC2", "CP1", "CP2", "FC5", "FC6", "CP5", "CP6", "Oz"]


def test_trial_gain_and_subject_snr_keep_the_mean_power():
    rng = np.random.default_rng(0)
    r = Realism(subject_snr_sd=0.7, trial_gain_sd=0.6)
    drive = np.ones((2, 100))
    power = [np.mean(r.trial_drive(drive, 100.0, rng) ** 2) for _ in range(20000)]
    assert abs(np.mean(power) - 1) < 0.05
    snrs = [r.subject_snr(0.01, rng) for _ in range(20000)]
    assert abs(np.mean(snrs) / 0.01 - 1) < 0.05 and np.std(np.log(snrs)) > 0.6


def test_latency_jitter_shifts_the_drive():
    rng = np.random.default_rng(1)
    drive = np.zeros((1, 1000))
    drive[0, 500] = 1.0
    peaks = {int(np.argmax(Realism(latency_jitter_s=0.05).trial_drive(drive, 1000.0, rng)[0])) for _ in range(50)}
    assert len(peaks) > 10 and min(peaks) < 480 < 520 < max(peaks)
    assert Realism().trial_drive(drive, 1000.0, rng) is drive  # the easy study draws nothing


def test_full_rank_background_matches_the_per_source_process():
    rng = np.random.default_rng(2)
    mixing = rng.normal(size=(8, 40))
    a = np.mean([np.cov(mixing @ _pink(40, 4000, 100.0, rng)) for _ in range(40)], axis=0)
    b = np.mean([np.cov(_pink_mixed(mixing, 4000, 100.0, rng)) for _ in range(40)], axis=0)
    assert np.abs(a - b).max() < 0.1 * np.abs(a).max()


def test_modulated_background_stays_bounded_over_a_long_run():
    rng = np.random.default_rng(3)
    model = SubjectModel.random(NAMES, 1000.0, 0.003, rng, Realism(noise_modulation=0.5, noise_sources=100))
    plain = SubjectModel.random(NAMES, 1000.0, 0.003, rng)
    n = 815_000  # ds002722 sub-01 run5: a 0.05 Hz filtfilt blew this length up to volts
    assert np.abs(model.neural_noise(n, rng)).max() < 100 * plain.neural_noise(n, rng).std()
