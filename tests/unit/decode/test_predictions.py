"""The predictions file: what a decoder wrote is what the evaluation reads."""

from __future__ import annotations

import zipfile

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


def test_the_file_is_a_deflated_npz_that_numpy_reads_as_written(tmp_path):
    """Every array deflated (the rehearsal's log-mels shrink to 0.3–0.5); plain ``np.load`` reads each one back."""
    rng = np.random.default_rng(1)
    silent = np.full((80, 300), np.log(1e-5), np.float32)  # a trial's quiet start, as music has
    mel_true = [np.concatenate([silent, np.log(rng.gamma(0.5, 1.0, (80, 700)) + 1e-5)], 1).astype(np.float32)
                for _ in range(2)]
    meta = [{"dataset": "d", "subject": "01", "run": "1", "trial": i, "clip": f"c{i}"} for i in range(2)]
    pred = [rng.normal(size=1000).astype(np.float32) for _ in range(2)]
    path = Predictions(pred, pred, meta, 100.0, "envelope", mel_true, mel_true, 100.0).save(tmp_path / "p.npz")
    with zipfile.ZipFile(path) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    with np.load(path) as f:
        assert sorted(f.files) == sorted(["header"] + [f"{k}_{i}" for k in ("pred", "true", "mel_pred", "mel_true")
                                                       for i in range(2)])
        assert np.array_equal(f["mel_true_1"], mel_true[1].astype(np.float16))
        assert np.array_equal(f["pred_0"], pred[0])
    assert path.stat().st_size < 0.8 * sum(m.astype(np.float16).nbytes for m in mel_true) * 2
