"""Each model under each split protocol, side by side, with what each protocol's audit says it leaks.

An experiment listed with ``protocols:`` runs once per protocol as ``<model>@<protocol>`` (eeg2music.config). The
NMED-T literature splits inside songs, mostly leakily (predann, random-window); their numbers mean something only next
to the same model's under an honest protocol (time-block, leave-song-out), so this table is the only place they are
set out: one row per model, one column per protocol, the protocol's audit verdict in its header.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from eeg2music.config import PROTOCOL_MARK as MARK
from eeg2music.data.audit import HONESTY, audit
from eeg2music.data.splits import Manifest
from eeg2music.evaluate.report import _table, song_units

HONEST_TEXT = {"adjacent_windows": "unseen segments of heard songs", "clips": "unseen songs",
               "subjects": "unseen subjects", "trials": "unseen trials", "subject_runs": "unseen runs"}


def by_protocol(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """model → protocol → its metrics, for the experiments named ``<model>@<protocol>``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, r in runs.items():
        if MARK in name:
            model, protocol = name.split(MARK, 1)
            out.setdefault(model, {})[protocol] = r
    return out


def verdict(manifest: Path) -> str:
    """What a protocol's first fold is honest for, or what its held-out windows share with training."""
    report = audit(Manifest.load(manifest))
    if report["leaks_trials"] or not report["declared_protocol_honest"]:
        return "leaky: shares " + (", ".join(report["shares"]) or "trials")
    return "honest for " + HONEST_TEXT[HONESTY[report["protocol"]]]


def cell(r: dict[str, Any]) -> str:
    m = r["metrics"].get("rank_accuracy")  # none for a song classifier
    lines = [f"rank {m['observed']:.3f} (p {m['p']:.3f})"] if m else []
    song = r.get("song_id")
    if song:
        for name, label in song_units(song):
            s = song[name]
            lines.append(f"song ID {label} {s['accuracy']:.3f} (p {s['p']:.3f})")
        retrieval = song.get("retrieval_rank")
        lines.append(f"chance {song['chance']:.3f}" + (f"; retrieval {retrieval:.3f}" if retrieval is not None else ""))
    return "<br>".join(lines)


def protocol_table(runs: dict[str, dict[str, Any]], splits_dir: Path) -> str:
    """The side-by-side table, or "" when no experiment runs under several protocols."""
    grid = by_protocol(runs)
    if not grid:
        return ""
    protocols = sorted({p for row in grid.values() for p in row}, key=lambda p: (p not in HONESTY, p))
    header = [f"{p} ({verdict(splits_dir / p / 'fold-0.json')})" for p in protocols]
    rows = [[html.escape(model), *(cell(row[p]) if p in row else "–" for p in protocols)]
            for model, row in sorted(grid.items())]
    return ("<h3>Each model under each protocol</h3><p>The same model, trained and decoded under each split "
            "protocol; pooled rank accuracy over the test spans, and where the study identifies songs, the song "
            "whose true windows each decoded window matches best (PredANN's 3-s windows and 7-s votes; shorter "
            "where the test spans are). A leaky protocol's numbers are the field's protocol reproduced, shown only "
            "beside the honest protocols' for the same model. A song classifier is scored on song ID only; since each "
            "recording is one subject hearing one song, a split inside recordings (time-block included) lets it name "
            "the song from what marks the recording, and only leave-subject-out tests recordings it never saw.</p>"
            + _table(["model", *header], rows, "protocols"))

