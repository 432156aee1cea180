"""The compact CNN: its size, its output shapes at the target's rate, and that it learns a signal the EEG carries."""

from __future__ import annotations

import pytest
import torch

from eeg2music.errors import InputError
from eeg2music.models import registry

from ...helpers import train_steps

RATES = {"eeg": 100, "envelope": 100, "mel": 100, "audio": 16000}
INFO = {"rates": RATES, "n_mels": 40, "channels": [f"C{i}" for i in range(31)], "eeg_unit": "uV"}


@pytest.mark.parametrize("target", ["envelope", "mel"])
def test_tens_of_thousands_of_parameters_and_shapes(target):
    model = registry.build({"name": "small_cnn", "target": target}, 31, INFO)
    n = sum(p.numel() for p in model.parameters())
    assert 10_000 <= n < 100_000
    assert registry.target_of({"name": "small_cnn", "target": target}) == target == model.target
    out = model.eval().predict(torch.randn(2, 31, 1234))
    assert out.shape == ((2, 1234) if target == "envelope" else (2, 40, 1234))


def test_the_default_target_and_a_bad_one():
    assert registry.target_of({"name": "small_cnn"}) == "envelope"
    with pytest.raises(InputError, match="small_cnn target 'audio' is not one of"):
        registry.build({"name": "small_cnn", "target": "audio"}, 31, INFO, source="x.yaml")


def test_it_learns_an_amplitude_carried_by_two_channels():
    """The amplitude is a delayed, spatially mixed copy of a slow signal in two of 31 noisy channels: after 150 steps
    the prediction on new windows correlates with it."""
    torch.manual_seed(0)
    model = registry.build({"name": "small_cnn", "target": "envelope", "dropout": 0.0}, 31, INFO)

    def batch(n: int = 16) -> dict:
        slow = torch.nn.functional.avg_pool1d(torch.randn(n, 1, 420), 15, stride=1)[:, 0]  # (n, 406)
        eeg = torch.randn(n, 31, 400)
        eeg[:, 3] += 2 * slow[:, 6:]
        eeg[:, 17] -= 2 * slow[:, 6:]
        return {"eeg": eeg, "envelope": slow[:, :400]}

    train_steps(model, batch, 150)
    test = batch(32)
    pred = model.eval().predict(test["eeg"])
    r = torch.stack([torch.corrcoef(torch.stack([p, t]))[0, 1] for p, t in zip(pred, test["envelope"], strict=True)])
    assert r.mean() > 0.6
