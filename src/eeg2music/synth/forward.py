"""The forward model of the synthetic study: how a music clip becomes EEG.

    eeg(t) = g · Σ_k a_k (h_k ∗ x_k)(t)  +  neural noise(t)  +  artefacts(t)

* ``x_env``: the clip's amplitude envelope (|Hilbert|, low-passed at 8 Hz); ``x_on``: note onsets as impulses
  weighted by loudness.
* ``h_k``: per-subject temporal response functions over lags 0–400 ms, each a sum of three Gaussian deflections with
  P1/N1/P2-like latencies (40–70, 90–140, 180–300 ms) and random amplitudes.
* ``a_k``: per-subject spatial patterns, a smooth blob around a random fronto-central/temporal electrode.
* neural noise: 16 pink (1/f) sources mixed through smooth random patterns, occipital alpha bursts (8–12 Hz),
  1 µV sensor noise; about 10 µV RMS per channel.
* artefacts: eye blinks on frontal channels (60–120 µV, 0.2/s), 50 Hz mains with its third harmonic,
  slow drift (<0.1 Hz).
* ``g`` is chosen so that var(signal) / var(neural noise) = SNR (artefacts excluded); SNR 0 gives a null study
  whose EEG is independent of the music.
* ``Realism`` (the easy study's defaults: 16 background sources, no spreads). With 16 smooth sources on 30+
  electrodes, the background has low spatial rank and a spatial filter can cancel most of it; real background EEG
  is effectively full rank. Real responses are also not one fixed kernel: each subject's SNR is drawn around the
  study's, each trial's response gain and latency vary (attention, adaptation), and the background's amplitude
  drifts slowly (vigilance), so a decoder fitted on some trials transfers imperfectly to others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import mne
import numpy as np
from scipy.signal import butter, sosfiltfilt

from eeg2music.preprocess.audio import amplitude_envelope
from eeg2music.preprocess.channels import normalise_channel_name, standard_montage

LAGS_S = 0.4  # TRF support
EGI_NAME = re.compile(r"E\d+")
FEATURES = ("envelope", "onsets")


def channel_positions(names: list[str], rng: np.random.Generator) -> np.ndarray:
    """(n, 3) head positions in metres from the template montage (EGI's ``E1``… from the GSN HydroCel-128 net, as
    NMED-T recorded); unknown names get random scalp points."""
    pos = standard_montage().get_positions()["ch_pos"]
    egi = mne.channels.make_standard_montage("GSN-HydroCel-128").get_positions()["ch_pos"] \
        if any(EGI_NAME.fullmatch(n) for n in names) else {}
    out = []
    for name in names:
        p = pos.get(normalise_channel_name(name))
        if p is None:
            p = egi.get(name)
        if p is None:
            v = rng.normal(size=3)
            v[2] = abs(v[2])
            p = 0.09 * v / np.linalg.norm(v)
        out.append(p)
    return np.asarray(out)


def _blob(positions: np.ndarray, centre: np.ndarray, width_m: float) -> np.ndarray:
    d2 = ((positions - centre) ** 2).sum(axis=1)
    return np.exp(-d2 / (2 * width_m**2))


def _pink(n_sources: int, n: int, sfreq: float, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.normal(size=(n_sources, n)), axis=1)
    f = np.fft.rfftfreq(n, 1 / sfreq)
    spec /= np.sqrt(np.maximum(f, 0.5))
    x = np.fft.irfft(spec, n=n, axis=1)
    return x / x.std(axis=1, keepdims=True)


def _pink_mixed(mixing: np.ndarray, n: int, sfreq: float, rng: np.random.Generator) -> np.ndarray:
    """``mixing @ _pink(n_sources, …)`` for more sources than channels, drawn in channel space: every source has
    the same 1/f spectrum, so mixing white noise first and filtering after gives the same Gaussian process with
    one FFT per channel instead of one per source (200 sources on 46 channels: several times faster)."""
    w, v = np.linalg.eigh(mixing @ mixing.T)
    white = (v * np.sqrt(np.clip(w, 0, None))) @ rng.normal(size=(mixing.shape[0], n))
    f = np.fft.rfftfreq(n, 1 / sfreq)
    gain2 = 1 / np.maximum(f, 0.5)
    # variance of unit white noise after the filter (the per-source normalisation of _pink, in expectation)
    var = (2 * gain2.sum() - gain2[0] - (gain2[-1] if n % 2 == 0 else 0)) / n
    return np.fft.irfft(np.fft.rfft(white, axis=1) * np.sqrt(gain2), n=n, axis=1) / np.sqrt(var)


@dataclass
class Realism:
    """What makes the simulated EEG as hard to decode as real EEG; every spread keeps the mean power."""

    subject_snr_sd: float = 0.0  # SD of log SNR across subjects
    trial_gain_sd: float = 0.0  # SD of log response gain across trials
    latency_jitter_s: float = 0.0  # SD of each trial's response latency shift (s)
    noise_modulation: float = 0.0  # SD of the log background amplitude, varying below 0.05 Hz
    noise_sources: int = 16  # pink background sources (spatial rank of the background)
    sensor_noise: float = 0.1  # white sensor noise, relative to one background source
    music_blinks: float = 0.0  # chance that a note onset is followed by a blink (a planted artefact: 0 = none)

    def subject_snr(self, snr: float, rng: np.random.Generator) -> float:
        if not self.subject_snr_sd:
            return snr
        return snr * float(np.exp(rng.normal(0, self.subject_snr_sd) - self.subject_snr_sd**2 / 2))

    def trial_drive(self, features: np.ndarray, sfreq: float, rng: np.random.Generator) -> np.ndarray:
        """One trial's drive with its own gain and latency (features shifted later, zero-filled)."""
        if not (self.trial_gain_sd or self.latency_jitter_s):
            return features
        gain = np.exp(rng.normal(0, self.trial_gain_sd) - self.trial_gain_sd**2) if self.trial_gain_sd else 1.0
        shift = round(rng.normal(0, self.latency_jitter_s) * sfreq) if self.latency_jitter_s else 0
        out = np.zeros_like(features)
        if shift >= 0:
            out[:, shift:] = features[:, : features.shape[1] - shift]
        else:
            out[:, :shift] = features[:, -shift:]
        return gain * out


@dataclass
class SubjectModel:
    """Everything that makes one synthetic subject's EEG; saved in the ground truth."""

    ch_names: list[str]
    sfreq: float
    kernels: np.ndarray  # (feature, lag) unit-free TRF shapes, h_k
    patterns: np.ndarray  # (feature, channel), a_k, unit norm
    noise_mixing: np.ndarray  # (channel, source)
    alpha_pattern: np.ndarray  # (channel,)
    blink_pattern: np.ndarray  # (channel,)
    mains_uv: np.ndarray  # (channel,)
    snr: float
    gain: float = 1.0  # g, set by calibrate_gain
    noise_uv: float = 10.0
    noise_modulation: float = 0.0  # Realism.noise_modulation
    sensor_noise: float = 0.1  # Realism.sensor_noise
    music_blinks: float = 0.0  # Realism.music_blinks

    @classmethod
    def random(cls, ch_names: list[str], sfreq: float, snr: float, rng: np.random.Generator,
               realism: Realism | None = None) -> SubjectModel:
        realism = realism or Realism()
        pos = channel_positions(ch_names, rng)
        lags = np.arange(int(LAGS_S * sfreq)) / sfreq
        kernels = []
        for _ in FEATURES:
            h = np.zeros_like(lags)
            for lo, hi, sign in ((0.04, 0.07, 1), (0.09, 0.14, -1), (0.18, 0.30, 1)):
                lat, width = rng.uniform(lo, hi), rng.uniform(0.015, 0.04)
                h += sign * rng.uniform(0.5, 1.5) * np.exp(-((lags - lat) ** 2) / (2 * width**2))
            kernels.append(h / np.abs(h).max())
        centres = ["FCz", "Cz", "FC1", "FC2", "C3", "C4", "T7", "T8", "Fz"]
        cpos = standard_montage().get_positions()["ch_pos"]
        patterns = []
        for _ in FEATURES:
            c = cpos[centres[rng.integers(len(centres))]]
            a = _blob(pos, c, rng.uniform(0.04, 0.07)) * rng.choice([-1, 1])
            patterns.append(a / np.linalg.norm(a))
        n_src = realism.noise_sources
        mixing = np.stack([_blob(pos, pos[rng.integers(len(pos))], rng.uniform(0.03, 0.08)) for _ in range(n_src)],
                          axis=1) * rng.normal(size=n_src)
        mixing /= np.sqrt((mixing**2).sum(axis=1, keepdims=True))
        return cls(
            ch_names=list(ch_names), sfreq=sfreq, kernels=np.asarray(kernels), patterns=np.asarray(patterns),
            noise_mixing=mixing, alpha_pattern=_blob(pos, cpos["Oz"], 0.06),
            blink_pattern=_blob(pos, cpos["Fpz"], 0.035), mains_uv=rng.uniform(2, 15, size=len(ch_names)), snr=snr,
            noise_modulation=realism.noise_modulation, sensor_noise=realism.sensor_noise,
            music_blinks=realism.music_blinks,
        )

    # -- the three parts of the model -------------------------------------------------------------------------
    def stimulus_features(self, audio: np.ndarray, audio_rate: int, onsets_s: np.ndarray, velocities: np.ndarray,
                          n: int) -> np.ndarray:
        """(feature, time) drive at the EEG rate: low-passed envelope and loudness-weighted onsets."""
        env = amplitude_envelope(audio, audio_rate, self.sfreq)[:n]
        env = np.pad(env, (0, n - env.size))
        env = sosfiltfilt(butter(4, 8.0, fs=self.sfreq, output="sos"), env)
        onsets = np.zeros(n)
        idx = np.round(onsets_s * self.sfreq).astype(int)
        keep = idx < n
        onsets[idx[keep]] = velocities[keep]
        return np.stack([env / 0.1, onsets * 5.0])

    def evoked(self, features: np.ndarray) -> np.ndarray:
        """Σ_k a_k (h_k ∗ x_k): the music-driven part in volts (before the gain g), (channel, time)."""
        out = np.zeros((len(self.ch_names), features.shape[1]))
        for k in range(len(FEATURES)):
            drive = np.convolve(features[k], self.kernels[k])[: features.shape[1]]
            out += np.outer(self.patterns[k], drive)
        return out * 1e-6 * self.noise_uv

    def neural_noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        n_channels, n_sources = self.noise_mixing.shape
        pink = _pink_mixed(self.noise_mixing, n, self.sfreq, rng) if n_sources > n_channels else \
            self.noise_mixing @ _pink(n_sources, n, self.sfreq, rng)
        t = np.arange(n) / self.sfreq
        burst = sosfiltfilt(butter(2, 0.5, fs=self.sfreq, output="sos"), rng.normal(size=n))
        burst = np.clip(burst / burst.std() - 0.5, 0, None)
        alpha = burst * np.sin(2 * np.pi * (10 + 0.5 * np.sin(2 * np.pi * 0.05 * t)) * t)
        noise = pink + 1.5 * np.outer(self.alpha_pattern, alpha) + \
            self.sensor_noise * rng.normal(size=(len(self.ch_names), n))
        if self.noise_modulation:
            # circular low-pass in the frequency domain: a 0.05 Hz filtfilt has edge transients of 20 SD
            spec = np.fft.rfft(rng.normal(size=n))
            spec[np.fft.rfftfreq(n, 1 / self.sfreq) > 0.05] = 0
            slow = np.fft.irfft(spec, n=n)
            noise *= np.exp(self.noise_modulation * slow / slow.std() - self.noise_modulation**2)
        return noise * 1e-6 * self.noise_uv

    def artefacts(self, n: int, rng: np.random.Generator, notes: np.ndarray | None = None) -> np.ndarray:
        """Blinks, mains and drift in volts. With ``music_blinks``, each note onset in ``notes`` (the onset feature)
        is also followed 250 ms later by a blink with that chance: eye activity that carries the music."""
        t = np.arange(n) / self.sfreq
        blinks = np.zeros(n)
        width = int(0.4 * self.sfreq)
        shape = np.sin(np.linspace(0, np.pi, width)) ** 2

        def blink(onset: int) -> None:
            seg = blinks[onset:onset + width]
            seg += rng.uniform(60, 120) * shape[: seg.size]

        for onset in np.flatnonzero(rng.random(n) < 0.2 / self.sfreq):
            blink(onset)
        phase = rng.uniform(0, 2 * np.pi, size=(len(self.ch_names), 1))
        mains = self.mains_uv[:, None] * (np.sin(2 * np.pi * 50 * t + phase) + 0.3 * np.sin(2 * np.pi * 150 * t))
        drift = sosfiltfilt(butter(2, 0.1, fs=self.sfreq, output="sos"),
                            rng.normal(size=(len(self.ch_names), n)), axis=1)
        drift *= 20 / drift.std(axis=1, keepdims=True)
        if self.music_blinks and notes is not None:  # drawn last: the default random stream is unchanged
            onsets = np.flatnonzero(notes[:n] > 0)
            for onset in onsets[rng.random(onsets.size) < self.music_blinks] + round(0.25 * self.sfreq):
                if onset < n:
                    blink(int(onset))
        return (np.outer(self.blink_pattern, blinks) + mains + drift) * 1e-6

    def calibrate_gain(self, features: np.ndarray, rng: np.random.Generator) -> None:
        """Set g so that var(g·evoked) / var(neural noise) equals the SNR."""
        evoked = self.evoked(features)
        noise = self.neural_noise(features.shape[1], rng)
        self.gain = float(np.sqrt(self.snr * noise.var() / max(evoked.var(), 1e-30)))

    def simulate(self, features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """EEG in volts, (channel, time)."""
        n = features.shape[1]
        return self.gain * self.evoked(features) + self.neural_noise(n, rng) + self.artefacts(n, rng, features[1])
