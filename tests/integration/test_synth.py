"""The synthetic study's ground truth survives reading and preprocessing; --snr 0 is a real null."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from eeg2music.preprocess.channels import normalise_channel_name
from eeg2music.store_writer import open_store
from eeg2music.synth.study import SynthConfig, write_study

from ..helpers import run_preprocess


def pattern_vs_drive_r(root, store) -> float:
    """r between EEG projected on the true envelope pattern and the true drive (envelope ∗ TRF), over trials."""
    gt = json.loads((root / "derivatives/ground_truth/ground_truth.json").read_text())["subjects"]["01"]
    g = open_store(store)
    pattern = {normalise_channel_name(k): v for k, v in gt["spatial_patterns"]["envelope"].items()}
    w = np.array([pattern[c] for c in g.attrs["channels"]])
    kernel = np.array(gt["trf_kernels"]["envelope"])[::10]  # 1000 Hz → 100 Hz
    sos = butter(4, (1.0, 8.0), btype="bandpass", fs=100, output="sos")
    rs = []
    for k in range(g["eeg/100"].shape[0]):
        proj = sosfiltfilt(sos, w @ (g["eeg/100"][k] - g["eeg/100"][k].mean(0)))
        drive = sosfiltfilt(sos, np.convolve(g["envelope"][k], kernel)[: proj.size])
        rs.append(np.corrcoef(proj[50:-50], drive[50:-50])[0, 1])
    return float(np.mean(rs))


@pytest.mark.parametrize(("snr", "low", "high"), [(1.0, 0.3, 1.0), (0.0, -0.2, 0.2)])
def test_music_driven_eeg_is_recoverable_and_null_is_null(tmp_path, templates, snr, low, high):
    cfg = SynthConfig(out=tmp_path, styles=("ds002722",), n_subjects=1, n_runs=1, n_trials=3, trial_s=8.0,
                      n_clips=3, snr=snr, template_dir=templates, seed=3)
    root = write_study(cfg)[0]
    gt = json.loads((root / "derivatives/ground_truth/ground_truth.json").read_text())
    assert (gt["subjects"]["01"]["gain"] == 0.0) == (snr == 0.0)
    assert run_preprocess(root, "ds002722", "01", tmp_path / "s.zarr").returncode == 0
    r = pattern_vs_drive_r(root, tmp_path / "s.zarr")
    assert low < r < high, r


def test_same_seed_same_files(tmp_path, templates):
    a = write_study(SynthConfig(out=tmp_path / "a", styles=("ds002725",), n_subjects=1, n_runs=1, n_trials=1,
                                trial_s=4.0, n_clips=1, template_dir=templates))[0]
    b = write_study(SynthConfig(out=tmp_path / "b", styles=("ds002725",), n_subjects=1, n_runs=1, n_trials=1,
                                trial_s=4.0, n_clips=1, template_dir=templates))[0]
    for f in sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file()):
        if f.name != "dataset_description.json":
            assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_synth_cli_help_and_bad_flags():
    out = subprocess.run([sys.executable, "-m", "eeg2music.cli", "synth", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--snr" in out.stdout and "null study" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "eeg2music.cli", "synth", "--subjects", "0"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "--subjects must be at least 1" in bad.stderr
