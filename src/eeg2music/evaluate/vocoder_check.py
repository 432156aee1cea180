"""The vocoder sanity check on a few music clips: can DiffWave, given the true log-mel, give the music back?

``clip_set`` renders synthetic piano clips (``eeg2music.synth.music``) with their log-mels (the preprocessing's
own mel), ``fit`` overfits a model to them on random crops, ``mel_quality`` generates each whole clip from its mel
and scores the generated log-mel against the true one (SSIM and r, the report's mel metrics). Used by the tests
(the overfitting check) and by ``benchmarks/diffwave_vs_reference.py`` (quality against sampling steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from eeg2music.evaluate.metrics import pearson, ssim
from eeg2music.models.diffwave.decoder import DiffWaveDecoder
from eeg2music.preprocess.audio import log_mel
from eeg2music.synth.music import piano_clip


@dataclass
class ClipSet:
    audio: torch.Tensor  # (clips, samples)
    mel: torch.Tensor  # (clips, n_mels, frames) natural-log mel power
    rate: int
    mel_rate: int


def clip_set(n_clips: int = 2, seconds: float = 2.0, rate: int = 4000, mel_rate: int = 100, n_mels: int = 40,
             seed: int = 0) -> ClipSet:
    rng = np.random.default_rng(seed)
    audio = np.stack([piano_clip(f"clip{i}", seconds, rate, rng).audio for i in range(n_clips)])
    mel = np.stack([log_mel(a, rate, mel_rate, n_mels) for a in audio])
    return ClipSet(torch.from_numpy(audio), torch.from_numpy(mel), rate, mel_rate)


def vocoder(clips: ClipSet, layers: int = 8, channels: int = 32, cycle: int = 4,
            audio_gain: float = 8.0) -> DiffWaveDecoder:
    """The piano clips have an RMS of about 0.07: ``audio_gain`` 8 brings them to about half the noise's scale."""
    rates = {"audio": clips.rate, "mel": clips.mel_rate, "eeg": clips.mel_rate}
    return DiffWaveDecoder(n_inputs=1, rates=rates, n_mels=clips.mel.shape[1], conditioning="mel", layers=layers,
                           channels=channels, cycle=cycle, audio_gain=audio_gain)


def fit(model: DiffWaveDecoder, clips: ClipSet, steps: int = 400, batch: int = 8, crop_frames: int = 50,
        lr: float = 2e-3, seed: int = 0) -> list[float]:
    """Adam on random crops of the clips; returns the loss curve."""
    torch.manual_seed(seed)
    hop = clips.rate // clips.mel_rate
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    frames = clips.mel.shape[-1]
    losses = []
    model.train()
    for _ in range(steps):
        which = rng.integers(0, len(clips.audio), batch)
        starts = rng.integers(0, frames - crop_frames + 1, batch)
        mel = torch.stack([clips.mel[c, :, s:s + crop_frames] for c, s in zip(which, starts, strict=True)])
        audio = torch.stack([clips.audio[c, s * hop:(s + crop_frames) * hop] for c, s in zip(which, starts,
                                                                                             strict=True)])
        loss = model({"audio": audio, "mel": mel})
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def mel_quality(model: DiffWaveDecoder, clips: ClipSet, steps: str = "fast", seed: int = 0) -> dict[str, float]:
    """Mean log-mel SSIM and r of each clip generated whole from its true mel."""
    model.eval()
    audio = model.generate({"mel": clips.mel}, steps=steps, seed=seed).numpy()
    scores = {"mel_ssim": [], "mel_r": []}
    for gen, true in zip(audio, clips.mel.numpy(), strict=True):
        mel = log_mel(gen, clips.rate, clips.mel_rate, true.shape[0])[:, : true.shape[1]]
        scores["mel_ssim"].append(ssim(mel, true[:, : mel.shape[1]]))
        scores["mel_r"].append(pearson(mel, true[:, : mel.shape[1]]))
    return {k: float(np.mean(v)) for k, v in scores.items()}
