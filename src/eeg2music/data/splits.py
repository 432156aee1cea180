"""Split protocols, saved as manifest files that training runs reference.

A manifest is JSON: the protocol and its parameters, plus one entry per (part, store, trial, time span). Four
protocols, each honest for a different claim:

* ``random-trial``: per subject, trials shuffled into train/val/test with a seed (the seed's plan). Clips and
  subjects recur across parts; only "unseen trials of seen subjects and clips" is measured.
* ``cv-by-run``: Daly (2023)'s within-subject k-fold cross-validation by run; fold ``k`` tests on every subject's
  runs with index ≡ k (mod n_folds); val is carved from the training trials.
* ``leave-clip-out``: no clip in val/test was heard in training by anyone.
* ``leave-subject-out``: test subjects never appear in training (fold ``k`` of ``n_folds`` subject groups).

For one long trial per subject and song (NMED-T), ``data.long_trials`` adds ``time-block``, ``leave-song-out`` and
the published (leaky) ``predann`` and ``random-window``, whose entries are time spans of trials.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eeg2music.data import long_trials
from eeg2music.data.stores import StoreInfo
from eeg2music.errors import InputError

PROTOCOLS = ("random-trial", "cv-by-run", "leave-clip-out", "leave-subject-out")
PARTS = ("train", "val", "test")
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Entry:
    part: str
    store: str
    dataset: str
    subject: str
    run: str
    trial: int  # row in the store's arrays
    clip: str | None
    audio_status: str
    start_s: float
    stop_s: float
    onset_s: float | None = None  # the trial's onset in its recording: windows of two trials can share EEG


@dataclass
class Manifest:
    protocol: str
    params: dict[str, Any]
    entries: list[Entry]

    def part(self, name: str) -> list[Entry]:
        return [e for e in self.entries if e.part == name]

    def hours(self, part: str | None = None) -> float:
        """Hours of EEG in one part, or in the whole manifest."""
        entries = self.entries if part is None else self.part(part)
        return sum(e.stop_s - e.start_s for e in entries) / 3600

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
        # Store paths are written relative to the manifest, so a project can move (or a job can run from a code
        # snapshot elsewhere) and the manifest still finds its stores.
        base = path.parent.resolve()
        entries = [{**e.__dict__, "store": os.path.relpath(Path(e.store).resolve(), base)} for e in self.entries]
        tmp.write_text(json.dumps({"version": MANIFEST_VERSION, "protocol": self.protocol, "params": self.params,
                                   "entries": entries}, indent=1))
        tmp.rename(path)
        return path

    @classmethod
    def load(cls, path: Path) -> Manifest:
        path = Path(path)
        if not path.exists():
            raise InputError(path, "split manifest does not exist", "make it with `eeg2music make-split` (snakemake)")
        try:
            data = json.loads(path.read_text())
            base = path.parent.resolve()
            entries = [Entry(**{**e, "store": str((base / e["store"]).resolve())}) for e in data["entries"]]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise InputError(path, f"not a split manifest ({err})", "regenerate it with `eeg2music make-split`") \
                from err
        if data.get("version") != MANIFEST_VERSION:
            raise InputError(path, f"manifest version {data.get('version')}, expected {MANIFEST_VERSION}",
                             "regenerate it with `eeg2music make-split`")
        for store in sorted({e.store for e in entries}):
            if not Path(store).exists():
                raise InputError(store, f"store named by {path.name} does not exist",
                                 "rerun preprocessing (snakemake) or regenerate the manifest")
        return cls(data["protocol"], data.get("params", {}), entries)


def trial_rows(stores: list[StoreInfo]) -> list[dict[str, Any]]:
    return [{"store": s.path, "dataset": s.dataset, "subject": s.subject, "run": t["run"], "trial": i,
             "clip": t["clip_id"], "audio_status": t["audio_status"], "epoch_s": s.epoch_s,
             "onset_s": t.get("onset_s")}
            for s in stores for i, t in enumerate(s.trials)]


def _entry(row: dict[str, Any], part: str) -> Entry:
    return Entry(part, row["store"], row["dataset"], row["subject"], row["run"], row["trial"], row["clip"],
                 row["audio_status"], 0.0, row["epoch_s"], row["onset_s"])


def _by(rows, *keys) -> dict[tuple, list[dict[str, Any]]]:
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups


def _fractions(n: int, val: float, test: float) -> tuple[int, int]:
    """How many of ``n`` go to val and test: at least one each when there are three or more."""
    n_test = max(1, round(test * n)) if n >= 2 and test > 0 else 0
    n_val = max(1, round(val * n)) if n - n_test >= 2 and val > 0 else 0
    return n_val, n_test


def random_trial(rows, seed: int = 0, val: float = 0.15, test: float = 0.15) -> list[Entry]:
    rng = np.random.default_rng(seed)
    out = []
    for _, group in sorted(_by(rows, "dataset", "subject").items()):
        order = rng.permutation(len(group))
        n_val, n_test = _fractions(len(group), val, test)
        for rank, i in enumerate(order):
            part = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
            out.append(_entry(group[i], part))
    return out


def cv_by_run(rows, fold: int = 0, n_folds: int = 3, seed: int = 0, val: float = 0.15) -> list[Entry]:
    if not 0 <= fold < n_folds:
        raise InputError(None, f"fold {fold} is outside 0..{n_folds - 1}", "pick a fold below n_folds")
    rng = np.random.default_rng([seed, fold])
    out = []
    for (ds, sub), group in sorted(_by(rows, "dataset", "subject").items()):
        runs = sorted({r["run"] for r in group})
        if len(runs) < n_folds:
            raise InputError(group[0]["store"], f"{ds} sub-{sub} has {len(runs)} runs, {n_folds}-fold CV by run "
                             f"needs {n_folds}", "lower splits.folds.cv-by-run in config/config.yaml, or drop the "
                             "protocol")
        test_runs = {r for i, r in enumerate(runs) if i % n_folds == fold}
        train = [r for r in group if r["run"] not in test_runs]
        out += [_entry(r, "test") for r in group if r["run"] in test_runs]
        n_val = max(1, round(val * len(train))) if val > 0 and len(train) >= 2 else 0
        val_idx = set(rng.permutation(len(train))[:n_val].tolist())
        out += [_entry(r, "val" if i in val_idx else "train") for i, r in enumerate(train)]
    return out


def leave_clip_out(rows, seed: int = 0, val: float = 0.15, test: float = 0.15) -> list[Entry]:
    rng = np.random.default_rng(seed)
    clips = sorted({r["clip"] for r in rows if r["clip"] and r["audio_status"] == "ok"})
    if len(clips) < 3:
        raise InputError(rows[0]["store"] if rows else None, f"only {len(clips)} distinct clips",
                         "leave-clip-out needs at least 3 clips with audio")
    order = [clips[i] for i in rng.permutation(len(clips))]
    n_val, n_test = _fractions(len(clips), val, test)
    part_of = {c: "test" if k < n_test else "val" if k < n_test + n_val else "train" for k, c in enumerate(order)}
    # Trials without a known clip (ds002724's ambiguous ones) can only be trained on: they might be any clip.
    return [_entry(r, part_of.get(r["clip"], "train") if r["audio_status"] == "ok" else "train") for r in rows]


def leave_subject_out(rows, fold: int = 0, n_folds: int = 4, seed: int = 0, val: float = 0.15) -> list[Entry]:
    subjects = sorted(_by(rows, "dataset", "subject"))
    if len(subjects) < n_folds:
        raise InputError(None, f"{len(subjects)} subjects cannot make {n_folds} folds",
                         "lower splits.folds.leave-subject-out in config/config.yaml to at most the subjects")
    if not 0 <= fold < n_folds:
        raise InputError(None, f"fold {fold} is outside 0..{n_folds - 1}", "pick a fold below n_folds")
    rng = np.random.default_rng(seed)
    groups = np.array_split(rng.permutation(len(subjects)), n_folds)
    test = {subjects[i] for i in groups[fold]}
    val_subjects = {subjects[i] for i in groups[(fold + 1) % n_folds]} if n_folds >= 3 and val > 0 else set()
    out = []
    for r in rows:
        key = (r["dataset"], r["subject"])
        out.append(_entry(r, "test" if key in test else "val" if key in val_subjects else "train"))
    return out


def make_split(stores: list[StoreInfo], protocol: str, seed: int = 0, fold: int = 0, n_folds: int | None = None,
               val: float = 0.15, test: float = 0.15, long: dict[str, float] | None = None) -> Manifest:
    """``long``: window_s, lag_s and guard_s of a long-trial protocol (:func:`long_trial_split`)."""
    rows = trial_rows(stores)
    if protocol == "random-trial":
        entries = random_trial(rows, seed, val, test)
    elif protocol == "cv-by-run":
        entries = cv_by_run(rows, fold, n_folds or 3, seed, val)
    elif protocol == "leave-clip-out":
        entries = leave_clip_out(rows, seed, val, test)
    elif protocol == "leave-subject-out":
        entries = leave_subject_out(rows, fold, n_folds or 4, seed, val)
    elif protocol in long_trials.LONG_TRIAL_PROTOCOLS:
        return long_trial_split(rows, protocol, seed, fold, n_folds, val, test, **(long or {}))
    else:
        raise InputError(None, f"unknown split protocol {protocol!r}",
                         f"use one of {', '.join(PROTOCOLS + long_trials.LONG_TRIAL_PROTOCOLS)}")
    params = {"seed": seed, "fold": fold, "n_folds": n_folds, "val": val, "test": test}
    return Manifest(protocol, params, entries)


def long_trial_split(rows: list[dict[str, Any]], protocol: str, seed: int, fold: int, n_folds: int | None,
                     val: float, test: float, window_s: float = 10.0, lag_s: float = 0.5, guard_s: float = 12.0
                     ) -> Manifest:
    """A protocol of :mod:`eeg2music.data.long_trials`. ``window_s`` and ``lag_s`` go into the manifest: the audit
    calls held-out EEG closer than that to training EEG adjacent (a leak)."""
    if protocol == "time-block":
        spans = long_trials.time_block(rows, fold, n_folds or 5, guard_s, window_s, lag_s, val > 0)
    elif protocol == "leave-song-out":
        spans = long_trials.leave_song_out(rows, fold, n_folds or 5, seed, val > 0)
    elif protocol == "predann":
        spans = long_trials.predann(rows, seed, long_trials.PREDANN["test"], val)
        window_s = long_trials.PREDANN["excerpt_s"]
    else:
        rule = long_trials.RANDOM_WINDOW
        spans = long_trials.random_window(rows, seed, rule["window_s"], rule["test"], rule["val"] if val > 0 else 0.0)
        window_s = rule["window_s"]
    entries = [Entry(part, r["store"], r["dataset"], r["subject"], r["run"], r["trial"], r["clip"], r["audio_status"],
                     start, stop, r["onset_s"]) for r, part, start, stop in spans]
    params = {"seed": seed, "fold": fold, "n_folds": n_folds, "val": val, "test": test, "window_s": window_s,
              "lag_s": lag_s, "guard_s": guard_s if protocol == "time-block" else 0.0}
    return Manifest(protocol, params, entries)
