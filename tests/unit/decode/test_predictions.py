"""The predictions file: what a decoder wrote is what the evaluation reads."""

from __future__ import annotations

import numpy as np

from eeg2music.decode.predictions import Predictions


def test_log_mels_are_stored_at_half_size_and_read_back_as_float32(tmp_path):
    rng = np.random.default_rng(0)
    mel_true = [np.log(rng.gamma(0.5, 1.0, (80, 500)) + 1e-5).astype(np.float32) for _ in range(3)]
    mel_pred = [np.stack([m + rng.normal(0, 1, m.shape).astype(np.float32) for _ in range(2)]) for m in mel_true]
    meta = [{"dataset": "d", "subject": "01", "run": "1", "trial": i, "clip": f"c{i}"} for i in range(3)]
    pred = [rng.normal(size=(2, 500)).astype(np.float32) for _ in range(3)]
    preds = Predictions(pred, [p[0] for p in pred], meta, 100.0, "envelope", mel_pred, mel_true, 100.0)
    back = Predictions.load(preds.save(tmp_path / "p.npz"))
    for stored, written in zip(back.mel_pred + back.mel_true, mel_pred + mel_true, strict=True):
        assert stored.dtype == np.float32 and stored.shape == written.shape
        assert np.abs(stored - written).max() <= 0.004 * max(1.0, np.abs(written).max() / 8)
    assert all(np.array_equal(a, b) for a, b in zip(back.pred, pred, strict=True))  # the amplitude stays float32
    mel_bytes = sum(m.nbytes for m in mel_pred + mel_true)
    assert (tmp_path / "p.npz").stat().st_size < 0.5 * mel_bytes + sum(p.nbytes for p in pred) * 2 + 20_000
