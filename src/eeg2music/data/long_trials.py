"""Split protocols for long trials: one trial per subject and song (NMED-T: 10 songs of about 4.5 minutes, 20
subjects), where a split by trial leaves nothing to train on and the published results split inside songs.

Each returns time spans of trials (``Span``: the trial's row, its part, start and stop in the trial), which
``data.splits`` writes as manifest entries, so the audit (``data.audit``) can say what a split
shares: overlapping EEG, EEG closer than a window plus the response lag (adjacent windows), songs, subjects.

* ``time-block``: each trial's timeline cut into ``n_folds`` contiguous blocks; fold k tests block k, validates on
  block k+1 and trains on the rest, with ``guard_s`` of EEG left out on the training side of every boundary. Honest
  for unseen segments of heard songs and subjects, when the guard is at least a window plus the longest lag.
* ``leave-song-out``: the songs split into ``n_folds`` groups; fold k tests group k (every subject), validates on
  group k+1. Honest for music no one heard in training.
* ``predann``: PredANN's split (Sci Rep 2025; PredANN++): each recording cropped to its first 4 minutes and cut into
  8 excerpts of 30 s, the excerpts split 75/25 at random stratified by song (scikit-learn's ``train_test_split``,
  seed 42). Neighbouring excerpts of one recording, and the same subjects and songs, sit on both sides. Validation
  is carved from the training excerpts the same way, so the published train/test assignment is unchanged.
* ``random-window``: Channel-Oriented Design's (arXiv 2606.04040) random 95/5 split of all 1-s windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eeg2music.errors import InputError

Span = tuple[dict[str, Any], str, float, float]  # (trial row, part, start s, stop s)

LONG_TRIAL_PROTOCOLS = ("time-block", "leave-song-out", "predann", "random-window")
PREDANN = {"crop_s": 240.0, "excerpt_s": 30.0, "test": 0.25, "seed": 42}
RANDOM_WINDOW = {"window_s": 1.0, "test": 0.05, "val": 0.05}  # the published 95/5; val carved the same way


def _span(row: dict[str, Any], part: str, start: float, stop: float) -> Span:
    return row, part, float(start), float(stop)


def _check_fold(fold: int, n_folds: int) -> None:
    if n_folds < 2 or not 0 <= fold < n_folds:
        raise InputError(None, f"fold {fold} of {n_folds} folds", "use at least 2 folds and a fold below n_folds")


def time_block(rows: list[dict[str, Any]], fold: int = 0, n_folds: int = 5, guard_s: float = 12.0,
               window_s: float = 10.0, lag_s: float = 0.5, val: bool = True) -> list[Span]:
    """Block ``fold`` of every trial tests, the next one validates (``val``), the rest train; every training or
    validation block gives up ``guard_s`` at each boundary with a block of another part."""
    _check_fold(fold, n_folds)
    if guard_s < window_s + lag_s:
        raise InputError(None, f"a guard of {guard_s:g} s is shorter than a window plus the longest response lag "
                         f"({window_s:g} + {lag_s:g} s): windows at a block's edge would see EEG of the other side",
                         f"set guard_s to at least {window_s + lag_s:g}")
    parts = ["train"] * n_folds
    parts[fold] = "test"
    if val and n_folds >= 3:
        parts[(fold + 1) % n_folds] = "val"
    out = []
    for row in rows:
        edges = np.linspace(0.0, row["epoch_s"], n_folds + 1)
        for k, part in enumerate(parts):
            start, stop = edges[k], edges[k + 1]
            if part != "test":  # the held-out block keeps all its EEG; its neighbours give up the guard
                if k > 0 and parts[k - 1] != part:
                    start += guard_s
                if k < n_folds - 1 and parts[k + 1] != part:
                    stop -= guard_s
            if stop - start >= window_s:
                out.append(_span(row, part, start, stop))
    return out


def leave_song_out(rows: list[dict[str, Any]], fold: int = 0, n_folds: int = 5, seed: int = 0,
                   val: bool = True) -> list[Span]:
    _check_fold(fold, n_folds)
    songs = sorted({r["clip"] for r in rows if r["clip"] and r["audio_status"] == "ok"})
    if len(songs) < n_folds:
        raise InputError(rows[0]["store"] if rows else None, f"{len(songs)} songs with audio cannot make {n_folds} "
                         "folds", "lower the folds of leave-song-out to at most the songs")
    groups = np.array_split(np.random.default_rng(seed).permutation(len(songs)), n_folds)
    part_of = {songs[i]: "test" for i in groups[fold]}
    if val and n_folds >= 3:
        part_of |= {songs[i]: "val" for i in groups[(fold + 1) % n_folds]}
    # a trial without known audio might be any song: it can only be trained on
    return [_span(r, part_of.get(r["clip"], "train") if r["audio_status"] == "ok" else "train", 0.0, r["epoch_s"])
            for r in rows]


def predann_excerpts(rows: list[dict[str, Any]], crop_s: float = PREDANN["crop_s"],
                     excerpt_s: float = PREDANN["excerpt_s"]) -> list[tuple[dict[str, Any], float, str]]:
    """(row, start, song) of every excerpt, recordings in subject then song order, excerpts in time order; a
    recording shorter than the crop gives the excerpts that fit."""
    out = []
    for row in sorted(rows, key=lambda r: (r["dataset"], r["subject"], r["clip"] or "", r["trial"])):
        if row["audio_status"] != "ok" or not row["clip"]:
            continue
        for k in range(int(min(crop_s, row["epoch_s"]) // excerpt_s)):
            out.append((row, k * excerpt_s, row["clip"]))
    return out


def predann(rows: list[dict[str, Any]], seed: int = PREDANN["seed"], test: float = PREDANN["test"],
            val: float = 0.15, crop_s: float = PREDANN["crop_s"], excerpt_s: float = PREDANN["excerpt_s"]
            ) -> list[Span]:
    from sklearn.model_selection import train_test_split

    excerpts = predann_excerpts(rows, crop_s, excerpt_s)
    songs = [song for _, _, song in excerpts]
    if len(set(songs)) < 2 or len(excerpts) < 4 * len(set(songs)):
        raise InputError(rows[0]["store"] if rows else None, f"{len(excerpts)} excerpts of {len(set(songs))} songs",
                         "predann needs several songs with a few excerpts each")
    index = np.arange(len(excerpts))
    train, held = train_test_split(index, test_size=test, stratify=songs, random_state=seed)
    part = dict.fromkeys(held.tolist(), "test")
    if val > 0:  # at least one excerpt of every song (a stratified draw needs it on a small study)
        n_val = max(int(np.ceil(val * len(train))), len(set(songs)))
        _, chosen = train_test_split(train, test_size=n_val, stratify=[songs[i] for i in train], random_state=seed)
        part |= dict.fromkeys(chosen.tolist(), "val")
    return [_span(row, part.get(i, "train"), start, start + excerpt_s)
            for i, (row, start, _) in enumerate(excerpts)]


def random_window(rows: list[dict[str, Any]], seed: int = 0, window_s: float = 1.0, test: float = 0.05,
                  val: float = 0.05) -> list[Span]:
    spans = [(row, k * window_s) for row in rows for k in range(int(row["epoch_s"] // window_s))]
    order = np.random.default_rng(seed).permutation(len(spans))
    n_test, n_val = round(test * len(spans)), round(val * len(spans))
    part = {int(i): "test" for i in order[:n_test]} | {int(i): "val" for i in order[n_test:n_test + n_val]}
    return [_span(row, part.get(i, "train"), start, start + window_s) for i, (row, start) in enumerate(spans)]
