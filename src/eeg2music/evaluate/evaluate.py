"""Score decoded trials: every metric with its permutation null, p-value and bootstrap CI across subjects.

``python -m eeg2music.evaluate.evaluate --predictions fold-0.npz fold-1.npz … --out metrics.json`` pools the folds
(every test trial once, as Daly pooled his cross-validation folds) and writes ``metrics.json`` plus ``nulls.npz``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from eeg2music.errors import InputError, one_line_errors
from eeg2music.evaluate import metrics as M
from eeg2music.evaluate.predictions import Predictions
from eeg2music.evaluate.stats import bootstrap_ci, permutation_test

ALPHA = 0.05


def pool(files: list[Path]) -> Predictions:
    parts = [Predictions.load(f) for f in files]
    if len({(p.rate, p.target) for p in parts}) > 1:
        raise InputError(files[0], "prediction files disagree on rate or target", "evaluate one experiment at a time")
    return Predictions([x for p in parts for x in p.pred], [x for p in parts for x in p.true],
                       [m for p in parts for m in p.meta], parts[0].rate, parts[0].target)


def evaluate(preds: Predictions, n_perm: int = 1000, n_boot: int = 2000, seed: int = 0) -> tuple[dict, dict]:
    n = len(preds.pred)
    if n < 3:
        raise InputError(None, f"only {n} decoded trials", "evaluation needs at least 3 test trials")
    mats = M.metric_matrices(preds.pred, preds.true, preds.rate, mel=preds.target == "mel")
    clips = [m.get("clip") or f"trial{i}" for i, m in enumerate(preds.meta)]
    subjects = preds.subjects()
    sim = mats.get("ssim_band", mats.get("mel_ssim"))
    per_trial_fn = {name: (lambda partner, m=m: m[np.arange(n), partner]) for name, m in mats.items()}
    per_trial_fn["rank_accuracy"] = lambda partner: M.rank_accuracy(sim, partner)
    chance = {"rank_accuracy": 0.5}
    if len(set(clips)) >= 2:
        per_trial_fn["identification"] = lambda partner: M.identification(sim, clips, partner)
        chance["identification"] = 1 / len(set(clips))
    results, nulls = {}, {}
    for name, fn in per_trial_fn.items():
        observed, null, p = permutation_test(lambda partner, fn=fn: float(fn(partner).mean()), n, n_perm, seed)
        trial_values = fn(np.arange(n))
        by_subject: dict[str, list[float]] = defaultdict(list)
        for s, v in zip(subjects, trial_values, strict=True):
            by_subject[s].append(float(v))
        subject_means = {s: float(np.mean(v)) for s, v in sorted(by_subject.items())}
        lo, hi = bootstrap_ci(np.array(list(subject_means.values())), n_boot, seed=seed)
        results[name] = {
            "observed": observed, "p": p, "significant": p < ALPHA, "null_mean": float(null.mean()),
            "null_q95": float(np.quantile(null, 0.95)), "ci95_subjects": [lo, hi], "chance": chance.get(name),
            "per_subject": subject_means, "per_trial": [float(v) for v in trial_values],
        }
        nulls[name] = null
    summary = {"n_trials": n, "n_subjects": len(set(subjects)), "n_clips": len(set(clips)), "rate": preds.rate,
               "target": preds.target, "n_perm": n_perm, "alpha": ALPHA, "metrics": results,
               "trials": preds.meta}
    return summary, nulls


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.evaluate.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--predictions", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True, help="metrics.json (nulls.npz is written beside it)")
    p.add_argument("--experiment", default="")
    p.add_argument("--n-perm", type=int, default=1000)
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    summary, nulls = evaluate(pool(a.predictions), a.n_perm, a.n_boot, a.seed)
    summary["experiment"] = a.experiment or a.out.parent.name
    summary["predictions"] = [str(f) for f in a.predictions]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(summary, indent=1))
    np.savez(a.out.with_name("nulls.npz"), **nulls)
    for name, r in summary["metrics"].items():
        print(f"{name:18s} {r['observed']:.3f}  p={r['p']:.4f}  CI95 {r['ci95_subjects'][0]:.3f}…"
              f"{r['ci95_subjects'][1]:.3f}  null {r['null_mean']:.3f}")
    return 0


def load(path: Path) -> dict[str, Any]:
    if not Path(path).exists():
        raise InputError(path, "metrics file does not exist", "run the evaluate step first")
    return json.loads(Path(path).read_text())


if __name__ == "__main__":
    sys.exit(main())
