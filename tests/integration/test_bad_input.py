"""Each kind of bad input gives exactly one line naming the file and what to do (through the real CLI)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import zarr

from ..helpers import error_line, run_preprocess

EDF_22 = "ds002722/sub-01/eeg/sub-01_task-run1_eeg.edf"


def left_out_run(proc: subprocess.CompletedProcess, store: Path, run: str) -> str:
    """The one warning line about a broken run, after checking that the subject's store was written from its other
    runs and that its QC table records the broken one with the same line."""
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "run left out" in ln]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    qc = {row["run"]: row for row in zarr.open_group(str(store), mode="r").attrs["qc"]}
    assert qc[run]["status"] == "skipped" and qc[run]["notes"][0] in lines[0]
    assert all(row["status"] == "read" and row["kept"] > 0 for name, row in qc.items() if name != run)
    return lines[0]


def test_truncated_edf(study_copy, tmp_path):
    edf = study_copy / EDF_22
    edf.write_bytes(edf.read_bytes()[: edf.stat().st_size // 3])
    line = left_out_run(run_preprocess(study_copy / "ds002722", "ds002722", "01", tmp_path / "s.zarr"),
                        tmp_path / "s.zarr", "run1")
    assert edf.name in line and "truncated" in line and "re-download" in line


def test_every_run_broken_is_one_error_and_no_store(study_copy, tmp_path):
    for edf in (study_copy / "ds002722/sub-01/eeg").glob("*_eeg.edf"):
        edf.write_bytes(edf.read_bytes()[: edf.stat().st_size // 3])
    line = error_line(run_preprocess(study_copy / "ds002722", "ds002722", "01", tmp_path / "s.zarr"))
    assert "sub-01_task-run1_eeg.edf" in line and "truncated" in line and "1 other run(s) of sub-01" in line
    assert not (tmp_path / "s.zarr").exists()


def test_edf_channels_disagree_with_channels_tsv(study_copy, tmp_path):
    tsv = study_copy / EDF_22.replace("_eeg.edf", "_channels.tsv")
    tsv.write_text(tsv.read_text().replace("\nCz\t", "\nCZZ\t"))
    line = left_out_run(run_preprocess(study_copy / "ds002722", "ds002722", "01", tmp_path / "s.zarr"),
                        tmp_path / "s.zarr", "run1")
    assert tsv.name in line and "only in EDF: ['Cz']" in line and "only in channels.tsv: ['CZZ']" in line


def test_events_without_trial_markers(study_copy, tmp_path):
    tsv = study_copy / "ds002725/sub-01/eeg/sub-01_task-genMusic01_events.tsv"
    rows = [r for r in tsv.read_text().splitlines() if not r.endswith("\t768")]
    tsv.write_text("\n".join(rows) + "\n")
    line = left_out_run(run_preprocess(study_copy / "ds002725", "ds002725", "01", tmp_path / "s.zarr"),
                        tmp_path / "s.zarr", "genMusic01")
    assert tsv.name in line and "no trial markers (event 768)" in line


def test_malformed_events_and_channels_name_the_file_and_row(study_copy, tmp_path):
    events = study_copy / EDF_22.replace("_eeg.edf", "_events.tsv")
    original = events.read_text()
    lines = original.splitlines()
    lines[2] = "abc\t" + lines[2].split("\t", 1)[1]
    events.write_text("\n".join(lines) + "\n")
    line = left_out_run(run_preprocess(study_copy / "ds002722", "ds002722", "01", tmp_path / "a.zarr"),
                        tmp_path / "a.zarr", "run1")
    assert events.name in line and "row 3: onset 'abc' is not a number" in line
    events.write_text(original)
    channels = study_copy / "ds002722/sub-01/eeg/sub-01_task-run2_channels.tsv"
    lines = channels.read_text().splitlines()
    lines[4] = lines[4] + "\textra"
    channels.write_text("\n".join(lines) + "\n")
    line = left_out_run(run_preprocess(study_copy / "ds002722", "ds002722", "01", tmp_path / "b.zarr"),
                        tmp_path / "b.zarr", "run2")
    assert channels.name in line and "row 5 has 6 fields, the header 5" in line


def test_clip_code_with_no_wav(study_copy, tmp_path):
    wavs = sorted((study_copy / "ds002722/stimuli").glob("*.wav"))
    for w in wavs:
        w.unlink()
    line = error_line(run_preprocess(study_copy / "ds002722", "ds002722", "01", tmp_path / "s.zarr"))
    assert "stimuli/" in line and ".wav" in line and "has no wav file" in line


def test_wav_shorter_than_its_trial_costs_only_its_trials(study_copy, tmp_path):
    """A truncated clip (as ds002725's generated/3-7_1.wav is on OpenNeuro) loses the audio of the trials that play
    it, one line each naming the file; the run and every other trial keep theirs."""
    store = tmp_path / "s.zarr"
    assert run_preprocess(study_copy / "ds002722", "ds002722", "01", tmp_path / "ref.zarr").returncode == 0
    first = zarr.open_group(str(tmp_path / "ref.zarr"), mode="r").attrs["trials"][0]
    wav = study_copy / "ds002722/stimuli" / first["audio_file"].removeprefix("stimuli/")
    x, sr = sf.read(wav)
    sf.write(wav, x[: 3 * sr], sr)
    proc = run_preprocess(study_copy / "ds002722", "ds002722", "01", store)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "short by" in ln]
    assert lines and all(wav.name in ln and "kept without audio" in ln for ln in lines), proc.stderr
    trials = zarr.open_group(str(store), mode="r").attrs["trials"]
    hit = [t for t in trials if t["audio_file"] == first["audio_file"]]
    assert len(lines) == len(hit) and all(t["audio_status"] == "truncated" for t in hit)
    assert all(t["audio_status"] == "ok" for t in trials if t["audio_file"] != first["audio_file"])
    assert {t["run"] for t in trials} == {t["run"] for t in zarr.open_group(str(tmp_path / "ref.zarr"),
                                                                         mode="r").attrs["trials"]}


def test_sampling_rate_contradicts_sidecar(study_copy, tmp_path):
    js = study_copy / EDF_22.replace("_eeg.edf", "_eeg.json")
    meta = json.loads(js.read_text())
    meta["SamplingFrequency"] = 500
    js.write_text(json.dumps(meta))
    line = left_out_run(run_preprocess(study_copy / "ds002722", "ds002722", "01", tmp_path / "s.zarr"),
                        tmp_path / "s.zarr", "run1")
    assert js.name in line and "500 Hz contradicts" in line and "1000 Hz" in line


def test_unknown_dataset_id(study, tmp_path):
    line = error_line(run_preprocess(study / "ds002722", "ds009999", "01", tmp_path / "s.zarr"))
    assert "unknown dataset id 'ds009999'" in line and "ds002725" in line


def test_listed_subject_with_no_files(study, tmp_path):
    sheet = tmp_path / "subjects.tsv"
    proc = subprocess.run([sys.executable, "-m", "eeg2music.discover", "--kind", "ds002722", "--dataset", "x",
                           "--root", str(study / "ds002722"), "--out", str(sheet), "--subjects", "01", "07"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with sheet.open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [(r["subject"], r["n_runs"]) for r in rows] == [("01", "2"), ("07", "0")]
    line = error_line(run_preprocess(study / "ds002722", "ds002722", "07", tmp_path / "s.zarr"))
    assert "sub-07" in line and "no EEG runs" in line


def test_missing_dataset_root(tmp_path):
    line = error_line(run_preprocess(tmp_path / "nowhere", "ds002722", "01", tmp_path / "s.zarr"))
    assert "nowhere" in line and "eeg2music fetch ds002722" in line


def test_undamaged_copy_preprocesses(study_copy, tmp_path):
    """The damage above is what fails those runs: the same copy, undamaged, preprocesses cleanly."""
    proc = run_preprocess(study_copy / "ds002722", "ds002722", "01", tmp_path / "ok.zarr")
    assert proc.returncode == 0, proc.stderr
    import zarr

    assert np.isfinite(zarr.open_group(str(tmp_path / "ok.zarr"), mode="r")["audio"][:]).all()
