"""Daly (2023)'s rank accuracy, computed as he did: within each participant.

Each decoded trial is ranked only among the true trials of its own participant, each participant gets their own
trial-shuffle null and p, and the study reports how many participants are significant ("13 of 18" in Daly's
words), the mean over participants, and group-level tests. The pooled rank accuracy (every subject's trials as
candidates) is another protocol: with several subjects it also rewards telling subjects apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import binomtest, wilcoxon

from eeg2music.evaluate import metrics as M
from eeg2music.evaluate.stats import bootstrap_ci, group_members, permutation_test

MIN_FOR_CI = 5  # participants below which a bootstrap "95 % CI" is only the values themselves


def within_participant(sim: np.ndarray, subjects: list[str], n_perm: int, seed: int, alpha: float,
                       n_boot: int = 2000) -> dict[str, Any]:
    """Per participant: rank accuracy among their own trials, its null and p; then k of N significant, the mean,
    a binomial test of k (is that many significant participants more than chance?) and a Wilcoxon test of the
    participants' values against 0.5."""
    per: dict[str, dict[str, float]] = {}
    for s, idx in group_members(subjects).items():
        if idx.size < 3:
            continue  # a rank among fewer than 3 trials says nothing
        rank = M.rank_scorer(sim[np.ix_(idx, idx)])
        observed, _, p = permutation_test(lambda partner, rank=rank: float(rank(partner).mean()), idx.size, n_perm,
                                          seed)
        per[s] = {"observed": observed, "p": p, "significant": p < alpha, "n_trials": int(idx.size)}
    values = np.array([v["observed"] for v in per.values()])
    n, k = len(per), sum(v["significant"] for v in per.values())
    result: dict[str, Any] = {
        "protocol": "within each participant (Daly 2023): candidates are the participant's own test trials",
        "per_participant": per, "n_participants": n, "k_significant": k, "alpha": alpha, "chance": 0.5,
        "mean": float(values.mean()) if n else float("nan"),
        "p_k_significant": float(binomtest(k, n, alpha, alternative="greater").pvalue) if n else float("nan"),
    }
    d = values - 0.5
    result["p_wilcoxon"] = float(wilcoxon(d, alternative="greater").pvalue) if n >= 2 and np.any(d != 0) else None
    if n >= MIN_FOR_CI:
        result["ci95"] = list(bootstrap_ci(values, n_boot, seed=seed))
    else:
        result["ci95"] = None
        result["ci_note"] = f"{n} participants: too few for a confidence interval"
    return result
