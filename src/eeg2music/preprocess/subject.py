"""Preprocess one subject of one dataset into its Zarr store (the step Snakemake runs once per subject).

Shape after MNE-BIDS-Pipeline: ``get_input_files`` lists what the step reads, ``get_config`` the config keys it
uses, ``run_subject`` does the work with keyword-only arguments, and ``main`` is the CLI the rule calls.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eeg2music.errors import InputError, one_line_errors
from eeg2music.io.records import AUDIO_OK, Run, Trial
from eeg2music.io.registry import make_reader
from eeg2music.preprocess import audio as audio_targets
from eeg2music.preprocess.eeg import EegConfig, clean_run, cut_trial, eeg_only, mean_psd
from eeg2music.preprocess.sources import source_features
from eeg2music.provenance import git_sha, package_versions
from eeg2music.store import StoreWriter

log = logging.getLogger("eeg2music.preprocess")


@dataclass(frozen=True)
class PreprocessConfig:
    eeg: EegConfig
    audio_rate: int
    envelope_rate: int
    mel_rate: int
    n_mels: int
    audio_tolerance_s: float
    sources: bool = False  # also write Daly's ICA → eLORETA source features (needs 100 in eeg.rates)
    subjects_dir: str | None = None  # MRI template folder (fsaverage) for the source model; None = sphere


def get_config(cfg: PreprocessConfig) -> dict:
    """The config subset this step reads (recorded in every store's provenance)."""
    return asdict(cfg)


def get_input_files(*, kind: str, dataset: str, root: Path, subject: str, trial_s: float | None = None,
                    audio_dir: Path | None = None) -> list[Path]:
    reader = make_reader(kind, dataset, root, trial_s, audio_dir)
    return [rf.path for rf in reader.run_files(subject)]


def _ratings(run: Run, trial: Trial, rate: int) -> np.ndarray | None:
    """The trial's FEELTRACE channels resampled to ``rate`` (None when the dataset has none)."""
    if not run.rating_channels:
        return None
    sf = run.raw.info["sfreq"]
    seg = run.raw.get_data(picks=run.rating_channels, start=round(trial.onset_s * sf),
                           stop=round((trial.onset_s + trial.duration_s) * sf))
    return audio_targets.resample(seg, sf, rate, axis=1)


def _audio_for(trial: Trial, cfg: PreprocessConfig) -> dict[str, np.ndarray] | None:
    """Waveform, amplitude and log-mel of the trial's clip, or None when its audio is not usable."""
    if trial.audio_status != AUDIO_OK:
        return None
    duration_s = trial.duration_s
    wave, rate = audio_targets.load_audio(trial.audio_path)
    start = round(trial.audio_offset_s * rate)
    wave = audio_targets.resample(wave[start:], rate, cfg.audio_rate).astype(np.float32)
    n = round(duration_s * cfg.audio_rate)
    wave = audio_targets.fit_length(wave, n, trial.audio_path, cfg.audio_rate, cfg.audio_tolerance_s)
    env = audio_targets.amplitude_envelope(wave, cfg.audio_rate, cfg.envelope_rate)[: round(duration_s *
                                                                                              cfg.envelope_rate)]
    mel = audio_targets.log_mel(wave, cfg.audio_rate, cfg.mel_rate, cfg.n_mels)
    return {"audio": wave, "envelope": env, "mel": mel}


def run_subject(*, kind: str, dataset: str, root: Path, subject: str, out: Path, cfg: PreprocessConfig,
                trial_s: float | None = None, audio_dir: Path | None = None) -> Path:
    """Read every run of the subject, clean it, cut trials and audio targets, and write the store atomically."""
    reader = make_reader(kind, dataset, root, trial_s, audio_dir)
    run_files = reader.run_files(subject)
    writer = StoreWriter(out)
    try:
        eeg: dict[int, list[np.ndarray]] = {r: [] for r in cfg.eeg.rates}
        targets: list[dict[str, np.ndarray] | None] = []
        ratings: list[np.ndarray | None] = []
        trials, bads, notes, psd_before, psd_after, runs = [], {}, [], [], [], []
        channels: list[str] | None = None
        rating_names: list[str] = []
        freqs = None
        for run_file in tqdm(run_files, desc=f"{dataset} sub-{subject}", unit="run", disable=None):
            run = reader.read_run(run_file)
            notes += run.notes
            sfreq = float(run.raw.info["sfreq"])
            runs.append({"run": run_file.run, "session": run_file.session, "source_file": str(run_file.path),
                         "sfreq": sfreq, "duration_s": run.raw.n_times / sfreq, "n_trials": len(run.trials)})
            rating_names = rating_names or list(run.rating_channels)
            ratings += [_ratings(run, trial, cfg.envelope_rate) for trial in run.trials]  # before dropping non-EEG
            clean = eeg_only(run.raw, copy=False)
            freqs, before = mean_psd(clean)
            clean, run_bads = clean_run(clean, cfg.eeg, str(run_file.path))
            for name, why in run_bads.items():
                log.warning("%s: channel %s %s; interpolated from neighbours (mark it bad in channels.tsv to "
                            "silence this)", run_file.path, name, why)
            bads[run_file.run] = run_bads
            psd_before.append(before)
            psd_after.append(mean_psd(clean)[1])
            if channels is None:
                channels = clean.ch_names
            elif clean.ch_names != channels:
                raise InputError(run_file.path, f"channels differ from the subject's first run ({channels[:4]}…)",
                                 "give every run of a subject the same montage")
            for trial in run.trials:
                for rate in cfg.eeg.rates:
                    eeg[rate].append(cut_trial(clean, trial.onset_s, trial.duration_s, rate))
                targets.append(_audio_for(trial, cfg))
                trials.append({
                    "run": run_file.run, "session": run_file.session, "trial": trial.index,
                    "clip_id": trial.clip_id, "onset_s": trial.onset_s, "duration_s": trial.duration_s,
                    "audio_status": trial.audio_status, "audio_file": str(trial.audio_path or ""),
                    "clip_candidates": list(trial.clip_candidates), "states": list(trial.states),
                    "source_file": str(run_file.path),
                })
        if not trials:
            raise InputError(root / f"sub-{subject}", "no usable music trials in any run",
                             "check the events files, or exclude the subject in config/subjects.tsv")
        durations = {t["duration_s"] for t in trials}
        n_min = {rate: min(x.shape[1] for x in eeg[rate]) for rate in cfg.eeg.rates}
        if len(durations) > 1:  # NMED-T songs differ in length; a store holds rectangular arrays
            notes.append(f"trials cropped to the shortest ({min(durations):.1f} s)")
        for rate in cfg.eeg.rates:
            writer.array(f"eeg/{rate}", np.stack([x[:, : n_min[rate]] for x in eeg[rate]]))
        source_names: list[str] = []
        if cfg.sources:
            if 100 not in cfg.eeg.rates:
                raise InputError(None, "source features need EEG at 100 Hz", "add 100 to preprocess.rates")
            feats, source_names = source_features(np.stack([x[:, : n_min[100]] for x in eeg[100]]), channels, 100.0,
                                                  subjects_dir=Path(cfg.subjects_dir) if cfg.subjects_dir else None)
            writer.array("sources/100", feats)
        epoch_s = min(durations)
        _write_targets(writer, targets, ratings, epoch_s, cfg)
        writer.array("qc/psd_freqs", freqs)
        writer.array("qc/psd_before", np.stack(psd_before))
        writer.array("qc/psd_after", np.stack(psd_after))
        return writer.commit({
            "dataset": dataset, "kind": kind, "subject": subject, "channels": channels,
            "eeg_units": "V", "audio_units": "full scale (-1..1)", "envelope_units": "full scale",
            "mel_units": "natural log of mel power (+1e-5)", "ratings_units": "as recorded (FEELTRACE 0-9)",
            "eeg_rates": list(cfg.eeg.rates), "audio_rate": cfg.audio_rate,
            "envelope_rate": cfg.envelope_rate, "mel_rate": cfg.mel_rate, "n_mels": cfg.n_mels,
            "epoch_s": epoch_s, "runs": runs, "trials": trials, "bads": bads, "notes": notes,
            "rating_names": rating_names, "source_names": source_names,
            "provenance": {"source_files": [str(r.path) for r in run_files], "config": get_config(cfg),
                           "packages": package_versions(), "git_sha": git_sha()},
        })
    except BaseException:
        writer.abort()
        raise


def _write_targets(writer: StoreWriter, targets, ratings, epoch_s: float, cfg: PreprocessConfig) -> None:
    n_audio = round(epoch_s * cfg.audio_rate)
    n_env = round(epoch_s * cfg.envelope_rate)
    n_mel = round(epoch_s * cfg.mel_rate)
    audio = np.full((len(targets), n_audio), np.nan, np.float32)
    env = np.full((len(targets), n_env), np.nan, np.float32)
    mel = np.full((len(targets), cfg.n_mels, n_mel), np.nan, np.float32)
    for i, t in enumerate(targets):
        if t is not None:
            audio[i] = t["audio"][:n_audio]
            env[i] = t["envelope"][:n_env]
            mel[i] = t["mel"][:, :n_mel]
    writer.array("audio", audio)
    writer.array("envelope", env)
    writer.array("mel", mel)
    if any(r is not None for r in ratings):
        n_r = next(r for r in ratings if r is not None).shape[0]
        arr = np.full((len(ratings), n_r, n_env), np.nan, np.float32)
        for i, r in enumerate(ratings):
            if r is not None:
                arr[i, :, : min(n_env, r.shape[1])] = r[:, :n_env]
        writer.array("ratings", arr)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eeg2music.preprocess",
                                description="Preprocess one subject into a Zarr store (called by Snakemake).")
    p.add_argument("--kind", required=True, help="dataset id in the registry (ds002725, ds002722, …, nmed-t)")
    p.add_argument("--dataset", required=True, help="dataset name used in result paths")
    p.add_argument("--root", required=True, type=Path, help="BIDS root (or NMED-T folder)")
    p.add_argument("--subject", required=True, help="subject label without 'sub-'")
    p.add_argument("--out", required=True, type=Path, help="output store, e.g. results/preprocess/x/sub-01.zarr")
    p.add_argument("--trial-s", type=float, default=None, help="music trial length (default: the dataset's)")
    p.add_argument("--audio-dir", type=Path, default=None, help="NMED-T: folder with songNN.wav")
    p.add_argument("--l-freq", type=float, required=True)
    p.add_argument("--h-freq", type=float, required=True)
    p.add_argument("--line-freq", type=float, required=True)
    p.add_argument("--rates", type=int, nargs="+", required=True, help="EEG target rates in Hz")
    p.add_argument("--bad-z", type=float, required=True)
    p.add_argument("--flat-uv", type=float, required=True)
    p.add_argument("--max-bad-fraction", type=float, required=True)
    p.add_argument("--audio-rate", type=int, required=True)
    p.add_argument("--envelope-rate", type=int, required=True)
    p.add_argument("--mel-rate", type=int, required=True)
    p.add_argument("--n-mels", type=int, required=True)
    p.add_argument("--audio-tolerance-s", type=float, required=True)
    p.add_argument("--sources", action="store_true", help="also write Daly's ICA/eLORETA source features")
    p.add_argument("--subjects-dir", default=None, help="MRI templates (fsaverage) for the source model")
    return p


def config_from_args(a: argparse.Namespace) -> PreprocessConfig:
    eeg = EegConfig(a.l_freq, a.h_freq, a.line_freq, tuple(a.rates), a.bad_z, a.flat_uv, a.max_bad_fraction)
    return PreprocessConfig(eeg, a.audio_rate, a.envelope_rate, a.mel_rate, a.n_mels, a.audio_tolerance_s, a.sources,
                            a.subjects_dir)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    run_subject(kind=args.kind, dataset=args.dataset, root=args.root, subject=args.subject, out=args.out,
                cfg=config_from_args(args), trial_s=args.trial_s, audio_dir=args.audio_dir)
    return 0
