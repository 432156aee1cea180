"""The calibration table of the synthetic study's difficulty (docs/calibration.md).

The calibration study (config/studies/calibration.yaml) writes one synthetic dataset per candidate setting and
decodes each with per-subject models only, so a setting's numbers come from its own subjects. This module groups
each experiment's per-subject scores by dataset and prints one row per setting: the linear decoders'
within-subject envelope r, and Daly's protocol (rank accuracy within each participant, k of N significant at the
evaluation's alpha) for the linear decoder and the bi-LSTM.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from eeg2music.errors import InputError, one_line_errors

R_EXPERIMENTS = ("linear_trf", "linear_trf_envelope")  # within-subject Pearson r of the decoded envelope
RANK_EXPERIMENTS = ("linear_trf", "bilstm_daly")  # Daly's protocol


def _setting(root: Path) -> dict:
    truth = root / "derivatives" / "ground_truth" / "ground_truth.json"
    try:
        t = json.loads(truth.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(truth, f"cannot read the synthetic ground truth ({err})",
                         "rerun `snakemake … --configfile config/studies/calibration.yaml`") from err
    ceilings = [s["ceiling_r_envelope_100hz"] for s in t["subjects"].values()]
    return {"snr": t["snr"], "realism": t.get("realism", {}), "ceiling": float(np.mean(ceilings))}


def _by_dataset(per_subject: dict[str, float]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for key, value in per_subject.items():
        out.setdefault(key.split("/")[0], []).append(value)
    return out


def calibration_rows(results: Path, data: Path) -> list[dict]:
    """One row per synthetic dataset found in the experiments' metrics (sorted by SNR)."""
    metrics = {}
    for exp in sorted(set(R_EXPERIMENTS + RANK_EXPERIMENTS)):
        path = results / "evaluate" / exp / "metrics.json"
        if path.exists():
            metrics[exp] = json.loads(path.read_text())
    if not metrics:
        raise InputError(results / "evaluate", "no metrics of linear_trf, linear_trf_envelope or bilstm_daly",
                         "run the calibration study first (docs/calibration.md)")
    rows: dict[str, dict] = {}
    for exp in R_EXPERIMENTS:
        if exp in metrics:
            for ds, rs in _by_dataset(metrics[exp]["metrics"]["r_time"]["per_subject"]).items():
                rows.setdefault(ds, {})[f"{exp} r"] = (float(np.mean(rs)), float(np.min(rs)), float(np.max(rs)))
    for exp in RANK_EXPERIMENTS:
        if exp in metrics:
            per = metrics[exp]["daly_protocol"]["per_participant"]
            for ds, vals in _by_dataset({k: (v["observed"], v["significant"]) for k, v in per.items()}).items():
                acc = [a for a, _ in vals]
                rows.setdefault(ds, {})[f"{exp} rank"] = (float(np.mean(acc)), sum(s for _, s in vals), len(vals))
    for ds, row in rows.items():
        row.update(_setting(data / ds))
        row["dataset"] = ds
    return sorted(rows.values(), key=lambda r: r["snr"])


def markdown(rows: list[dict]) -> str:
    head = ["setting", "SNR", "oracle r"] + [f"{e} r (min–max)" for e in R_EXPERIMENTS] + \
           [f"{e} rank acc. (k of N)" for e in RANK_EXPERIMENTS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["dataset"], f"{row['snr']:g}", f"{row['ceiling']:.2f}"]
        for e in R_EXPERIMENTS:
            v = row.get(f"{e} r")
            cells.append(f"{v[0]:.3f} ({v[1]:.3f}–{v[2]:.3f})" if v else "–")
        for e in RANK_EXPERIMENTS:
            v = row.get(f"{e} rank")
            cells.append(f"{v[0]:.3f} ({v[1]} of {v[2]})" if v else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music calibration-table", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, default=Path("results/calibration"))
    p.add_argument("--data", type=Path, default=Path("data/calibration"), help="synth.out of the calibration study")
    a = p.parse_args(argv)
    sys.stdout.write(markdown(calibration_rows(a.results, a.data)))
    return 0
