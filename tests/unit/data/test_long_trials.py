"""Split protocols for long trials (NMED-T: one ~4.5-min trial per subject and song) and what the audit says of each."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from eeg2music.data.audit import audit, format_report
from eeg2music.data.splits import make_split
from eeg2music.data.stores import StoreInfo
from eeg2music.errors import InputError

SONG_S = 270.0


def nmed_stores(n_subjects: int = 4, n_songs: int = 10) -> list[StoreInfo]:
    """NMED-T's shape: every subject heard every song once, one trial each (a recording per song)."""
    trials = tuple({"run": f"song{k + 21:02d}", "clip_id": f"song{k + 21:02d}.wav", "audio_status": "ok"}
                   for k in range(n_songs))
    return [StoreInfo(f"/x/nmed/sub-{s:02d}.zarr", "nmed", f"{s:02d}", ("Cz",), (125,), 16000, 100, 100, SONG_S,
                      trials, (), ("eeg/125",)) for s in range(1, n_subjects + 1)]


def test_time_block_is_honest_for_unseen_segments_and_names_what_it_shares():
    """Each trial's blocks: one tests, the next validates, the rest train, and no training EEG comes within a window
    plus the lag of held-out EEG; subjects and songs are shared (and named), as the protocol means them to be."""
    stores = nmed_stores()
    m = make_split(stores, "time-block", fold=2, n_folds=5, long={"window_s": 10.0, "lag_s": 0.5, "guard_s": 12.0})
    report = audit(m)
    assert "time-block" in report["honest_for"] and not report["leaks_trials"]
    assert report["declared_protocol_honest"]
    assert report["shared"]["train/test"]["trials"] == 40 and report["shared"]["train/test"]["adjacent_windows"] == 0
    assert report["shares"] == ["the same songs/clips", "the same subjects"]
    test = [e for e in m.entries if e.part == "test"]
    assert len(test) == 40 and {(e.start_s, e.stop_s) for e in test} == {(2 * SONG_S / 5, 3 * SONG_S / 5)}
    for e in m.entries:  # the guard on the training side of every boundary with another part
        if e.part == "train":
            assert e.stop_s <= 2 * SONG_S / 5 - 12.0 or e.start_s >= 4 * SONG_S / 5 + 12.0
    assert "held-out parts share with training: the same songs/clips, the same subjects" in format_report(report)


def test_time_block_refuses_a_guard_shorter_than_a_window_and_the_lag():
    with pytest.raises(InputError, match=r"a guard of 8 s is shorter than a window plus the longest response lag "
                                         r"\(10 \+ 0.5 s\).*set guard_s to at least 10.5"):
        make_split(nmed_stores(), "time-block", long={"window_s": 10.0, "lag_s": 0.5, "guard_s": 8.0})


def test_a_time_block_split_without_its_guard_is_caught_as_adjacent():
    m = make_split(nmed_stores(), "time-block", fold=1, long={"window_s": 10.0, "lag_s": 0.5, "guard_s": 12.0})
    widened = [e.__class__(**{**e.__dict__, "stop_s": min(SONG_S, e.stop_s + 6.0)}) if e.part == "train" else e
               for e in m.entries]  # block 0 now ends 6 s before the test block: closer than 10.5 s
    report = audit(m.__class__(m.protocol, m.params, widened))
    assert report["shared"]["train/test"]["adjacent_windows"] > 0 and report["leaks_trials"]
    assert "time-block" not in report["honest_for"]


def test_leave_song_out_holds_every_subjects_songs_out():
    m = make_split(nmed_stores(), "leave-song-out", fold=0, n_folds=5)
    songs = {p: {e.clip for e in m.entries if e.part == p} for p in ("train", "val", "test")}
    assert len(songs["test"]) == 2 and len(songs["val"]) == 2 and not songs["test"] & (songs["train"] | songs["val"])
    report = audit(m)
    assert {"leave-song-out", "leave-clip-out"} <= set(report["honest_for"]) and report["declared_protocol_honest"]


def test_predann_reproduces_the_published_excerpt_rule():
    """PredANN: each recording's first 4 minutes as 8 excerpts of 30 s, split 75/25 stratified by song with
    scikit-learn's train_test_split and seed 42, over recordings in subject then song order."""
    from sklearn.model_selection import train_test_split

    stores = nmed_stores()
    m = make_split(stores, "predann", seed=42, val=0.0)
    assert len(m.entries) == 4 * 10 * 8 and {e.stop_s - e.start_s for e in m.entries} == {30.0}
    assert max(e.stop_s for e in m.entries) == 240.0
    order = [(s.subject, t["clip_id"], k * 30.0) for s in stores for t in sorted(s.trials, key=lambda t: t["clip_id"])
             for k in range(8)]
    _, held = train_test_split(np.arange(len(order)), test_size=0.25, stratify=[o[1] for o in order],
                               random_state=42)
    assert {order[i] for i in held} == {(e.subject, e.clip, e.start_s) for e in m.entries if e.part == "test"}
    assert set(Counter(e.clip for e in m.entries if e.part == "test").values()) == {8}  # 25 % of each song's 32
    other = make_split(stores, "predann", seed=43, val=0.0)
    assert {(e.subject, e.clip, e.start_s, e.part) for e in other.entries} != \
        {(e.subject, e.clip, e.start_s, e.part) for e in m.entries}


@pytest.mark.parametrize("protocol", ["predann", "random-window"])
def test_the_leaky_protocols_are_flagged_with_what_they_share(protocol):
    m = make_split(nmed_stores(), protocol, seed=42 if protocol == "predann" else 0)
    report = audit(m)
    assert report["leaks_trials"] and not report["declared_protocol_honest"] and report["honest_for"] == []
    assert report["shares"] == [f"adjacent windows (closer than {m.params['window_s'] + 0.5:g} s)",
                                "the same songs/clips", "the same subjects"]
    sizes = report["sizes"]
    if protocol == "random-window":
        assert sizes["test"] == round(0.05 * sum(sizes.values())) and {e.stop_s - e.start_s for e in m.entries} == {1.0}
