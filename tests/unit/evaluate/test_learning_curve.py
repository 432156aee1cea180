"""Learning curves: nested training shares of a split, and the power-law fit with its paired bootstrap."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from eeg2music.data.splits import make_split
from eeg2music.data.subsample import subsample, train_hours
from eeg2music.errors import InputError
from eeg2music.evaluate.learning_curve import Point, curve, fit_power_law

from ..data.test_splits import fake_stores

FRACTIONS = (0.125, 0.25, 0.5, 1.0)


def train_keys(manifest):
    return {(e.dataset, e.subject, e.trial) for e in manifest.part("train")}


def test_trial_shares_are_nested_per_subject_and_leave_val_and_test_alone():
    full = make_split(fake_stores(n_subjects=3, n_runs=3, n_trials=8), "cv-by-run", fold=1)
    parts = [subsample(full, f, "trials", seed=3) for f in FRACTIONS]
    for small, big in itertools.pairwise(parts):
        assert train_keys(small) < train_keys(big)  # strictly nested: more data, not different data
    assert train_keys(parts[-1]) == train_keys(full)
    for part in parts:
        for name in ("val", "test"):
            assert part.part(name) == full.part(name)
    per_subject = {}
    for e in full.part("train"):
        per_subject[(e.dataset, e.subject)] = per_subject.get((e.dataset, e.subject), 0) + 1
    kept = {}
    for e in parts[0].part("train"):
        kept[(e.dataset, e.subject)] = kept.get((e.dataset, e.subject), 0) + 1
    assert kept.keys() == per_subject.keys()  # every subject keeps at least one trial
    assert all(kept[s] == int(np.ceil(0.125 * n)) for s, n in per_subject.items())
    assert train_hours(parts[1]) == pytest.approx(train_hours(full) * sum(kept.values()) * 2
                                                  / len(full.part("train")), rel=0.3)


def test_subject_shares_keep_whole_subjects_and_change_with_the_seed():
    full = make_split(fake_stores(n_subjects=8, datasets=("a",)), "leave-subject-out", fold=0)
    half = subsample(full, 0.5, "subjects", seed=0)
    subjects = {e.subject for e in half.part("train")}
    train_subjects = {e.subject for e in full.part("train")}
    assert len(subjects) == int(np.ceil(len(train_subjects) / 2))
    assert train_keys(half) == {(e.dataset, e.subject, e.trial) for e in full.part("train") if e.subject in subjects}
    assert {e.subject for e in subsample(full, 0.5, "subjects", seed=1).part("train")} != subjects or \
        {e.subject for e in subsample(full, 0.5, "subjects", seed=2).part("train")} != subjects


@pytest.mark.parametrize(("fraction", "unit", "message"), [(0.0, "trials", "outside (0, 1]"),
                                                           (1.5, "trials", "outside (0, 1]"),
                                                           (0.5, "runs", "unknown unit")])
def test_bad_share_is_a_clear_error(fraction, unit, message):
    full = make_split(fake_stores(n_subjects=2), "cv-by-run", fold=0)
    with pytest.raises(InputError, match=re.escape(message)):
        subsample(full, fraction, unit)


def test_power_law_recovers_a_known_exponent():
    hours = np.array([0.5, 1.0, 2.0, 4.0])
    a, b = fit_power_law(hours, 1 - 0.4 * hours**-0.7)
    assert a == pytest.approx(0.4) and b == pytest.approx(0.7)


def test_curve_band_covers_the_truth_and_shrinks_with_more_trials():
    rng = np.random.default_rng(0)
    hours = [0.25, 0.5, 1.0, 2.0]
    truth = lambda h: 1 - 0.5 * h**-0.5  # noqa: E731

    def points(n):
        # paired: one trial effect shared by every point, plus independent noise
        trial_effect = rng.normal(0, 0.05, n)
        return [Point(h / 2, h, (truth(h) + trial_effect + rng.normal(0, 0.05, n))[:, None]) for h in hours]

    small = curve(points(40), ["r"], target_hours=20.0, n_boot=400)["metrics"]["r"]
    large = curve(points(400), ["r"], target_hours=20.0, n_boot=400)["metrics"]["r"]
    for result in (small, large):
        lo, hi = result["at_target_ci95"]
        assert lo <= truth(20.0) <= hi and result["improves"]
    width = lambda m: m["at_target_ci95"][1] - m["at_target_ci95"][0]  # noqa: E731
    assert width(large) < width(small) / 2


def test_flat_curve_is_reported_as_no_gain():
    rng = np.random.default_rng(1)
    pts = [Point(f, f, rng.normal(0.3, 0.05, (60, 1))) for f in (0.25, 0.5, 1.0)]
    result = curve(pts, ["r"], target_hours=10.0, n_boot=300)["metrics"]["r"]
    assert result["b_ci95"][0] < 0 < result["b_ci95"][1]


def saved_manifest(tmp_path):
    """A cv-by-run manifest on disk whose store folders exist (manifests refuse stores that do not)."""
    manifest = make_split(fake_stores(n_subjects=2), "cv-by-run", fold=0)
    for s in {e.store for e in manifest.entries}:
        (tmp_path / s.lstrip("/")).mkdir(parents=True, exist_ok=True)
    manifest.entries = [replace(e, store=str(tmp_path / e.store.lstrip("/"))) for e in manifest.entries]
    return manifest.save(tmp_path / "fold-0.json")


def test_cli_refuses_points_scored_on_other_test_trials(tmp_path):
    metrics = {}
    for name, trials in (("a", [0, 1, 2]), ("b", [0, 1, 5])):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"metrics": {"r_time": {"per_trial": [0.1, 0.2, 0.3]}},
                                    "trials": [{"dataset": "x", "subject": "01", "run": "run1", "trial": t}
                                               for t in trials]}))
        metrics[name] = path
    man = saved_manifest(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "eeg2music.evaluate.learning_curve", "--point", "0.5",
                           str(metrics["a"]), str(man), "--point", "1", str(metrics["b"]), str(man),
                           "--metrics", "r_time", "--target-hours", "5", "--out-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "a.json" in proc.stderr and "other test trials" in proc.stderr
    assert not (tmp_path / "out" / "curve.json").exists()


def test_subsample_cli_names_the_manifest_on_a_bad_share(tmp_path):
    path = saved_manifest(tmp_path)
    out = tmp_path / "share" / "fold-0.json"
    cmd = [sys.executable, "-m", "eeg2music.cli", "subsample-split", "--manifest", str(path), "--out", str(out)]
    bad = subprocess.run([*cmd, "--fraction", "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and str(path) in bad.stderr and "outside (0, 1]" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not out.exists()
    good = subprocess.run([*cmd, "--fraction", "0.5"], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    kept = json.loads(out.read_text())["params"]["subsample"]
    assert kept["fraction"] == 0.5 and 0 < kept["train_trials"] < kept["of_train_trials"]
