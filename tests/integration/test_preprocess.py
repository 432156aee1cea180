"""Preprocessing writes stores that equal the reader + preprocessing path, atomically, with bad channels handled."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time

import mne
import numpy as np
import pytest
import zarr

from eeg2music.errors import InputError
from eeg2music.io.readers import make_reader
from eeg2music.preprocess import audio as audio_targets
from eeg2music.preprocess.eeg import clean_run, cut_trial, eeg_only
from eeg2music.preprocess.subject import run_subject
from eeg2music.store_writer import open_store
from eeg2music.summary import write_summary

from ..helpers import (
    error_line,
    fill_up,
    preprocess_cmd,
    rewrite_edf,
    run_preprocess,
    small_filesystem,
    zero_channel,
)
from .test_nmed import write_nmed


@pytest.fixture(scope="module")
def store_2722(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("stores") / "sub-01.zarr"
    proc = run_preprocess(study / "ds002722", "ds002722", "01", out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_store_trial_equals_reader_plus_preprocessing(study, store_2722, pre_cfg):
    g = open_store(store_2722)
    reader = make_reader("ds002722", "t-ds002722", study / "ds002722", trial_s=8.0)
    run = reader.read_run(reader.run_files("01")[1])  # second run → store trials 2, 3
    clean, _ = clean_run(eeg_only(run.raw), pre_cfg.eeg, "x")
    trial = run.trials[1]
    for rate in (256, 100):
        expected = cut_trial(clean, trial.onset_s, trial.duration_s, rate)
        np.testing.assert_array_equal(g[f"eeg/{rate}"][3], expected)
    wave, sr = audio_targets.load_audio(trial.audio_path)
    wave = audio_targets.fit_length(audio_targets.resample(wave, sr, 16000).astype(np.float32), 8 * 16000,
                                    trial.audio_path, 16000, 0.5)
    np.testing.assert_array_equal(g["audio"][3], wave)
    np.testing.assert_array_equal(g["envelope"][3], audio_targets.amplitude_envelope(wave, 16000, 100)[:800])
    meta = g.attrs["trials"][3]
    assert meta["clip_id"] == trial.clip_id and meta["run"] == "run2"


def test_store_layout_and_provenance(store_2722):
    g = open_store(store_2722)
    assert g["eeg/256"].shape == (4, 32, 8 * 256) and g["eeg/100"].shape == (4, 32, 800)
    assert g["audio"].shape == (4, 8 * 16000) and g["envelope"].shape == (4, 800)
    assert g["mel"].shape == (4, 40, 800) and g["ratings"].shape == (4, 2, 800)
    assert g.attrs["channels"][:3] == ["Fp1", "Fpz", "Fp2"]  # 10-05 names
    prov = g.attrs["provenance"]
    assert prov["git_sha"] and prov["packages"]["mne"] and len(prov["source_files"]) == 2
    assert prov["config"]["eeg"]["rates"] == [256, 100]
    # average reference: channels sum to ~0 at every sample
    x = g["eeg/256"][0]
    assert np.abs(x.mean(axis=0)).max() < 1e-3 * np.abs(x).max()


def test_cut_trial_is_sample_accurate_at_every_rate():
    """A bump at onset + 0.5 s lands at index 0.5·rate whatever the rate and however the onset falls."""
    sfreq, onset = 1000.0, 3.217
    t = np.arange(int(12 * sfreq)) / sfreq
    bump = np.exp(-((t - onset - 0.5) ** 2) / (2 * 0.01**2))
    raw = mne.io.RawArray(np.stack([bump, -bump]), mne.create_info(["Cz", "Pz"], sfreq, "eeg"), verbose="error")
    for rate in (100, 128, 256, 500):
        x = cut_trial(raw, onset, 4.0, rate)
        assert x.shape == (2, 4 * rate)
        assert abs(int(np.argmax(x[0])) - 0.5 * rate) <= 0.5


def test_flat_channel_is_interpolated_and_named(study_copy, tmp_path):
    edf = study_copy / "ds002722/sub-01/eeg/sub-01_task-run1_eeg.edf"
    rewrite_edf(edf, zero_channel("Cz"))
    out = tmp_path / "sub-01.zarr"
    proc = run_preprocess(study_copy / "ds002722", "ds002722", "01", out)
    assert proc.returncode == 0, proc.stderr
    warn = [ln for ln in proc.stderr.splitlines() if "Cz" in ln]
    assert len(warn) == 1 and edf.name in warn[0] and "flat" in warn[0] and "interpolated" in warn[0]
    g = open_store(out)
    assert g.attrs["bads"]["run1"] == {"Cz": "flat"}
    cz = g.attrs["channels"].index("Cz")
    assert g["eeg/256"][0, cz].std() > 1e-7  # interpolated from its neighbours, not left flat


def test_nan_channel_is_interpolated(tmp_path, pre_cfg):
    write_nmed(tmp_path, 21, n_subjects=1, seconds=8)
    import scipy.io

    mat = scipy.io.loadmat(tmp_path / "song21_Imputed.mat")
    mat["data21"][4, 100:200, 0] = np.nan
    scipy.io.savemat(tmp_path / "song21_Imputed.mat", {"data21": mat["data21"]})
    out = run_subject(kind="nmed-t", dataset="nmed-t", root=tmp_path, subject="01", out=tmp_path / "s.zarr",
                      cfg=pre_cfg)
    g = open_store(out)
    assert g.attrs["bads"]["song21"] == {"E5": "contains NaN"}
    assert np.isfinite(g["eeg/256"][:]).all()
    assert np.isnan(g["audio"][0]).all() and g.attrs["trials"][0]["audio_status"] == "missing"


def test_too_many_bad_channels_leaves_out_the_run_with_file_named(study_copy, tmp_path, pre_cfg):
    edf = study_copy / "ds002722/sub-02/eeg/sub-02_task-run1_eeg.edf"

    def kill_many(data, names):
        data[:12] = 0.0

    rewrite_edf(edf, kill_many)
    store = run_subject(kind="ds002722", dataset="x", root=study_copy / "ds002722", subject="02",
                        out=tmp_path / "s.zarr", cfg=pre_cfg, trial_s=8.0)
    qc = {row["run"]: row for row in zarr.open_group(str(store), mode="r").attrs["qc"]}
    assert qc["run2"]["status"] == "read" and qc["run2"]["kept"] == 2  # the subject's other run went in
    assert qc["run1"]["status"] == "skipped" and qc["run1"]["kept"] == 0
    assert edf.name in qc["run1"]["notes"][0] and "12 of 32 EEG channels are bad" in qc["run1"]["notes"][0]
    write_summary([store], tmp_path / "summary")  # the data QC table the user reads first
    with open(tmp_path / "summary/qc.tsv") as f:
        table = {r["run"]: r for r in csv.DictReader(f, delimiter="\t")}
    assert table["run1"]["status"] == "skipped" and "12 of 32 EEG channels are bad" in table["run1"]["notes"]
    assert table["run2"]["status"] == "read" and table["run2"]["kept"] == "2" and float(table["run2"]["hours"]) > 0
    rewrite_edf(edf.with_name("sub-02_task-run2_eeg.edf"), kill_many)  # now no run is usable: the subject fails
    with pytest.raises(InputError, match="12 of 32 EEG channels are bad") as err:
        run_subject(kind="ds002722", dataset="x", root=study_copy / "ds002722", subject="02",
                    out=tmp_path / "t.zarr", cfg=pre_cfg, trial_s=8.0)
    assert edf.name in str(err.value) and "1 other run(s) of sub-02 failed too" in str(err.value)
    assert not (tmp_path / "t.zarr").exists() and not list(tmp_path.glob("t.zarr.tmp-*"))


def _same_store(a_path, b_path) -> None:
    a, b = zarr.open_group(str(a_path), mode="r"), zarr.open_group(str(b_path), mode="r")
    for name in ("eeg/256", "eeg/100", "audio", "envelope", "mel", "ratings"):
        np.testing.assert_array_equal(a[name][:], b[name][:])
    assert a.attrs["trials"] == b.attrs["trials"] and b.attrs["complete"] is True


def test_sigkill_never_leaves_a_half_store(study, tmp_path):
    """SIGKILL while the store is being written: the final name holds nothing; a rerun gives the same result."""
    reference = tmp_path / "ref.zarr"
    assert run_preprocess(study / "ds002725", "ds002725", "01", reference).returncode == 0
    out = tmp_path / "killed" / "sub-01.zarr"
    proc = subprocess.Popen(preprocess_cmd(study / "ds002725", "ds002725", "01", out),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(out.parent.glob("sub-01.zarr.tmp-*")):  # the writer has started: kill it now
        assert proc.poll() is None, "the job ended before it wrote a temporary store"
        assert time.monotonic() < deadline, "no temporary store appeared"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    with pytest.raises(InputError, match="does not exist"):
        open_store(out)
    assert list(out.parent.glob("sub-01.zarr.tmp-*")), "the kill should have left a temporary store behind"
    assert run_preprocess(study / "ds002725", "ds002725", "01", out).returncode == 0
    assert not list(out.parent.glob("sub-01.zarr.tmp-*"))  # the stale temporary store was removed
    _same_store(reference, out)


def test_half_written_store_is_refused(tmp_path):
    g = zarr.open_group(str(tmp_path / "s.zarr"), mode="w")
    g.attrs["layout_version"] = 1
    with pytest.raises(InputError, match="incomplete"):
        open_store(tmp_path / "s.zarr")


def test_daly_source_features(store_2722):
    """31 ICA components × 4 eLORETA locations = Daly's 124 inputs for a 32-channel montage."""
    from eeg2music.preprocess.sources import DALY_LOCATIONS_MNI_MM, source_features

    g = open_store(store_2722)
    trials = g["eeg/100"][:]
    feats, names = source_features(trials, g.attrs["channels"], 100.0)
    assert feats.shape == (trials.shape[0], 124, trials.shape[-1]) and len(names) == 124
    assert names[:4] == [f"IC01@{loc}" for loc in DALY_LOCATIONS_MNI_MM]
    assert np.isfinite(feats).all() and feats.std() > 0
    # every feature is a scaled copy of one component's time course: the 4 locations of IC01 are collinear
    a, b = feats[:, 0].ravel(), feats[:, 1].ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("limit", ["full filesystem", "file-size limit"])
def test_a_refused_store_write_is_one_line_and_keeps_the_previous_store(study, tmp_path, limit):
    """On a full disk or under `ulimit -f`, rewriting a store ends with one line naming it and the cause; the
    previous complete store still opens and reads, and no temporary is left behind."""
    import resource

    with small_filesystem(tmp_path / "fs", 24) as fs:
        out = fs / "sub-01.zarr"
        assert run_preprocess(study / "ds002722", "ds002722", "01", out).returncode == 0
        before = open_store(out)["eeg/256"][:]
        preexec = None
        if limit == "full filesystem":
            fill_up(fs)
        else:
            def preexec():
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        proc = subprocess.run(preprocess_cmd(study / "ds002722", "ds002722", "01", out), capture_output=True,
                              text=True, timeout=300, preexec_fn=preexec)
        line = error_line(proc)
        assert str(out) in line and ("no space left" if limit == "full filesystem" else "file too large") in line
        np.testing.assert_array_equal(open_store(out)["eeg/256"][:], before)
        assert not list(fs.glob("sub-01.zarr.tmp-*"))
