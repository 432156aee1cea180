"""Score decoded trials: every metric with its permutation null, p-value and bootstrap CI across subjects.

``python -m eeg2music.evaluate.score --predictions fold-0.npz fold-1.npz … --out metrics.json`` pools the folds
(every test trial once, as Daly pooled his cross-validation folds) and writes ``metrics.json`` plus ``nulls.npz``.
A song classifier's predictions are its logits, not a reconstruction: it is scored on song identification only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from eeg2music.decode.predictions import Predictions
from eeg2music.errors import InputError, one_line_errors
from eeg2music.evaluate import metrics as M
from eeg2music.evaluate.daly import within_participant
from eeg2music.evaluate.song_id import song_classification, song_identification
from eeg2music.evaluate.stats import bootstrap_ci, permutation_test
from eeg2music.provenance import stamp

ALPHA = 0.05


def pool(files: list[Path]) -> Predictions:
    parts = [Predictions.load(f) for f in files]
    if len({(p.rate, p.target, p.n_samples, p.mel_pred is not None, tuple(p.classes or ())) for p in parts}) > 1:
        raise InputError(files[0], "prediction files disagree on rate, target, samples or classes",
                         "evaluate one experiment at a time")
    has_mel = parts[0].mel_pred is not None
    return Predictions([x for p in parts for x in p.pred], [x for p in parts for x in p.true],
                       [m for p in parts for m in p.meta], parts[0].rate, parts[0].target,
                       [x for p in parts for x in p.mel_pred] if has_mel else None,
                       [x for p in parts for x in p.mel_true] if has_mel else None, parts[0].mel_rate,
                       parts[0].classes)


def matrices(preds: Predictions, threads: int = 1) -> dict[str, np.ndarray]:
    """Decoded × true matrices of every metric for a deterministic set (one sample): the amplitude's, and the
    log-mel's where the model produced one (its SSIM within each participant); the SSIMs on ``threads`` threads."""
    mats = M.metric_matrices(preds.pred, preds.true, preds.rate, threads=threads)
    if preds.mel_pred is not None:
        mats |= M.metric_matrices(preds.mel_pred, preds.mel_true, preds.mel_rate, mel=True, groups=preds.subjects(),
                                  threads=threads)
    return mats


def trial_scores(mats: dict[str, np.ndarray], clips: list[str]) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Metric name → (partner permutation → per-trial scores); the identity permutation gives the observed."""
    n = len(clips)
    sim = mats["ssim_band"]
    fns = {name: (lambda partner, m=m: m[np.arange(n), partner]) for name, m in mats.items()}
    fns["rank_accuracy"] = M.rank_scorer(sim)
    if len(set(clips)) >= 2:
        fns["identification"] = M.identification_scorer(sim, clips)
    return fns


def evaluate(preds: Predictions, n_perm: int = 1000, n_boot: int = 2000, seed: int = 0, threads: int = 1
             ) -> tuple[dict, dict]:
    """Every metric with its null, p and CI. For K samples per trial (generative models) the matrices are averaged
    over samples before testing, and each sample's own score is reported (``per_sample``, ``sample_sd``)."""
    n = len(preds.pred)
    if n < 3:
        raise InputError(None, f"only {n} decoded trials", "evaluation needs at least 3 test trials")
    clips = [m.get("clip") or f"trial{i}" for i, m in enumerate(preds.meta)]
    per_sample = [matrices(preds.sample(k), threads) for k in range(preds.n_samples)]
    mats = {name: np.mean([m[name] for m in per_sample], axis=0) for name in per_sample[0]}
    subjects = preds.subjects()
    chance = {"rank_accuracy": 0.5, "identification": 1 / len(set(clips))}
    identity = np.arange(n)
    sample_scores = [{name: float(fn(identity).mean()) for name, fn in trial_scores(m, clips).items()}
                     for m in per_sample]
    results, nulls = {}, {}
    for name, fn in trial_scores(mats, clips).items():
        within = name in M.WITHIN_PARTICIPANT
        observed, null, p = permutation_test(lambda partner, fn=fn: float(fn(partner).mean()), n, n_perm, seed,
                                             groups=subjects if within else None)
        trial_values = fn(identity)
        by_subject: dict[str, list[float]] = defaultdict(list)
        for s, v in zip(subjects, trial_values, strict=True):
            by_subject[s].append(float(v))
        subject_means = {s: float(np.mean(v)) for s, v in sorted(by_subject.items())}
        lo, hi = bootstrap_ci(np.array(list(subject_means.values())), n_boot, seed=seed)
        samples = [s[name] for s in sample_scores]
        results[name] = {
            "observed": observed, "p": p, "significant": p < ALPHA, "null_mean": float(null.mean()),
            "null_q95": float(np.quantile(null, 0.95)), "ci95_subjects": [lo, hi], "chance": chance.get(name),
            "per_subject": subject_means, "per_trial": [float(v) for v in trial_values],
            "per_sample": samples, "sample_sd": float(np.std(samples)),
            "candidates": "within participant" if within else "pooled",
        }
        nulls[name] = null
    summary = {"n_trials": n, "n_subjects": len(set(subjects)), "n_clips": len(set(clips)), "rate": preds.rate,
               "target": preds.target, "n_samples": preds.n_samples, "n_perm": n_perm, "alpha": ALPHA,
               "metrics": results, "trials": preds.meta,
               "daly_protocol": within_participant(mats["ssim_band"], subjects, n_perm, seed, ALPHA, n_boot),
               "protocols": {"metrics": "pooled: every test trial of every subject is a candidate, except the "
                                        "metrics marked 'within participant' (their own participant's trials)",
                             "daly_protocol": "within each participant, as Daly (2023)"}}
    return summary, nulls


def song_id(preds: Predictions, n_perm: int, n_boot: int, seed: int) -> dict[str, Any]:
    """Window-level song identification from the decoded signal (the mean over samples for generative models) or
    a classifier's logits, in 3-s windows voted over 7 s as PredANN reports, or in the test spans' length where
    they are shorter (random-window's 1-s spans): the window used is in the result."""
    pred = [p.mean(0) if p.ndim > t.ndim and preds.target != "song" else p
            for p, t in zip(preds.pred, preds.true, strict=True)]
    shortest = min(min(p.shape[-1], t.shape[-1]) for p, t in zip(pred, preds.true, strict=True)) / preds.rate
    window_s = min(3.0, shortest)
    kwargs = {"window_s": window_s, "hop_s": min(1.0, window_s), "n_perm": n_perm, "n_boot": n_boot, "seed": seed}
    if preds.target == "song":
        return song_classification(pred, preds.true, preds.meta, preds.rate, preds.classes, **kwargs)
    return song_identification(pred, preds.true, preds.meta, preds.rate, **kwargs)


def classifier_summary(preds: Predictions, n_perm: int, n_boot: int, seed: int) -> dict[str, Any]:
    """A song classifier's metrics.json: song identification, and no reconstruction metrics."""
    subjects = preds.subjects()
    return {"n_trials": len(preds.pred), "n_subjects": len(set(subjects)),
            "n_clips": len({m.get("clip") for m in preds.meta}), "rate": preds.rate, "target": preds.target,
            "n_samples": 1, "n_perm": n_perm, "alpha": ALPHA, "metrics": {}, "trials": preds.meta,
            "song_id": song_id(preds, n_perm, n_boot, seed),
            "protocols": {"song_id": "pooled: every test window of every subject, among the trained songs"}}


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.evaluate.score", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--predictions", type=Path, nargs="+", required=True)
    p.add_argument("--out", type=Path, required=True, help="metrics.json (nulls.npz is written beside it)")
    p.add_argument("--experiment", default="")
    p.add_argument("--n-perm", type=int, default=1000)
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="threads for the SSIM matrices (default: the CPUs this process may use)")
    p.add_argument("--song-id", action="store_true",
                   help="also identify the song of every decoded window (NMED-T; eeg2music.evaluate.song_id)")
    a = p.parse_args(argv)
    preds = pool(a.predictions)
    if preds.target == "song":
        summary, nulls = classifier_summary(preds, a.n_perm, a.n_boot, a.seed), {}
    else:
        summary, nulls = evaluate(preds, a.n_perm, a.n_boot, a.seed, a.threads)
        if a.song_id:
            summary["song_id"] = song_id(preds, a.n_perm, a.n_boot, a.seed)
    summary["experiment"] = a.experiment or a.out.parent.name
    summary["predictions"] = [str(f) for f in a.predictions]
    summary["provenance"] = stamp()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(summary, indent=1))
    np.savez(a.out.with_name("nulls.npz"), **nulls)
    for name, r in summary["metrics"].items():
        print(f"{name:18s} {r['observed']:.3f}  p={r['p']:.4f}  CI95 {r['ci95_subjects'][0]:.3f}…"
              f"{r['ci95_subjects'][1]:.3f}  null {r['null_mean']:.3f}")
    for name, r in ((k, v) for k, v in summary.get("song_id", {}).items() if k in ("window", "vote")):
        print(f"song ID ({name:6s}) {r['accuracy']:.3f}  p={r['p']:.4f}  chance {summary['song_id']['chance']:.3f}")
    return 0


def load(path: Path) -> dict[str, Any]:
    if not Path(path).exists():
        raise InputError(path, "metrics file does not exist", "run the evaluate step first")
    return json.loads(Path(path).read_text())


if __name__ == "__main__":
    sys.exit(main())
