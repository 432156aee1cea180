"""Leakage audit: what train, val and test share, and which evaluation protocol a split is honest for.

A window-level split that draws train and test windows from the same trial is the classic way to report
impressive EEG decoding that is really memorisation; training refuses such splits unless ``allow_leak: true``.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import combinations
from pathlib import Path
from typing import Any

from eeg2music.data.splits import PARTS, Manifest
from eeg2music.errors import InputError, one_line_errors

# protocol → what train and val/test must not share for it to be honest. predann and random-window are honest for
# nothing: their held-out windows sit next to training windows of the same recordings.
HONESTY = {
    "random-trial": "trials",
    "cv-by-run": "subject_runs",
    "leave-clip-out": "clips",
    "leave-subject-out": "subjects",
    "time-block": "adjacent_windows",
    "leave-song-out": "clips",
}
SET_KEYS = ("trials", "clips", "subjects", "subject_runs")


class LeakError(InputError):
    pass


def _keys(entries) -> dict[str, set]:
    return {
        "trials": {(e.store, e.trial) for e in entries},
        "clips": {e.clip for e in entries if e.clip},
        "subjects": {(e.dataset, e.subject) for e in entries},
        "subject_runs": {(e.dataset, e.subject, e.run) for e in entries},
    }


def _recording_span(e) -> tuple[tuple, float, float]:
    """Where an entry's EEG lies: in its run's recording time when the trial's onset is known (two trials of one
    run can overlap, e.g. one state code of a pair read as a trial of its own), else within its trial."""
    if e.onset_s is None:
        return (e.store, "trial", e.trial), e.start_s, e.stop_s
    return (e.store, "run", e.run), e.onset_s + e.start_s, e.onset_s + e.stop_s


def _close_windows(a, b, reach: float = 0.0) -> tuple[int, int]:
    """Pairs of an entry of ``a`` and one of ``b`` whose EEG overlaps, and pairs whose EEG does not overlap but lies
    closer than ``reach`` (adjacent); one pass over the spans for both."""
    spans: dict[tuple, list] = {}
    for e in a:
        key, start, stop = _recording_span(e)
        spans.setdefault(key, []).append((start, stop))
    overlapping = adjacent = 0
    for e in b:
        key, start, stop = _recording_span(e)
        for s, t in spans.get(key, []):
            if start < t and s < stop:
                overlapping += 1
            elif reach and start < t + reach and s < stop + reach:
                adjacent += 1
    return overlapping, adjacent


def _reach(manifest: Manifest) -> float:
    """How close held-out EEG may come to training EEG: a window plus the longest response lag, for protocols that
    split inside trials (their manifests record both); 0 for whole-trial protocols."""
    return float(manifest.params.get("window_s") or 0.0) + float(manifest.params.get("lag_s") or 0.0)


def audit(manifest: Manifest) -> dict[str, Any]:
    parts = {p: manifest.part(p) for p in PARTS}
    keys = {p: _keys(entries) for p, entries in parts.items()}
    shared: dict[str, dict[str, int]] = {}
    examples: dict[str, dict[str, list]] = {}
    reach = _reach(manifest)
    for a, b in combinations(PARTS, 2):
        pair = f"{a}/{b}"
        shared[pair] = {k: len(keys[a][k] & keys[b][k]) for k in SET_KEYS}
        shared[pair]["overlapping_windows"], shared[pair]["adjacent_windows"] = _close_windows(parts[a], parts[b],
                                                                                              reach)
        examples[pair] = {k: [list(x) if isinstance(x, tuple) else x for x in sorted(keys[a][k] & keys[b][k])[:3]]
                          for k in SET_KEYS}
    # Honesty is about the test part: it must share nothing relevant with what the model was trained or selected
    # on. cv-by-run carves val from training runs on purpose, so train/val is only checked for shared trials. A trial
    # split into time spans (time-block) shares trials but no EEG: what counts is overlapping or adjacent EEG.
    held_out = ("train/test", "val/test")
    shares_eeg = any(shared[pair]["overlapping_windows"] or shared[pair]["adjacent_windows"] for pair in held_out)
    honest = [p for p, k in HONESTY.items() if all(shared[pair][k] == 0 for pair in held_out) and not shares_eeg]
    named = {"overlapping_windows": "overlapping EEG", "adjacent_windows": f"adjacent windows (closer than "
             f"{reach:g} s)", "clips": "the same songs/clips", "subjects": "the same subjects"}
    return {
        "protocol": manifest.protocol,
        "sizes": {p: len(e) for p, e in parts.items()},
        "shared": shared,
        "examples": examples,
        "honest_for": honest,
        "leaks_trials": shares_eeg,  # overlapping EEG (the same trial, or two trials), or adjacent windows, in
        # training and test
        "shares": [text for key, text in named.items() if any(shared[pair][key] for pair in held_out)],
        "val_leaks_trials": shared["train/val"]["trials"] > 0,
        "declared_protocol_honest": manifest.protocol in honest,
    }


def check_split(manifest_path: Path, allow_leak: bool = False) -> dict[str, Any]:
    """Audit a manifest for training: refuse (one line) a split that shares trials across parts."""
    report = audit(Manifest.load(manifest_path))
    if report["leaks_trials"] and not allow_leak:
        n = {pair: s["trials"] for pair, s in report["shared"].items() if s["trials"]}
        w = {pair: s["overlapping_windows"] for pair, s in report["shared"].items() if s["overlapping_windows"]}
        a = {pair: s["adjacent_windows"] for pair, s in report["shared"].items() if s["adjacent_windows"]}
        raise LeakError(manifest_path, f"split shares trials across parts {n} (overlapping windows {w}, adjacent "
                        f"windows {a}): test windows come from or sit next to EEG seen in training",
                        "use an honest protocol, or set allow_leak: true to train on it anyway")
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"declared protocol: {report['protocol']}  sizes: " +
             ", ".join(f"{p} {n}" for p, n in report["sizes"].items())]
    for pair, s in report["shared"].items():
        ex = report["examples"][pair]["trials"]
        lines.append(f"  {pair:10s} shares trials {s['trials']} (overlapping windows {s['overlapping_windows']}, "
                     f"adjacent {s['adjacent_windows']}), clips {s['clips']}, subjects {s['subjects']}, "
                     f"subject-runs {s['subject_runs']}" + (f"  e.g. trials {ex}" if ex else ""))
    lines.append("honest for: " + (", ".join(report["honest_for"]) or "nothing (training EEG overlaps or adjoins "
                                   "held-out EEG)"))
    lines.append("held-out parts share with training: " + (", ".join(report["shares"]) or "nothing"))
    if not report["declared_protocol_honest"]:
        lines.append(f"WARNING: the split is not honest for its declared protocol {report['protocol']}")
    if report["val_leaks_trials"]:
        lines.append("WARNING: train and val share trials: validation scores (early stopping) will be optimistic")
    if report["leaks_trials"]:
        lines.append("LEAK: train and held-out parts share trials; training refuses this split unless "
                     "allow_leak: true")
    return "\n".join(lines)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music audit-split", description=__doc__)
    p.add_argument("manifest", type=Path)
    p.add_argument("--json", type=Path, help="also write the report as JSON here")
    a = p.parse_args(argv)
    report = audit(Manifest.load(a.manifest))
    print(format_report(report))
    if a.json:
        a.json.write_text(json.dumps(report, indent=1))
    return 1 if report["leaks_trials"] or not report["declared_protocol_honest"] else 0


if __name__ == "__main__":
    sys.exit(main())
