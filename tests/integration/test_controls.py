"""The artefact control on a planted artefact: a synthetic study with no brain response to the music at all, whose
blinks follow the note onsets. Decoding from the frontal channels alone finds the music there, and the comparison
flags a model that does not beat that control."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eeg2music.data.splits import make_split
from eeg2music.data.stores import StoreInfo
from eeg2music.decode.linear import fit_predict
from eeg2music.evaluate.report import comparison_table
from eeg2music.evaluate.score import main as evaluate_cli
from eeg2music.preprocess.subject import run_subject
from eeg2music.synth.forward import Realism
from eeg2music.synth.study import SynthConfig, write_study

SUBJECTS = 6  # the fewest for which a Wilcoxon test across subjects can reach p < 0.05 (two-sided: 0.031)


def null_study(root: Path, pre_cfg, music_blinks: float) -> list[Path]:
    """6 subjects × 3 runs × 3 trials × 12 s (ds002722 layout), SNR 0 (the EEG knows nothing of the music), with
    ``music_blinks`` of the note onsets followed by a blink; preprocessed, with Daly's 3 cv-by-run manifests."""
    data = write_study(SynthConfig(out=root / "bids", styles=("ds002722",), n_subjects=SUBJECTS, n_runs=3, n_trials=3,
                                   trial_s=12.0, n_clips=9, snr=0.0, seed=3,
                                   realism=Realism(music_blinks=music_blinks)))[0]
    infos = [StoreInfo.read(run_subject(kind="ds002722", dataset="d", root=data, subject=f"{s:02d}",
                                        out=root / f"sub-{s:02d}.zarr", cfg=pre_cfg, trial_s=12.0))
             for s in range(1, SUBJECTS + 1)]
    return [make_split(infos, "cv-by-run", fold=k).save(root / f"fold-{k}.json") for k in range(3)]


def decode(manifests: list[Path], work: Path, name: str, channels: str) -> Path:
    """The linear decoder on ``channels`` over every fold, evaluated as the workflow does → metrics.json."""
    from eeg2music.data.splits import Manifest

    files = [fit_predict(Manifest.load(m), channels=channels).save(work / f"{name}-{k}.npz")
             for k, m in enumerate(manifests)]
    out = work / name / "metrics.json"
    assert evaluate_cli(["--predictions", *map(str, files), "--out", str(out), "--experiment", name,
                         "--n-perm", "1000", "--n-boot", "200"]) == 0
    return out


@pytest.fixture(scope="module")
def planted(tmp_path_factory, pre_cfg_module):
    root = tmp_path_factory.mktemp("planted")
    manifests = null_study(root, pre_cfg_module, music_blinks=0.8)
    return {"root": root, **{name: decode(manifests, root, name, channels)
                             for name, channels in (("frontal", "frontal"), ("all", "intersection"))}}


def test_the_artefact_control_also_reads_the_recorded_ecg(planted):
    """The ds002722 layout records an ECG channel: the control's last input is that channel, as recorded in the
    EDF, cut at the trial's onset (its heartbeats line up with the raw file's), while the decoders' EEG never holds
    it."""
    import mne
    import numpy as np

    from eeg2music.data.dataset import WindowDataset
    from eeg2music.data.splits import Manifest
    from eeg2music.data.windows import WindowConfig
    from eeg2music.preprocess.audio import resample

    root = planted["root"]
    assert StoreInfo.read(root / "sub-01.zarr").aux_channels == ("ECG",)
    manifest = Manifest.load(root / "fold-0.json")
    frontal, everything = (WindowDataset(manifest, "test", WindowConfig(whole_trial=True, rate=100, channels=mode,
                                                                         targets=("envelope",)))
                           for mode in ("frontal", "intersection"))
    assert frontal.data_info()["channels"][-1] == "ECG" and "ECG" not in everything.data_info()["channels"]
    item = frontal[0]
    entry = frontal.entries[frontal.owners[0]]
    trial = next(t for t in StoreInfo.read(entry.store).trials if t["trial"] == entry.trial and t["run"] == entry.run)
    raw = mne.io.read_raw_edf(next((root / "bids").glob(f"*/{trial['source_file']}")), verbose="error")
    sf = raw.info["sfreq"]
    start = round(trial["onset_s"] * sf)
    recorded = resample(raw.get_data(picks="ECG", start=start, stop=start + round(trial["duration_s"] * sf))[0], sf,
                        100)
    ecg = item["eeg"][-1].numpy()
    n = min(ecg.size, recorded.size)
    assert np.corrcoef(ecg[:n], recorded[:n])[0, 1] > 0.9


def test_blinks_locked_to_the_music_make_the_frontal_control_score(planted):
    import json

    frontal = json.loads(planted["frontal"].read_text())["metrics"]
    for metric in ("r_time", "rank_accuracy"):
        assert frontal[metric]["p"] < 0.01 and frontal[metric]["observed"] > frontal[metric]["null_mean"], metric


def test_the_frontal_control_is_at_chance_without_the_planted_blinks(tmp_path, pre_cfg_module):
    import json

    manifests = null_study(tmp_path, pre_cfg_module, music_blinks=0.0)
    frontal = json.loads(decode(manifests, tmp_path, "frontal", "frontal").read_text())["metrics"]
    assert frontal["rank_accuracy"]["p"] > 0.05 and frontal["r_time"]["p"] > 0.05


def test_the_comparison_flags_a_model_that_does_not_beat_the_artefact_control(planted):
    """Every channel's decoder on the null study has only the blinks to go on: it is not shown beating the frontal
    control, and the control sits in its own table, not among the decoders."""
    table, _ = comparison_table({"all": planted["all"], "frontal": planted["frontal"]}, "all",
                                controls={"frontal": "every-model"})
    decoders, controls = table.split("Controls, floors and ceilings (not decoders)")
    row = re.search(r"<tr><td>all</td>.*?</tr>", decoders, re.S).group(0)
    assert re.search(rf"frontal: Δ [-+]\d\.\d{{3}}, p \d\.\d{{3}} \(n={SUBJECTS}\): <span class='ns'>does not beat it",
                     row)
    assert "<tr><td>frontal</td>" not in decoders
    assert "<tr><td>frontal</td><td>artefact control of every model</td>" in controls
