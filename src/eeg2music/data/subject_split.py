"""Per-participant splits: one subject's share of a split manifest, for decoders trained one per participant.

Daly (2023) trained one bi-LSTM per participant, within each fold of his cross-validation by run. An experiment
with ``per_participant: true`` does the same: ``eeg2music subject-split --manifest …/cv-by-run/fold-0.json
--dataset ds002725 --subject 01 --out …`` keeps that subject's train, val and test entries (the split itself,
and so the test trials, are unchanged), and the workflow trains and decodes one model per subject and fold, then
pools the decoded test trials like any other experiment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eeg2music.data.splits import Manifest
from eeg2music.errors import InputError, one_line_errors


def for_subject(manifest: Manifest, dataset: str, subject: str) -> Manifest:
    """The manifest's entries of one subject, in order; every part must keep at least one trial."""
    entries = [e for e in manifest.entries if (e.dataset, e.subject) == (dataset, subject)]
    for part in ("train", "test"):
        if not any(e.part == part for e in entries):
            raise InputError(None, f"{dataset}/sub-{subject} has no {part} trials in this split",
                             "leave the subject out (config/subjects.tsv) or train the experiment pooled")
    params = {**manifest.params, "subject": {"dataset": dataset, "subject": subject}}
    return Manifest(manifest.protocol, params, entries)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music subject-split", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", type=Path, required=True, help="the split manifest of every subject")
    p.add_argument("--dataset", required=True)
    p.add_argument("--subject", required=True)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    try:
        part = for_subject(Manifest.load(a.manifest), a.dataset, a.subject)
    except InputError as err:
        raise InputError(a.manifest, err.problem, err.fix) from err
    part.save(a.out)
    counts = {name: len(part.part(name)) for name in ("train", "val", "test")}
    print(f"{a.dataset}/sub-{a.subject}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
