"""Our per-subject preprocessing vs a bare MNE script doing the same operations on the same files, in one run.

Both read the same synthetic subject (ds002722 layout, EDF at 1000 Hz), pick EEG, normalise names, set the montage,
notch 50/100/150 Hz, band-pass, find bad channels, interpolate, average-reference, cut every trial at 256 and 100 Hz,
compute the before/after PSDs, resample the FEELTRACE ratings, and make the audio targets (16 kHz waveform, 100 Hz
amplitude, log-mel), then write the same arrays to Zarr with the same chunks. The bare script skips
mne-bids, the sidecar checks, provenance and the atomic rename: the ratio is the cost of those. A second bare variant
saves with ``np.savez`` instead, to show what Zarr itself costs.
Last line: ``preprocess_vs_bare_mne: <ours / bare>`` (target ≤ 1.10).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import mne
import numpy as np
import zarr

from eeg2music.io.bcmi import bcmi_clip_list
from eeg2music.preprocess import audio as audio_targets
from eeg2music.preprocess.eeg import EegConfig, cut_trial, find_bad_channels, mean_psd
from eeg2music.preprocess.subject import PreprocessConfig, run_subject
from eeg2music.store_writer import _chunks
from eeg2music.synth.study import SynthConfig, write_study

EEG = EegConfig(l_freq=0.5, h_freq=40.0, line_freq=50.0, rates=(256, 100), bad_z=5.0, flat_uv=0.1,
                max_bad_fraction=0.25)
CFG = PreprocessConfig(EEG, audio_rate=16000, envelope_rate=100, mel_rate=100, n_mels=80, audio_tolerance_s=0.5)


def bare_mne(root: Path, subject: str, out: Path, trial_s: float, fmt: str = "zarr") -> None:
    """What a researcher would write by hand with MNE for the same result (ds002722 layout: the synthetic study
    or its replica)."""
    clips = bcmi_clip_list(next((root / f"sub-{subject}/eeg").glob("*_events.json")))
    arrays: dict[str, list] = {}
    for edf in sorted((root / f"sub-{subject}/eeg").glob("*_eeg.edf")):
        raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
        ratings = raw.get_data(picks=["VA1", "VA2"])
        channels = np.genfromtxt(str(edf).replace("_eeg.edf", "_channels.tsv"), dtype=str, delimiter="\t",
                                 skip_header=1, usecols=(0, 1))
        raw.pick([n for n, t in channels if t == "EEG"])
        raw.rename_channels({n: n.replace("FP", "Fp") for n in raw.ch_names})
        raw.set_montage("colin27_1005", verbose="error")
        arrays.setdefault("psd_before", []).append(mean_psd(raw)[1])
        raw.notch_filter([50.0, 100.0, 150.0], verbose="error")
        raw.filter(EEG.l_freq, EEG.h_freq, verbose="error")
        raw.info["bads"] = sorted(find_bad_channels(raw, EEG))
        if raw.info["bads"]:
            raw.interpolate_bads(verbose="error")
        raw.set_eeg_reference("average", verbose="error")
        arrays.setdefault("psd_after", []).append(mean_psd(raw)[1])
        events = np.atleast_2d(np.genfromtxt(str(edf).replace("_eeg.edf", "_events.tsv"), delimiter="\t",
                                             skip_header=1))
        duration = raw.n_times / raw.info["sfreq"]
        for onset in np.unique(events[:, 0]):  # a trial: one state code 1-9, at most one clip code, same onset
            codes = events[np.abs(events[:, 0] - onset) < 0.01, 2]
            states, clip_codes = codes[(codes >= 1) & (codes <= 9)], codes[codes > 100]
            if len(states) != 1 or len(clip_codes) > 1 or onset + trial_s > duration:
                continue
            for rate in EEG.rates:
                arrays.setdefault(f"eeg{rate}", []).append(cut_trial(raw, onset, trial_s, rate))
            seg = ratings[:, round(onset * 1000): round((onset + trial_s) * 1000)]
            arrays.setdefault("ratings", []).append(audio_targets.resample(seg, 1000, 100, axis=1))
            if not len(clip_codes):
                continue
            wave, sr = audio_targets.load_audio(root / "stimuli" / clips[int(clip_codes[0]) - 101])
            wave = audio_targets.resample(wave, sr, 16000)[: int(trial_s * 16000)].astype(np.float32)
            wave = np.pad(wave, (0, int(trial_s * 16000) - wave.size))
            arrays.setdefault("audio", []).append(wave)
            arrays.setdefault("envelope", []).append(audio_targets.amplitude_envelope(wave, 16000, 100))
            arrays.setdefault("mel", []).append(audio_targets.log_mel(wave, 16000, 100, 80))
    stacked = {k: np.stack(v) for k, v in arrays.items()}
    if fmt == "npz":
        np.savez(out, **stacked)
        return
    group = zarr.open_group(str(out), mode="w")
    for name, data in stacked.items():
        group.create_array(name, data=data, chunks=_chunks(data.shape), compressors=None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--trial-s", type=float, default=20.0)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = write_study(SynthConfig(out=tmp, styles=("ds002722",), n_subjects=1, n_runs=a.runs,
                                       n_trials=a.trials, trial_s=a.trial_s))[0]
        # warm-up: imports, FFT plans, file cache
        run_subject(kind="ds002722", dataset="b", root=root, subject="01", out=tmp / "w.zarr", cfg=CFG,
                    trial_s=a.trial_s)
        bare_mne(root, "01", tmp / "w.zarr", a.trial_s)
        ours, bare, npz = [], [], []
        for i in range(a.repeats):  # interleaved, so drift in machine load hits both
            t = time.perf_counter()
            run_subject(kind="ds002722", dataset="b", root=root, subject="01", out=tmp / f"o{i}.zarr", cfg=CFG,
                        trial_s=a.trial_s)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            bare_mne(root, "01", tmp / f"b{i}.zarr", a.trial_s)
            bare.append(time.perf_counter() - t)
            t = time.perf_counter()
            bare_mne(root, "01", tmp / f"b{i}.npz", a.trial_s, fmt="npz")
            npz.append(time.perf_counter() - t)
    o, b = statistics.median(ours), statistics.median(bare)
    print(f"subject: {a.runs} runs x {a.trials} trials x {a.trial_s:g} s, 32 EEG channels at 1000 Hz")
    print(f"ours (median of {a.repeats}): {o:.2f} s   runs: {', '.join(f'{x:.2f}' for x in ours)}")
    print(f"bare MNE → Zarr (median of {a.repeats}): {b:.2f} s   runs: {', '.join(f'{x:.2f}' for x in bare)}")
    print(f"bare MNE → np.savez (median of {a.repeats}): {statistics.median(npz):.2f} s "
          f"(ours / this: {o / statistics.median(npz):.3f})")
    print(f"preprocess_vs_bare_mne: {o / b:.3f}")


if __name__ == "__main__":
    main()
