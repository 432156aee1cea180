"""The direct song classifier: logits per frame for each song, and that it learns which song a window carries."""

from __future__ import annotations

import pytest
import torch

from eeg2music.errors import InputError
from eeg2music.models import registry

from ...helpers import train_steps

RATES = {"eeg": 100, "envelope": 100, "mel": 100, "audio": 16000}
SONGS = ["song21", "song22", "song23"]
INFO = {"rates": RATES, "n_mels": 40, "channels": [f"E{i}" for i in range(1, 21)], "eeg_unit": "uV", "songs": SONGS}


def test_logits_per_frame_for_every_song_of_the_split():
    model = registry.build({"name": "song_cnn"}, 20, INFO)
    assert registry.target_of({"name": "song_cnn"}) == "song" == model.target and model.songs == SONGS
    assert model.eval().predict(torch.randn(2, 20, 300)).shape == (2, 3, 300)
    with pytest.raises(InputError, match="at least 2 songs; the split has 1"):
        registry.build({"name": "song_cnn"}, 20, INFO | {"songs": ["song21"]}, source="x.yaml")


def test_it_learns_the_song_a_rhythm_in_the_eeg_marks():
    """Each song drives a different rhythm (3, 5 or 7 Hz) in two of 20 noisy channels: after 60 steps the mean
    logits of new windows name the song."""
    torch.manual_seed(0)
    model = registry.build({"name": "song_cnn", "dropout": 0.0}, 20, INFO)
    t = torch.arange(300) / 100

    def batch(n: int = 24) -> dict:
        song = torch.randint(0, 3, (n,))
        eeg = torch.randn(n, 20, 300)
        phase = 2 * torch.pi * torch.rand(n, 1)
        rhythm = torch.sin(2 * torch.pi * (3 + 2 * song[:, None]) * t + phase)
        eeg[:, 4] += rhythm
        eeg[:, 11] -= rhythm
        return {"eeg": eeg, "song": song}

    train_steps(model, batch, 60)
    test = batch(60)
    guess = model.eval().predict(test["eeg"]).mean(-1).argmax(1)
    assert (guess == test["song"]).float().mean() > 0.9
