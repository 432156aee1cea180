"""Piano-like music clips whose melody, tempo and loudness differ, so each clip is identifiable from its envelope."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)


@dataclass
class Clip:
    name: str  # file name relative to the stimuli folder, e.g. "generated/2-8_2.wav"
    audio: np.ndarray  # (time,) float32 in [-1, 1]
    sfreq: int
    onsets_s: np.ndarray  # note onset times
    velocities: np.ndarray  # note loudness 0..1, same length as onsets_s
    tempo_bpm: float
    gain_db: float
    root_midi: int


def _piano_note(freq: float, dur_s: float, sfreq: int, velocity: float) -> np.ndarray:
    """A struck string: decaying harmonics (higher ones decay faster), 5 ms attack, 30 ms release."""
    n = max(int(dur_s * sfreq), 1)
    t = np.arange(n) / sfreq
    note = np.zeros(n)
    for h in range(1, 7):
        if h * freq >= sfreq / 2:
            break
        decay = 0.9 / (h**0.7)
        note += (1.0 / h**1.3) * np.sin(2 * np.pi * h * freq * t) * np.exp(-t / decay)
    env = np.minimum(1.0, t / 0.005) * np.minimum(1.0, (dur_s - t) / 0.03).clip(0, 1)
    return velocity * note * env


def piano_clip(name: str, duration_s: float, sfreq: int, rng: np.random.Generator) -> Clip:
    """A random melody (scale walk, with a bass note each bar) at a random tempo and overall loudness."""
    tempo = float(rng.uniform(60, 160))
    beat = 60.0 / tempo
    gain_db = float(rng.uniform(-12, 0))
    root = int(rng.integers(55, 67))
    scale = MAJOR if rng.random() < 0.5 else MINOR
    n = int(duration_s * sfreq)
    audio = np.zeros(n + sfreq)
    onsets, velocities = [], []
    t, degree, beat_count = 0.25 * rng.random(), 7, 0
    while t < duration_s - 0.1:
        length = beat * rng.choice([0.5, 1.0, 1.0, 2.0])
        if rng.random() < 0.12:  # a rest
            t += length
            continue
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 14))
        midi = root + 12 * (degree // 7) + scale[degree % 7]
        velocity = float(np.clip(rng.normal(0.7, 0.15), 0.2, 1.0))
        start = int(t * sfreq)
        note = _piano_note(440.0 * 2 ** ((midi - 69) / 12), length * 1.3, sfreq, velocity)
        audio[start:start + note.size] += note[: audio.size - start]
        if beat_count % 4 == 0:  # bass on the downbeat
            bass = _piano_note(440.0 * 2 ** ((root - 12 - 69) / 12), beat * 3, sfreq, 0.5 * velocity)
            audio[start:start + bass.size] += bass[: audio.size - start]
        onsets.append(t)
        velocities.append(velocity)
        t += length
        beat_count += 1
    audio = audio[:n]
    audio *= 10 ** (gain_db / 20) * 0.9 / max(np.abs(audio).max(), 1e-9)
    return Clip(name, audio.astype(np.float32), sfreq, np.asarray(onsets), np.asarray(velocities), tempo, gain_db,
                root)
