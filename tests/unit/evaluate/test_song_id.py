"""Window-level song identification: right when the decoded signal follows the song, at chance when it does not."""

from __future__ import annotations

import numpy as np
import pytest

from eeg2music.errors import InputError
from eeg2music.evaluate.song_id import cut, song_classification, song_identification, vote

RATE = 10.0


def study(noise: float, n_subjects: int = 4, n_songs: int = 5, seconds: float = 30.0, seed: int = 0):
    """Every subject hears every song (one span each); the decoded signal is the song's amplitude plus noise."""
    rng = np.random.default_rng(seed)
    songs = {f"song{k}": rng.normal(size=int(seconds * RATE)) for k in range(n_songs)}
    pred, true, meta = [], [], []
    for s in range(n_subjects):
        for name, signal in songs.items():
            true.append(signal)
            pred.append(signal + noise * rng.normal(size=signal.size))
            meta.append({"dataset": "nmed", "subject": f"{s:02d}", "clip": name})
    return pred, true, meta


def test_a_decoder_that_follows_the_song_identifies_it():
    result = song_identification(*study(noise=1.0), RATE, n_perm=200, n_boot=200)
    assert result["n_songs"] == 5 and result["chance"] == pytest.approx(0.2)
    assert result["n_windows"] == 4 * 5 * 28  # 3-s windows, 1-s hop, 30-s spans
    assert result["window"]["accuracy"] > 0.9 and result["window"]["p"] < 0.01
    assert result["vote"]["accuracy"] >= result["window"]["accuracy"]
    assert result["retrieval_rank"] > 0.9
    lo, hi = result["window"]["ci95_subjects"]
    assert lo <= result["window"]["accuracy"] <= hi and len(result["window"]["per_subject"]) == 4


def test_noise_is_identified_at_chance():
    pred, true, meta = study(noise=1.0, seed=1)
    rng = np.random.default_rng(2)
    pred = [rng.normal(size=p.size) for p in pred]
    result = song_identification(pred, true, meta, RATE, n_perm=500, n_boot=200)
    for name in ("window", "vote"):
        assert abs(result[name]["accuracy"] - 0.2) < 0.1 and result[name]["p"] > 0.05
        assert result[name]["null_mean"] == pytest.approx(0.2, abs=0.05)
    assert abs(result["retrieval_rank"] - 0.5) < 0.05


def test_the_vote_takes_the_majority_inside_each_stretch():
    pred, true, meta = study(noise=0.0, n_subjects=1, n_songs=2, seconds=14.0)
    w = cut(pred, true, meta, RATE)  # per span: 12 windows starting at 0…11 s
    guess = np.zeros(len(w.song), dtype=int)
    guess[[1, 2, 3]] = 1  # 3 of the 5 windows inside the first 7 s of span 0 say song 1
    voted = vote(guess, w, vote_s=7.0, window_s=3.0)
    first = (w.span == 0) & (w.start_s + 3.0 <= 7.0)
    assert set(voted[first]) == {1} and voted[(w.span == 0) & (w.start_s == 5.0)][0] == 0  # 5–8 s straddles


def logits_of(meta: list[dict], classes: list[str], frames: int, strength: float, seed: int) -> list[np.ndarray]:
    """A classifier's logits per frame: noise, plus ``strength`` on the span's own song."""
    rng = np.random.default_rng(seed)
    out = []
    for m in meta:
        logits = rng.normal(size=(len(classes), frames))
        logits[classes.index(m["clip"])] += strength
        out.append(logits)
    return out


def test_a_classifier_is_scored_by_its_mean_logits_over_each_window():
    _, true, meta = study(noise=1.0)
    classes = [f"song{k}" for k in range(5)]
    strong = song_classification(logits_of(meta, classes, 300, 1.0, 0), true, meta, RATE, classes, n_perm=200,
                                 n_boot=200)
    assert strong["chance"] == pytest.approx(0.2) and strong["retrieval_rank"] is None
    assert strong["window"]["accuracy"] > 0.9 and strong["window"]["p"] < 0.01
    null = song_classification(logits_of(meta, classes, 300, 0.0, 1), true, meta, RATE, classes, n_perm=200,
                               n_boot=200)
    assert null["window"]["p"] > 0.05 and abs(null["window"]["accuracy"] - 0.2) < 0.1


def test_a_classifier_with_no_class_for_a_test_song_is_refused():
    _, true, meta = study(noise=1.0, n_songs=3)
    classes = ["song0", "song1"]
    logits = [np.zeros((2, 300)) for _ in meta]
    with pytest.raises(InputError, match="no class for: song2"):
        song_classification(logits, true, meta, RATE, classes, n_perm=10, n_boot=10)
