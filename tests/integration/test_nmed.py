"""NMED-T reader on .mat files the test writes in both MATLAB layouts (v5 via scipy, v7.3/HDF5 via h5py)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io
import soundfile as sf

from eeg2music.errors import InputError
from eeg2music.io.nmed import load_subject
from eeg2music.io.records import AUDIO_MISSING, AUDIO_OK
from eeg2music.io.registry import make_reader


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
