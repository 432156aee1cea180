"""The long-trial protocols end to end on an NMED-T-shaped study that knows nothing of the music (SNR 0): v7.3 files
and the audio folder from `eeg2music synth --styles nmed-t`, preprocessed with the EGI montage, split by each
protocol, decoded by the linear model, and songs identified from the decoded windows. With no music in the EEG,
song identification must sit at chance under every protocol, leaky ones included: what a leaky protocol adds is
shared EEG, and here the EEG shares nothing with the songs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eeg2music.data.audit import audit
from eeg2music.data.long_trials import LONG_TRIAL_PROTOCOLS
from eeg2music.data.splits import Manifest, make_split
from eeg2music.data.stores import StoreInfo
from eeg2music.decode.linear import fit_predict
from eeg2music.decode.predict import main as predict_cli
from eeg2music.decode.predictions import Predictions
from eeg2music.evaluate.protocols import protocol_table
from eeg2music.evaluate.report import experiment_page
from eeg2music.evaluate.score import main as evaluate_cli
from eeg2music.evaluate.song_id import song_identification
from eeg2music.preprocess.subject import run_subject
from eeg2music.synth.nmed import NmedConfig, write_nmed
from eeg2music.train.engine import cli as train_cli

from ..conftest import REPO

LONG = {"window_s": 3.0, "lag_s": 0.05, "guard_s": 3.5}
HONEST = ("time-block", "leave-song-out")


@pytest.fixture(scope="module")
def decoded(tmp_path_factory, pre_cfg_module) -> dict[str, list[Path]]:
    """protocol → the linear decoder's predictions of every fold (the manifests under <root>/splits/)."""
    root = tmp_path_factory.mktemp("nmed")
    data, audio = write_nmed(NmedConfig(root / "raw", n_subjects=2, n_songs=3, song_s=60.0, snr=0.0, seed=5))
    stores = [StoreInfo.read(run_subject(kind="nmed-t", dataset="nmed-t", root=data, subject=s,
                                         out=root / f"sub-{s}.zarr", cfg=pre_cfg_module, audio_dir=audio))
              for s in ("01", "02")]
    out = {}
    for protocol in LONG_TRIAL_PROTOCOLS:
        folds = 3 if protocol in HONEST else 1
        out[protocol] = []
        for fold in range(folds):
            manifest = make_split(stores, protocol, seed=0, fold=fold, n_folds=3, val=0.15, long=LONG)
            manifest.save(root / "splits" / protocol / f"fold-{fold}.json")
            assert audit(manifest)["declared_protocol_honest"] == (protocol in HONEST)
            out[protocol].append(fit_predict(manifest, tmin=-0.05).save(root / "pred" / protocol / f"{fold}.npz"))
    return out


@pytest.mark.parametrize("protocol", LONG_TRIAL_PROTOCOLS)
def test_song_id_is_at_chance_on_a_null_study_under_every_protocol(decoded, protocol):
    """Every fold decoded and pooled, as the workflow does (leave-song-out tests one song per fold)."""
    parts = [Predictions.load(p) for p in decoded[protocol]]
    preds = Predictions([x for p in parts for x in p.pred], [x for p in parts for x in p.true],
                        [m for p in parts for m in p.meta], parts[0].rate, parts[0].target)
    window_s = min(3.0, min(p.size for p in preds.pred) / preds.rate)
    result = song_identification(preds.pred, preds.true, preds.meta, preds.rate, window_s=window_s,
                                 hop_s=min(1.0, window_s), n_perm=500, n_boot=200)
    assert result["chance"] == pytest.approx(1 / 3)
    for name in ("window", "vote"):
        assert result[name]["p"] > 0.05, (protocol, name, result[name])
    assert 0.35 < result["retrieval_rank"] < 0.65


def test_the_study_page_sets_each_protocol_beside_the_honest_ones(decoded, tmp_path):
    """`eeg2music evaluate --song-id` on each protocol's pooled folds, then the study page's side-by-side table: one
    row for the model, the honest protocols first, each column headed by its audit's verdict."""
    runs = {}
    for protocol, files in decoded.items():
        out = tmp_path / protocol / "metrics.json"
        assert evaluate_cli(["--predictions", *map(str, files), "--out", str(out), "--song-id", "--n-perm", "200",
                             "--n-boot", "100", "--experiment", f"linear_trf@{protocol}"]) == 0
        runs[f"linear_trf@{protocol}"] = json.loads(out.read_text())
        assert runs[f"linear_trf@{protocol}"]["song_id"]["n_songs"] == 3
    table = protocol_table(runs, files[0].parent.parent.parent / "splits")
    header = table[table.index("<tr>"):table.index("</tr>")]
    assert max(header.index(p) for p in HONEST) < min(header.index(p) for p in ("predann", "random-window"))
    assert "time-block (honest for unseen segments of heard songs)" in header
    assert "leave-song-out (honest for unseen songs)" in header
    assert "predann (leaky: shares adjacent windows" in header and "random-window (leaky: shares" in header
    assert table.count("<tr><td>linear_trf</td>") == 1 and table.count("song ID 3-s windows") == 3


def train_song_cnn(manifest: Path, run: Path, *extra: str) -> None:
    """The song classifier at CPU size, shortened: enough steps to leave the initialisation, no validation."""
    assert train_cli([str(REPO / "config/train/song_cnn.yaml"), "--size", "cpu", "--run-dir", str(run),
                      "--manifest", str(manifest), "--set", "max_steps=30", "val_every=0", "patience=0", *extra]) == 0


def test_the_song_classifier_names_no_song_of_an_unseen_subject_on_a_null_study(decoded, tmp_path):
    """Leave-subject-out, each fold trained, decoded and pooled: at chance on both units, scored on song ID only
    (no reconstruction metrics), and its page shows the song-ID tables and no reconstruction sections."""
    root = decoded["time-block"][0].parents[2]
    stores = [StoreInfo.read(p) for p in sorted(root.glob("sub-*.zarr"))]
    files = []
    for fold in range(2):
        manifest = make_split(stores, "leave-subject-out", fold=fold, n_folds=2).save(tmp_path / f"fold-{fold}.json")
        train_song_cnn(manifest, tmp_path / f"run-{fold}")
        files.append(tmp_path / f"pred-{fold}.npz")
        assert predict_cli(["--run-dir", str(tmp_path / f"run-{fold}"), "--out", str(files[-1])]) == 0
    preds = Predictions.load(files[0])
    assert preds.target == "song" and preds.classes == sorted({e.clip for e in Manifest.load(manifest).entries})
    assert preds.pred[0].shape[0] == 3 and preds.n_samples == 1
    out = tmp_path / "song_cnn" / "metrics.json"
    assert evaluate_cli(["--predictions", *map(str, files), "--out", str(out), "--song-id", "--n-perm", "500",
                         "--n-boot", "100"]) == 0
    summary = json.loads(out.read_text())
    assert summary["metrics"] == {} and summary["target"] == "song"
    song = summary["song_id"]
    assert song["n_songs"] == 3 and song["retrieval_rank"] is None
    assert sorted(song["window"]["per_subject"]) == ["nmed-t/01", "nmed-t/02"]
    for name in ("window", "vote"):
        assert song[name]["p"] > 0.05, (name, song[name])
    page = experiment_page(out, tmp_path / "page").read_text()
    assert "<h2>Song identification</h2>" in page and "id='song-id-subjects'" in page
    assert "<h2>Metrics</h2>" not in page and not (tmp_path / "page" / "trials.png").exists()


def test_a_song_classifier_is_refused_songs_it_never_heard(decoded, tmp_path, capsys):
    """Leave-song-out tests songs that training never saw: decoding says so in one line, naming the run."""
    manifest = decoded["time-block"][0].parents[2] / "splits" / "leave-song-out" / "fold-0.json"
    train_song_cnn(manifest, tmp_path / "run")
    capsys.readouterr()
    assert predict_cli(["--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "pred.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "final.pt" in err[0] and "never heard in training (song" in err[0]
    assert "time-block" in err[0] and not (tmp_path / "pred.npz").exists()
