"""Readers on synthetic datasets generated from the real fixture sidecars, checked against the ground truth."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from eeg2music.io.bcmi import bcmi_clip_list
from eeg2music.io.readers import DATASETS, make_reader
from eeg2music.io.records import AUDIO_AMBIGUOUS, AUDIO_OK
from eeg2music.synth.study import read_tsv

from ..conftest import FIXTURE_RUNS, FIXTURES


def truth_trials(root):
    with open(root / "derivatives/ground_truth/trials.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.mark.parametrize("style", ["ds002725", "ds002722"])
def test_clip_ids_match_ground_truth(study, style):
    root = study / style
    reader = make_reader(style, f"synth-{style}", root, trial_s=8.0)
    assert reader.subjects() == ["01", "02"]
    truth = {(t["subject"], int(t["run"]), int(t["trial"])): t for t in truth_trials(root)}
    seen = 0
    for sub in reader.subjects():
        for r, rf in enumerate(reader.run_files(sub), start=1):
            run = reader.read_run(rf)
            for tr in run.trials:
                expected = truth[(sub, r, tr.index)]
                assert tr.clip_id == expected["clip"]
                assert tr.onset_s == pytest.approx(float(expected["onset_s"]), abs=1e-3)
                assert tr.audio_status == AUDIO_OK and tr.audio_path.exists()
                seen += 1
    assert seen == 2 * 2 * 2


def test_channel_names_and_types_come_from_real_sidecars(study):
    for style, prefix in FIXTURE_RUNS.items():
        real = read_tsv(FIXTURES / style / (prefix + "channels.tsv")) if FIXTURES.exists() else None
        reader = make_reader(style, style, study / style, trial_s=8.0)
        run = reader.read_run(reader.run_files("01")[0])
        if real is not None:
            assert run.raw.ch_names == [c["name"] for c in real]
            eeg = [c["name"] for c in real if c["type"] == "EEG"]
            assert [run.raw.ch_names[i] for i in range(len(run.raw.ch_names))
                    if run.raw.get_channel_types()[i] == "eeg"] == eeg


def test_ds002725_music_channel_encoding(study):
    """value × 20 = clip code ijk → stimuli/generated/i-j_k.wav, as channels.tsv documents."""
    reader = make_reader("ds002725", "x", study / "ds002725", trial_s=8.0)
    run = reader.read_run(reader.run_files("02")[1])
    music = run.raw.get_data(picks=["music"])[0]
    for tr in run.trials:
        value = music[int((tr.onset_s + 0.5) * 1000)]
        i, j, k = tr.clip_id.removeprefix("generated/").replace("-", "").replace("_", "").removesuffix(".wav")
        assert round(value * 20) == int(f"{i}{j}{k}")


def test_ds002722_clip_list_parsed_from_events_json(templates):
    clips = bcmi_clip_list(templates / "ds002722" / "events.json")
    assert len(clips) == 108 and clips[3] == "hvha12.wav"  # the sidecar's own example: code 104 → hvha12.wav


def test_ds002724_trials_ambiguous_with_candidates(study):
    reader = make_reader("ds002724", "x", study / "ds002724", trial_s=8.0)
    truth = truth_trials(study / "ds002724")
    run = reader.read_run(reader.run_files("01")[0])
    assert len(run.trials) == 2
    for tr, t in zip(run.trials, truth[:2], strict=True):
        assert tr.audio_status == AUDIO_AMBIGUOUS and tr.audio_path is None
        assert t["clip"] in tr.clip_candidates  # the clip actually played is among the candidates
        assert tr.states == tuple(int(s) for s in t["states"].split("-"))
    rec = next(run.trial_records())  # EEG-only work still gets the trial
    assert rec.eeg.shape == (32, 8000) and rec.audio_status == AUDIO_AMBIGUOUS


def test_trial_record_is_in_volts_with_names(study):
    reader = make_reader("ds002722", "x", study / "ds002722", trial_s=8.0)
    rec = next(reader.read_run(reader.run_files("01")[0]).trial_records())
    assert rec.sfreq == 1000 and rec.eeg.shape == (32, 8000)
    assert 1e-6 < rec.eeg.std() < 1e-3  # tens of µV, in volts
    assert rec.ch_types == ["eeg"] * 32 and rec.ch_names[1] == "FPz"
    assert rec.rating_names == ["VA1", "VA2"] and rec.ratings.shape == (2, 8000)


def test_registry_lists_every_family_member():
    assert {"ds002721", "ds002722", "ds002723", "ds002724", "ds002725", "nmed-t"} <= set(DATASETS)
    assert not DATASETS["ds002721"].has_audio and not DATASETS["ds002724"].has_clip_ids


def test_ground_truth_written(study):
    gt = json.loads((study / "ds002725/derivatives/ground_truth/ground_truth.json").read_text())
    sub = gt["subjects"]["01"]
    assert 0 < sub["ceiling_r_envelope_100hz"] <= 1
    lags = np.array(sub["trf_lags_s"])
    assert lags[0] == 0 and lags[-1] == pytest.approx(0.399)
    peak = lags[np.argmax(np.abs(sub["trf_kernels"]["envelope"]))]
    assert 0.04 <= peak <= 0.3


def test_ds002725_unpaired_marker_and_short_run(study_copy):
    """Real genMusic runs sometimes have one 768 of a pair missing, or stop before the last trial ends."""
    import mne

    eeg = study_copy / "ds002725/sub-01/eeg"
    events = eeg / "sub-01_task-genMusic01_events.tsv"
    lines = events.read_text().splitlines()
    first_768 = next(i for i, ln in enumerate(lines) if ln.endswith("\t768"))
    events.write_text("\n".join(lines[:first_768] + lines[first_768 + 1:]) + "\n")  # unpair the first trial
    edf = eeg / "sub-01_task-genMusic01_eeg.edf"
    reader = make_reader("ds002725", "x", study_copy / "ds002725", trial_s=8.0)
    run = reader.read_run(reader.run_files("01")[0])
    last_onset = run.trials[-1].onset_s
    raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
    raw.crop(tmax=last_onset + 2.0)  # the recording stops 2 s into the last trial
    mne.export.export_raw(str(edf), raw, fmt="edf", overwrite=True, verbose="error")
    run = reader.read_run(reader.run_files("01")[0])
    assert len(run.trials) == 1  # the second trial ran past the end and was dropped
    assert any("unpaired 768" in n for n in run.notes)
    assert len(run.dropped) == 1 and run.dropped[0].reason.startswith("runs past the end of the recording (")
