"""Learning-curve splits: a split manifest with only a fraction of its training part kept.

``eeg2music subsample-split --manifest results/splits/cv-by-run/fold-0.json --fraction 0.25 --out …`` keeps 25 % of
the training trials of every subject (``--unit trials``) or 25 % of the training subjects (``--unit subjects``),
and leaves validation and test untouched, so every fraction is scored on the same test trials and the curve's
points are paired. The kept sets are nested (12.5 % ⊂ 25 % ⊂ 50 % ⊂ 100 %): one seeded order is drawn per subject
(or over subjects) and each fraction keeps a prefix of it, so a curve measures more data, not different data.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from eeg2music.data.splits import Entry, Manifest
from eeg2music.errors import InputError, one_line_errors

UNITS = ("trials", "subjects")


def _keep(n: int, fraction: float) -> int:
    """How many of ``n`` a fraction keeps: rounded up, and at least one, so no subject is left without data."""
    return min(n, max(1, math.ceil(fraction * n - 1e-9)))


def _subject(e: Entry) -> tuple[str, str]:
    return (e.dataset, e.subject)


def subsample(manifest: Manifest, fraction: float, unit: str = "trials", seed: int = 0) -> Manifest:
    """The manifest with ``fraction`` of its training entries; the order of the entries is kept."""
    if not 0 < fraction <= 1:
        raise InputError(None, f"fraction {fraction} is outside (0, 1]", "pass a fraction such as 0.25")
    if unit not in UNITS:
        raise InputError(None, f"unknown unit {unit!r}", f"use one of {', '.join(UNITS)}")
    train = manifest.part("train")
    if not train:
        raise InputError(None, "the manifest has no training trials", "subsample a manifest with a train part")
    subjects = sorted({_subject(e) for e in train})
    kept: set[int] = set()
    if unit == "subjects":
        order = np.random.default_rng(seed).permutation(len(subjects))
        chosen = {subjects[i] for i in order[: _keep(len(subjects), fraction)]}
        kept = {id(e) for e in train if _subject(e) in chosen}
    else:
        for k, subject in enumerate(subjects):
            mine = [e for e in train if _subject(e) == subject]
            order = np.random.default_rng([seed, k]).permutation(len(mine))
            kept |= {id(mine[i]) for i in order[: _keep(len(mine), fraction)]}
    entries = [e for e in manifest.entries if e.part != "train" or id(e) in kept]
    params = {**manifest.params, "subsample": {"fraction": fraction, "unit": unit, "seed": seed,
                                               "train_trials": len(kept), "of_train_trials": len(train)}}
    return Manifest(manifest.protocol, params, entries)


def train_hours(manifest: Manifest) -> float:
    """Hours of EEG in the training part: the learning curve's x axis."""
    return manifest.hours("train")


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music subsample-split", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", type=Path, required=True, help="the full split manifest")
    p.add_argument("--fraction", type=float, required=True, help="share of the training part to keep, in (0, 1]")
    p.add_argument("--unit", choices=UNITS, default="trials",
                   help="trials: that share of every subject's training trials; subjects: that share of the "
                        "training subjects (for pooled models; a per-subject decoder needs every test subject)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    full = Manifest.load(a.manifest)
    try:
        part = subsample(full, a.fraction, a.unit, a.seed)
    except InputError as err:
        raise InputError(a.manifest, err.problem, err.fix) from err
    part.save(a.out)
    print(f"kept {len(part.part('train'))} of {len(full.part('train'))} training trials "
          f"({train_hours(part):.3f} of {train_hours(full):.3f} h)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
