"""NMED-T reader on .mat files the test writes in both MATLAB layouts (v5 via scipy, v7.3/HDF5 via h5py)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io
import soundfile as sf
import torch

from eeg2music.errors import InputError
from eeg2music.io.nmed import load_subject
from eeg2music.io.readers import make_reader
from eeg2music.io.records import AUDIO_MISSING, AUDIO_OK


def write_nmed(folder, song: int, n_subjects: int = 3, seconds: float = 6.0, v73: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    data = rng.normal(0, 20, size=(125, int(seconds * 125), n_subjects))  # µV, MATLAB order (elec, time, subj)
    path = folder / f"song{song}_Imputed.mat"
    if v73:
        with h5py.File(path, "w", userblock_size=512) as f:  # MATLAB v7.3 = HDF5 with a 512-byte user block
            f.create_dataset(f"data{song}", data=data.T)  # h5py sees MATLAB arrays transposed
    else:
        scipy.io.savemat(path, {f"data{song}": data})
    return data


@pytest.mark.parametrize("v73", [False, True])
def test_nmed_reads_subject_in_volts(tmp_path, v73):
    data = write_nmed(tmp_path, 21, v73=v73)
    write_nmed(tmp_path, 22, v73=v73, seed=1)
    reader = make_reader("nmed-t", "nmed-t", tmp_path)
    assert reader.subjects() == ["01", "02", "03"]
    runs = reader.run_files("02")
    assert [r.run for r in runs] == ["song21", "song22"]
    run = reader.read_run(runs[0])
    assert run.raw.info["sfreq"] == 125 and run.raw.ch_names[0] == "E1" and len(run.raw.ch_names) == 125
    np.testing.assert_allclose(run.raw.get_data(), data[:, :, 1] * 1e-6)
    assert run.trials[0].audio_status == AUDIO_MISSING and run.trials[0].duration_s == pytest.approx(6.0)


def test_nmed_with_user_audio(tmp_path):
    write_nmed(tmp_path, 23)
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "song23.wav", np.zeros(44100 * 6), 44100)
    reader = make_reader("nmed-t", "nmed-t", tmp_path, audio_dir=audio)
    trial = reader.read_run(reader.run_files("01")[0]).trials[0]
    assert trial.audio_status == AUDIO_OK and trial.audio_path == audio / "song23.wav"


def test_nmed_wrong_variable_is_one_line(tmp_path):
    scipy.io.savemat(tmp_path / "song24_Imputed.mat", {"other": np.zeros((3, 3))})
    with pytest.raises(InputError, match="variable data24 is missing") as err:
        load_subject(tmp_path / "song24_Imputed.mat", 0)
    assert "song24_Imputed.mat" in str(err.value) and "\n" not in str(err.value)


def test_model_a_trains_on_an_nmed_study_through_the_interpolation_adapter(tmp_path, pre_cfg):
    """An NMED-T-shaped study (EGI names, 125 Hz, v7.3 files, the user's audio folder) preprocesses with a bad
    channel interpolated, and model A, whose pretrained channels are 10-05 names, trains on it through the spline
    map for a few steps."""
    import yaml

    from eeg2music.data.splits import make_split
    from eeg2music.data.stores import StoreInfo
    from eeg2music.preprocess.subject import run_subject
    from eeg2music.store_writer import open_store
    from eeg2music.train.config import load_config
    from eeg2music.train.engine import main

    audio = tmp_path / "audio"
    audio.mkdir()
    rng = np.random.default_rng(0)
    for song in (21, 22, 23, 24):
        data = write_nmed(tmp_path, song, n_subjects=2, seconds=10.0, v73=True, seed=song)
        data[7, :, :] = 0.0  # electrode E8 flat in every recording
        with h5py.File(tmp_path / f"song{song}_Imputed.mat", "r+") as f:
            f[f"data{song}"][...] = data.T
        sf.write(audio / f"song{song}.wav", rng.normal(0, 0.1, 10 * 16000), 16000)
    stores = [run_subject(kind="nmed-t", dataset="nmed-t", root=tmp_path, subject=s, out=tmp_path / f"{s}.zarr",
                          cfg=pre_cfg, audio_dir=audio) for s in ("01", "02")]
    g = open_store(stores[0])
    assert g.attrs["bads"]["song21"] == {"E8": "flat"} and g.attrs["channels"][0] == "E1"
    assert np.isfinite(g["eeg/256"][:]).all() and np.isfinite(g["mel"][:]).all()
    manifest = make_split([StoreInfo.read(s) for s in stores], "random-trial", val=0.25, test=0.25)
    config = tmp_path / "a.yaml"
    config.write_text(yaml.safe_dump({
        "experiment": "nmed_model_a",
        "model": {"name": "eegpt", "target": "mel", "window_s": 4.0, "adapter": "interpolation", "embed_dim": 32,
                  "depth": 2, "num_heads": 4, "embed_num": 2, "head_dim": 16},
        "data": {"window_s": 4.0, "hop_s": 2.0, "rate": 256, "eeg_unit": "mV", "targets": ["mel"]},
        "optim": {"lr": 0.001, "warmup_steps": 1}, "batch_size": 2, "max_steps": 3, "ckpt_every": 3}))
    run = tmp_path / "run"
    cfg = load_config(config, {"data.manifest": str(manifest.save(tmp_path / "m.json")), "run_dir": str(run)})
    final = torch.load(main(cfg), weights_only=False)
    assert final["step"] == 3 and all(torch.isfinite(v).all() for v in final["model"].values())


def test_the_synthetic_nmed_study_reads_like_the_real_files(tmp_path, pre_cfg):
    """`eeg2music synth --styles nmed-t`: v7.3 song files with every subject in each (MATLAB's header, electrode ×
    time × subject in µV at 125 Hz), the songs' audio in a folder of its own; the real reader and preprocessing read
    it as NMED-T, with the music in the EEG of every subject."""
    from eeg2music.cli import synth_main
    from eeg2music.preprocess.subject import run_subject
    from eeg2music.store_writer import open_store

    assert synth_main(["--styles", "nmed-t", "--out", str(tmp_path), "--subjects", "3", "--runs", "2",
                       "--trial-s", "20", "--snr", "0.5"]) == 0
    root, audio = tmp_path / "nmed-t", tmp_path / "nmed-t-audio"
    assert sorted(p.name for p in audio.iterdir()) == ["song21.wav", "song22.wav"]
    path = root / "song21_Imputed.mat"
    assert path.read_bytes()[:19] == b"MATLAB 7.3 MAT-file" and h5py.is_hdf5(path)
    reader = make_reader("nmed-t", "nmed-t", root, audio_dir=audio)
    assert reader.subjects() == ["01", "02", "03"]
    assert [r.run for r in reader.run_files("03")] == ["song21", "song22"]
    run = reader.read_run(reader.run_files("03")[1])
    assert run.raw.info["sfreq"] == 125 and len(run.raw.ch_names) == 125 and run.raw.n_times == 20 * 125
    assert 5e-6 < run.raw.get_data().std() < 200e-6  # volts: tens of µV
    assert run.trials[0].audio_status == AUDIO_OK and run.trials[0].audio_path == audio / "song22.wav"
    store = run_subject(kind="nmed-t", dataset="nmed-t", root=root, subject="02", out=tmp_path / "sub-02.zarr",
                        cfg=pre_cfg, audio_dir=audio)
    g = open_store(store)
    assert g["eeg/100"].shape[:2] == (2, 125) and g["audio"].shape[0] == 2
