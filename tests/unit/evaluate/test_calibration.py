"""The calibration table groups each experiment's per-subject scores by synthetic dataset (one per setting)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eeg2music.errors import InputError
from eeg2music.evaluate.calibration import calibration_rows, markdown


def _write(results, data, rng):
    settings = {"snr-0": 0.0, "snr-0.01": 0.01}
    truth = {}
    for ds, snr in settings.items():
        d = data / ds / "derivatives" / "ground_truth"
        d.mkdir(parents=True)
        ceilings = rng.uniform(0, 1, 3)
        (d / "ground_truth.json").write_text(json.dumps(
            {"snr": snr, "realism": {"trial_gain_sd": 0.5},
             "subjects": {f"0{i}": {"ceiling_r_envelope_100hz": c} for i, c in enumerate(ceilings)}}))
        truth[ds] = ceilings.mean()
    per = {f"{ds}/sub-0{i}": (float(rng.uniform(-0.1, 0.3)), float(rng.uniform(0.3, 0.9)), bool(rng.random() < 0.5))
           for ds in settings for i in range(3)}
    for exp in ("linear_trf", "bilstm_daly"):
        (results / "evaluate" / exp).mkdir(parents=True)
        (results / "evaluate" / exp / "metrics.json").write_text(json.dumps({
            "metrics": {"r_time": {"per_subject": {k: v[0] for k, v in per.items()}}},
            "daly_protocol": {"per_participant": {k: {"observed": v[1], "significant": v[2]}
                                                  for k, v in per.items()}}}))
    return per, truth


def test_rows_group_subjects_by_setting(tmp_path):
    per, truth = _write(tmp_path / "results", tmp_path / "data", np.random.default_rng(0))
    rows = calibration_rows(tmp_path / "results", tmp_path / "data")
    assert [r["dataset"] for r in rows] == ["snr-0", "snr-0.01"] and [r["snr"] for r in rows] == [0.0, 0.01]
    for row in rows:
        mine = [v for k, v in per.items() if k.startswith(row["dataset"] + "/")]
        assert row["linear_trf r"][0] == pytest.approx(np.mean([v[0] for v in mine]))
        assert row["bilstm_daly rank"] == (pytest.approx(np.mean([v[1] for v in mine])), sum(v[2] for v in mine), 3)
        assert row["ceiling"] == pytest.approx(truth[row["dataset"]])
        assert "linear_trf_envelope r" not in row  # not run: its column shows a dash
    table = markdown(rows)
    assert table.count("\n") == 4 and "| snr-0.01 | 0.01 |" in table and "of 3)" in table


def test_no_metrics_is_one_line(tmp_path):
    with pytest.raises(InputError, match="run the calibration study first"):
        calibration_rows(tmp_path, tmp_path)
