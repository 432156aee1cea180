"""NMED-T (Naturalistic Music EEG Dataset – Tempo): ``songNN_Imputed.mat`` files, not on OpenNeuro.

Each file holds ``dataNN``: 125 electrodes × time × 20 subjects at 125 Hz, in µV, already cleaned and imputed by the
authors. MATLAB v7.3 files are HDF5 (read with h5py, axes reversed); older ones are read with scipy. The audio is
not distributed: the user points ``audio_dir`` at a folder with ``songNN.wav``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import mne
import numpy as np
import scipy.io

from eeg2music.errors import InputError
from eeg2music.io.records import AUDIO_MISSING, AUDIO_OK, Run, RunFile, Trial

SFREQ = 125.0
N_ELECTRODES = 125
FILE_RE = re.compile(r"song(\d+)_Imputed\.mat")


def load_subject(path: Path, subject_index: int) -> np.ndarray:
    """(electrode, time) in µV for one subject of one song file."""
    match = FILE_RE.fullmatch(path.name)
    if not match:
        raise InputError(path, "not an NMED-T file name", "expected songNN_Imputed.mat")
    var = f"data{match.group(1)}"
    try:
        if h5py.is_hdf5(path):
            with h5py.File(path, "r") as f:
                data = np.asarray(f[var][subject_index]).T  # stored (subject, time, electrode)
        else:
            data = scipy.io.loadmat(path, variable_names=[var])[var][:, :, subject_index]
    except KeyError as err:
        raise InputError(path, f"variable {var} is missing", "use the *_Imputed.mat files of NMED-T") from err
    except (OSError, ValueError) as err:
        raise InputError(path, f"cannot read the .mat file ({err})", "re-download it") from err
    if data.shape[0] != N_ELECTRODES:
        raise InputError(path, f"{var} has {data.shape[0]} electrodes, expected {N_ELECTRODES}",
                         "use the *_Imputed.mat files of NMED-T")
    return data


def n_subjects(path: Path) -> int:
    var = f"data{FILE_RE.fullmatch(path.name).group(1)}"
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            return int(f[var].shape[0])
    return int(scipy.io.whosmat(path)[[w[0] for w in scipy.io.whosmat(path)].index(var)][1][2])


@dataclass
class NmedReader:
    dataset: str
    root: Path
    audio_dir: Path | None = None

    def _files(self) -> list[Path]:
        files = sorted(p for p in self.root.glob("song*_Imputed.mat") if FILE_RE.fullmatch(p.name))
        if not files:
            raise InputError(self.root, "no songNN_Imputed.mat files", "download NMED-T and point the root at them")
        return files

    def subjects(self) -> list[str]:
        return [f"{i + 1:02d}" for i in range(n_subjects(self._files()[0]))]

    def run_files(self, subject: str) -> list[RunFile]:
        files = self._files()
        if int(subject) > n_subjects(files[0]):
            raise InputError(files[0], f"subject {subject} is not in the file", "NMED-T has subjects 01-20")
        return [RunFile(self.dataset, subject, None, f"song{FILE_RE.fullmatch(p.name).group(1)}", p) for p in files]

    def inputs(self, run_file: RunFile) -> list[Path]:
        """The song file, and the user's audio for it when supplied."""
        audio = self.audio_dir / f"{run_file.run}.wav" if self.audio_dir else None
        return [run_file.path, *([audio] if audio is not None and audio.exists() else [])]

    def read_run(self, run_file: RunFile) -> Run:
        data = load_subject(run_file.path, int(run_file.subject) - 1) * 1e-6
        info = mne.create_info([f"E{i + 1}" for i in range(N_ELECTRODES)], SFREQ, "eeg")
        raw = mne.io.RawArray(data, info, verbose="error")
        song = run_file.run.removeprefix("song")
        audio = self.audio_dir / f"song{song}.wav" if self.audio_dir else None
        status = AUDIO_OK if audio is not None and audio.exists() else AUDIO_MISSING
        trial = Trial(0, 0.0, raw.n_times / SFREQ, f"song{song}", audio if status == AUDIO_OK else None,
                      audio_status=status)
        notes = [] if status == AUDIO_OK else [f"song{song}.wav not supplied (set audio_dir): EEG-only"]
        return Run(run_file, raw, [trial], [], notes)
