"""Discover the subjects of a dataset (the Snakemake checkpoint that precedes per-subject preprocessing)."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from eeg2music.errors import InputError, one_line_errors
from eeg2music.io.readers import make_reader


def discover(*, kind: str, dataset: str, root: Path, out: Path, subjects: list[str] | None = None,
             trial_s: float | None = None, audio_dir: Path | None = None) -> list[dict]:
    """Write ``subjects.tsv`` (dataset, subject, n_runs, include). Listed subjects with no files stay in the sheet
    with n_runs 0, so their own preprocess job fails with a clear message while the others run."""
    reader = make_reader(kind, dataset, root, trial_s, audio_dir)
    found = reader.subjects()
    rows = []
    for sub in subjects or found:
        try:
            n_runs = len(reader.run_files(sub))
        except InputError:
            n_runs = 0
        rows.append({"dataset": dataset, "subject": sub, "n_runs": n_runs, "include": True})
    if not rows:
        raise InputError(root, "no subjects found", "check the dataset root in config/config.yaml")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, ["dataset", "subject", "n_runs", "include"], delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    tmp.rename(out)
    return rows


def sheet_lists(path: Path, dataset: str) -> bool:
    """Whether a subject sheet has rows for ``dataset`` (a user's sheet may cover only some datasets)."""
    with open(path, newline="") as f:
        return any(r["dataset"] == dataset for r in csv.DictReader(f, delimiter="\t"))


def read_subjects(path: Path, dataset: str | None = None) -> list[str]:
    """Included subjects of a sheet (the discover output or a user's config/subjects.tsv)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r["subject"] for r in rows if (dataset is None or r["dataset"] == dataset)
            and str(r.get("include", "true")).lower() in ("true", "1", "yes")]


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music discover", description=discover.__doc__)
    p.add_argument("--kind", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--root", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--subjects", nargs="*", default=None, help="restrict to these subject labels")
    p.add_argument("--trial-s", type=float, default=None)
    p.add_argument("--audio-dir", type=Path, default=None)
    a = p.parse_args(argv)
    discover(kind=a.kind, dataset=a.dataset, root=a.root, out=a.out, subjects=a.subjects or None,
             trial_s=a.trial_s, audio_dir=a.audio_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
