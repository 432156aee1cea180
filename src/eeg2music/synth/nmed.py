"""Write a synthetic study shaped like NMED-T (Kaneshiro et al.): the files the real reader reads, and nothing more.

NMED-T is not on OpenNeuro: it is one ``songNN_Imputed.mat`` per song (songs 21-30), each a MATLAB v7.3 (HDF5)
file holding ``dataNN``, 125 EGI electrodes × time × subjects at 125 Hz in µV, cleaned and imputed by the authors;
one long trial per subject and song, the song playing from the first sample. The audio is not distributed: the user
supplies ``songNN.wav`` in a folder of their own (``audio_dir``). This writes the same: the .mat files under
``<out>/<name>/`` with the forward model's EEG (electrodes at their GSN HydroCel-128 positions), the songs' audio under
``<out>/<name>-audio/``, and the forward model in ``<out>/<name>/ground_truth.json`` (the reader ignores it).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np
import soundfile as sf

from eeg2music.synth.ceiling import long_stimulus
from eeg2music.synth.forward import Realism, SubjectModel
from eeg2music.synth.music import piano_clip
from eeg2music.synth.study import publish_dataset

SFREQ = 125.0
N_ELECTRODES = 125
FIRST_SONG = 21  # NMED-T numbers its 10 songs 21-30
MAT_HEADER = 128  # MATLAB's text header at the start of the HDF5 user block (512 bytes)


@dataclass
class NmedConfig:
    out: Path
    name: str = "nmed-t"
    n_subjects: int = 4
    n_songs: int = 4
    song_s: float = 60.0
    snr: float = 0.1
    seed: int = 0
    audio_rate: int = 44100
    realism: Realism = field(default_factory=Realism)


def electrode_names() -> list[str]:
    return [f"E{i + 1}" for i in range(N_ELECTRODES)]


def write_mat73(path: Path, variable: str, data: np.ndarray) -> None:
    """``data`` in MATLAB's axis order as a v7.3 MAT-file: HDF5 with the axes reversed, a 512-byte user block that
    starts with MATLAB's text header, and the class attribute MATLAB reads back."""
    with h5py.File(path, "w", userblock_size=512) as f:
        dset = f.create_dataset(variable, data=np.ascontiguousarray(data.T, dtype=np.float64))
        dset.attrs["MATLAB_class"] = np.bytes_("double")
    stamp = datetime.now(UTC).strftime("%a %b %d %H:%M:%S %Y")
    text = f"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: {stamp} HDF5 schema 1.00 .".encode()
    header = text.ljust(116) + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as f:
        f.write(header[:MAT_HEADER])


def write_nmed(cfg: NmedConfig) -> tuple[Path, Path]:
    """The .mat folder and the audio folder, each appearing under its final name only once complete."""
    rng = np.random.default_rng([cfg.seed, 1000])
    root, audio_root = cfg.out / cfg.name, cfg.out / f"{cfg.name}-audio"
    tmp, audio_tmp = (p.with_name(p.name + ".partial") for p in (root, audio_root))
    for p in (tmp, audio_tmp):
        shutil.rmtree(p, ignore_errors=True)
        p.mkdir(parents=True)
    songs = {FIRST_SONG + k: piano_clip(f"song{FIRST_SONG + k}.wav", cfg.song_s, cfg.audio_rate, rng)
             for k in range(cfg.n_songs)}
    for number, clip in songs.items():
        sf.write(audio_tmp / f"song{number}.wav", clip.audio, cfg.audio_rate, subtype="PCM_16")
    names, n = electrode_names(), round(cfg.song_s * SFREQ)
    models, truth = [], {}
    for s in range(cfg.n_subjects):
        model = SubjectModel.random(names, SFREQ, cfg.realism.subject_snr(cfg.snr, rng), rng, cfg.realism)
        model.calibrate_gain(long_stimulus(model, 120, 8000, rng), rng)
        models.append(model)
        truth[f"{s + 1:02d}"] = {"gain": model.gain, "snr": model.snr}
    for number, clip in songs.items():
        data = np.zeros((N_ELECTRODES, n, cfg.n_subjects))  # MATLAB's order: electrode × time × subject
        for s, model in enumerate(models):
            drive = model.stimulus_features(clip.audio, clip.sfreq, clip.onsets_s, clip.velocities, n)
            data[:, :, s] = model.simulate(cfg.realism.trial_drive(drive, SFREQ, rng), rng) * 1e6
        write_mat73(tmp / f"song{number}_Imputed.mat", f"data{number}", data)
    (tmp / "ground_truth.json").write_text(json.dumps({
        "layout": "NMED-T: songNN_Imputed.mat, dataNN = electrode x time x subject, 125 Hz, uV",
        "snr": cfg.snr, "realism": asdict(cfg.realism), "seed": cfg.seed, "song_s": cfg.song_s,
        "songs": {f"song{k}": {"tempo_bpm": c.tempo_bpm, "n_notes": int(c.onsets_s.size)} for k, c in songs.items()},
        "subjects": truth}, indent=1))
    return publish_dataset(tmp, root), publish_dataset(audio_tmp, audio_root)
