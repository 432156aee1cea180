"""Learning curves: how a decoder's score grows with training data, and what more data would buy.

Each point is one experiment trained on a nested share of the training part of every fold (``eeg2music
subsample-split``) and scored on the same pooled test trials. For each metric the gap to its ceiling (1 for
correlations and accuracies) is fitted by a power law in hours of training EEG,

    ceiling − metric(h) = a · h^(−b),

by least squares in log–log space, and extrapolated to a target amount of data. The uncertainty is a paired
bootstrap over test trials: the same resampled trials score every point, the law is refitted, and the 2.5–97.5 %
range of the refits is the band. Two parameters from four points is all such a curve can honestly carry; the fit is
a trend with a spread, not a prediction, and it says so when the points do not fall (``b ≤ 0``).

``python -m eeg2music.evaluate.learning_curve --point 0.25 metrics.json fold-0.json … --point 1 … --out-dir DIR``
writes ``curve.json``, ``curve.tsv`` and ``curve.png``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from eeg2music.data.hours import recorded_hours
from eeg2music.data.splits import Manifest
from eeg2music.data.subsample import train_hours
from eeg2music.decode.predictions import trial_key
from eeg2music.errors import InputError, one_line_errors
from eeg2music.evaluate.score import load

CEILING = 1.0
MIN_GAP = 1e-4  # a point at the ceiling would have log(0); it is held just below


@dataclass
class Point:
    fraction: float
    hours: float  # training EEG per fold's model, mean over folds
    trials: np.ndarray  # per test trial, one column per metric: (n_trials, n_metrics)


def read_point(fraction: float, metrics_path: Path, manifests: list[Path], names: list[str]) -> tuple[Point, list]:
    summary = load(metrics_path)
    missing = [n for n in names if n not in summary["metrics"]]
    if missing:
        raise InputError(metrics_path, f"has no metric {', '.join(missing)} (it has {', '.join(summary['metrics'])})",
                         "pick learning_curve.metrics among them")
    scores = np.array([summary["metrics"][n]["per_trial"] for n in names]).T
    hours = float(np.mean([train_hours(Manifest.load(m)) for m in manifests]))
    return Point(fraction, hours, scores), [trial_key(t) for t in summary["trials"]]


def align(points: list[tuple[Point, list]], paths: list[Path]) -> list[Point]:
    """Every point's trials in the order of the largest point's, so the bootstrap can pair them."""
    ref = points[-1][1]
    out = []
    for (point, keys), path in zip(points, paths, strict=True):
        if sorted(keys) != sorted(ref):
            raise InputError(path, "scores other test trials than the full-data point",
                             "subsample only the training part (eeg2music subsample-split) of the same split")
        where = {k: i for i, k in enumerate(keys)}
        out.append(Point(point.fraction, point.hours, point.trials[[where[k] for k in ref]]))
    return out


def fit_power_law(hours: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """(a, b) of ceiling − score = a · hours^(−b), least squares in log–log space."""
    gap = np.clip(CEILING - score, MIN_GAP, None)
    slope, intercept = np.polyfit(np.log(hours), np.log(gap), 1)
    return float(np.exp(intercept)), float(-slope)


def predict(a: float, b: float, hours: np.ndarray | float) -> np.ndarray:
    return CEILING - a * np.power(hours, -b)


def curve(points: list[Point], names: list[str], target_hours: float, n_boot: int = 1000, seed: int = 0) -> dict:
    hours = np.array([p.hours for p in points])
    if len(set(hours.round(9))) < 2:
        raise InputError(None, "every point has the same amount of training data",
                         "give at least two different fractions")
    n = points[0].trials.shape[0]
    rng = np.random.default_rng(seed)
    resamples = rng.integers(0, n, size=(n_boot, n))
    grid = np.geomspace(hours.min(), max(target_hours, hours.max()), 60)
    out: dict = {"hours": hours.tolist(), "fractions": [p.fraction for p in points], "target_hours": target_hours,
                 "n_test_trials": n, "n_boot": n_boot, "ceiling": CEILING, "grid_hours": grid.tolist(),
                 "metrics": {}}
    for j, name in enumerate(names):
        observed = np.array([p.trials[:, j].mean() for p in points])
        boot = np.stack([p.trials[resamples, j].mean(axis=1) for p in points], axis=1)  # (n_boot, n_points)
        a, b = fit_power_law(hours, observed)
        fits = np.array([fit_power_law(hours, row) for row in boot])
        at_target = predict(fits[:, 0], fits[:, 1], target_hours)
        out["metrics"][name] = {
            "observed": observed.tolist(),
            "ci95": np.quantile(boot, [0.025, 0.975], axis=0).T.tolist(),
            "a": a, "b": b, "b_ci95": np.quantile(fits[:, 1], [0.025, 0.975]).tolist(),
            "at_target": float(predict(a, b, target_hours)),
            "at_target_ci95": np.quantile(at_target, [0.025, 0.975]).tolist(),
            "band95": np.quantile(predict(fits[:, :1], fits[:, 1:], grid[None]), [0.025, 0.975], axis=0).tolist(),
            "improves": b > 0,
        }
    return out


def plot(result: dict, experiment: str, out: Path, target_label: str) -> None:
    names = list(result["metrics"])
    hours = np.array(result["hours"])
    grid = np.array(result["grid_hours"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 4.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        m = result["metrics"][name]
        ci = np.array(m["ci95"])
        obs = np.array(m["observed"])
        ax.errorbar(hours, obs, yerr=[obs - ci[:, 0], ci[:, 1] - obs], fmt="o", color="k", capsize=3,
                    label="measured (95 % CI, trials)")
        ax.plot(grid, predict(m["a"], m["b"], grid), color="tab:blue",
                label=f"power law, b = {m['b']:.2f} [{m['b_ci95'][0]:.2f}, {m['b_ci95'][1]:.2f}]")
        ax.fill_between(grid, *m["band95"], color="tab:blue", alpha=0.15, label="95 % band (paired bootstrap)")
        lo, hi = m["at_target_ci95"]
        ax.errorbar([result["target_hours"]], [m["at_target"]],
                    yerr=[[m["at_target"] - lo], [hi - m["at_target"]]], fmt="s", color="tab:red", capsize=3,
                    label=f"{target_label}: {m['at_target']:.2f} [{lo:.2f}, {hi:.2f}]")
        ax.set(xscale="log", xlabel="hours of training EEG", ylabel=name, title=f"{experiment}: {name}")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def write(result: dict, experiment: str, out_dir: Path, target_label: str) -> None:
    """curve.json, curve.tsv and curve.png, each written under a temporary name and renamed into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {"experiment": experiment, "target_label": target_label, **result}
    tmp = out_dir / ".curve.png"
    plot(result, experiment, tmp, target_label)
    tmp.rename(out_dir / "curve.png")
    rows = [{"experiment": experiment, "metric": name, "fraction": f, "hours": h, "observed": o, "ci_low": c[0],
             "ci_high": c[1]}
            for name, m in result["metrics"].items()
            for f, h, o, c in zip(result["fractions"], result["hours"], m["observed"], m["ci95"], strict=True)]
    with (out_dir / ".curve.tsv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t")
        w.writeheader()
        w.writerows(rows)
    (out_dir / ".curve.tsv").rename(out_dir / "curve.tsv")
    (out_dir / ".curve.json").write_text(json.dumps(result, indent=1))
    (out_dir / ".curve.json").rename(out_dir / "curve.json")


def target_hours_of(datasets: list[str], full_manifests: list[Path]) -> float:
    """Training hours the real datasets would give under the same split: their recorded hours × the share of the
    split's hours that is training (from the full-data manifests)."""
    share = np.mean([train_hours(m) / m.hours() for m in map(Manifest.load, full_manifests)])
    return float(share * sum(recorded_hours(d) for d in datasets))


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.evaluate.learning_curve", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--point", nargs="+", action="append", required=True,
                   metavar="FRACTION METRICS MANIFEST",
                   help="one point: the training fraction, its metrics.json and the manifests of its folds")
    p.add_argument("--metrics", nargs="+", default=["r_time", "rank_accuracy"])
    p.add_argument("--experiment", default="")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--target-hours", type=float, help="extrapolate to this many hours of training EEG")
    target.add_argument("--target-datasets", nargs="+",
                        help="extrapolate to these OpenNeuro datasets (recorded hours × the split's training share)")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--out-dir", type=Path, required=True)
    a = p.parse_args(argv)
    if any(len(pt) < 3 for pt in a.point):
        p.error("each --point needs FRACTION METRICS and at least one MANIFEST")
    specs = sorted(((float(pt[0]), Path(pt[1]), [Path(m) for m in pt[2:]]) for pt in a.point), key=lambda s: s[0])
    points = align([read_point(f, m, mans, a.metrics) for f, m, mans in specs], [s[1] for s in specs])
    if a.target_hours is not None:
        if a.target_hours <= 0:
            p.error("--target-hours must be positive")
        hours, label = a.target_hours, f"{a.target_hours:g} h"
    else:
        hours = target_hours_of(a.target_datasets, specs[-1][2])
        label = f"{'+'.join(a.target_datasets)} ({hours:.1f} h)"
    experiment = a.experiment or a.out_dir.name
    result = curve(points, a.metrics, hours, a.n_boot)
    write(result, experiment, a.out_dir, label)
    for name, m in result["metrics"].items():
        trend = "improves" if m["improves"] else "does not improve with data here"
        print(f"{name}: b = {m['b']:.2f} ({trend}); at {label}: {m['at_target']:.3f} "
              f"[{m['at_target_ci95'][0]:.3f}, {m['at_target_ci95'][1]:.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
