"""Chance distributions and uncertainty: trial-shuffle permutation nulls, p-values, bootstrap CIs across subjects,
and a paired test across subjects between two models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import wilcoxon


def group_members(labels: list[str]) -> dict[str, np.ndarray]:
    """Label → the indices that carry it, labels in sorted order (the participants of a set of trials)."""
    labels_array = np.asarray(labels)
    return {g: np.flatnonzero(labels_array == g) for g in sorted(set(labels))}


def permutation_test(score: Callable[[np.ndarray], float], n: int, n_perm: int = 1000, seed: int = 0,
                     groups: list[str] | None = None) -> tuple[float, np.ndarray, float]:
    """``score(partner)`` is the mean metric when decoded trial i is compared with true trial ``partner[i]``.

    Returns (observed, null scores of ``n_perm`` random pairings, one-sided p = (1 + #null ≥ observed)/(1 + n_perm)).
    With ``groups`` (a label per trial) partners are shuffled only within each group.
    """
    rng = np.random.default_rng(seed)
    observed = score(np.arange(n))
    if groups is None:
        null = np.array([score(rng.permutation(n)) for _ in range(n_perm)])
    else:
        members = list(group_members(groups).values())

        def shuffle_within() -> np.ndarray:
            partner = np.arange(n)
            for idx in members:
                partner[idx] = rng.permutation(idx)
            return partner

        null = np.array([score(shuffle_within()) for _ in range(n_perm)])
    p = (1 + np.sum(null >= observed - 1e-12)) / (1 + n_perm)
    return float(observed), null, float(p)


def bootstrap_ci(values: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile CI of the mean of per-subject values, resampling subjects."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return float(values.mean()), float(values.mean())
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_boot, values.size))].mean(1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def paired_test(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """Wilcoxon signed-rank test across the subjects both models were tested on (a − b)."""
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return {"n_subjects": len(common), "mean_difference": float("nan"), "p": float("nan")}
    d = np.array([a[s] - b[s] for s in common])
    p = float(wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return {"n_subjects": len(common), "mean_difference": float(d.mean()), "p": p}
