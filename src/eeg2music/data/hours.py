"""Hours of EEG in a dataset: what the budget and the learning curves project onto.

From the preprocessing summary when the real datasets have been preprocessed (``hours_music``: exactly the time
windows are cut from), else from the OpenNeuro file listings shipped with the package: EDF bytes / (signals × 2
bytes × rate) per recording, with the signal count and rate from the real sidecars — the hours of EEG recorded, an
upper bound on the music windows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from eeg2music.errors import InputError

MANIFESTS = Path(__file__).resolve().parents[1] / "io" / "manifests"
TEMPLATES = Path(__file__).resolve().parents[1] / "synth" / "templates"
EDF_HEADER_PER_SIGNAL = 256


def edf_hours(size_bytes: int, n_signals: int, rate: float) -> float:
    """Duration of an EDF file from its size: 256-byte header blocks, then 2 bytes per sample per signal."""
    return max(size_bytes - EDF_HEADER_PER_SIGNAL * (n_signals + 1), 0) / (2 * n_signals * rate) / 3600


def recorded_hours(dataset: str) -> float:
    """Hours of EEG in an OpenNeuro dataset, from its file listing and its real channels.tsv / eeg.json."""
    listing, sidecars = MANIFESTS / f"{dataset}.tsv", TEMPLATES / dataset
    if not listing.exists() or not (sidecars / "eeg.json").exists():
        known = sorted(p.name for p in TEMPLATES.iterdir() if (p / "eeg.json").exists())
        raise InputError(None, f"no file listing and sidecars for {dataset}",
                         f"use one of {', '.join(known)} or pass --summary with hours_music")
    n_signals = len((sidecars / "channels.tsv").read_text().strip().splitlines()) - 1
    rate = float(json.loads((sidecars / "eeg.json").read_text())["SamplingFrequency"])
    with listing.open() as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["path"].endswith("_eeg.edf")]
    return sum(edf_hours(int(r["size_bytes"]), n_signals, rate) for r in rows)


def summary_hours(summary: Path) -> float:
    """Hours of music trials over every subject of a preprocessing summary (results/summary/summary.tsv)."""
    if not summary.exists():
        raise InputError(summary, "summary does not exist", "run the summary step (or omit --summary)")
    with summary.open() as f:
        return sum(float(r["hours_music"]) for r in csv.DictReader(f, delimiter="\t"))
