"""Preprocess one subject of one dataset into its Zarr store (the step Snakemake runs once per subject).

Shape after MNE-BIDS-Pipeline: ``get_input_files`` lists what the step reads, ``get_config`` the config keys it
uses, ``run_subject`` does the work with keyword-only arguments, and ``main`` is the CLI the rule calls.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eeg2music.errors import InputError, one_line_errors
from eeg2music.io.readers import make_reader
from eeg2music.io.records import AUDIO_OK, AUDIO_TRUNCATED, Run, RunFile, Trial
from eeg2music.preprocess import audio as audio_targets
from eeg2music.preprocess.eeg import EegConfig, aux_only, clean_run, cut_trial, eeg_only, mean_psd
from eeg2music.preprocess.sources import source_features
from eeg2music.provenance import git_sha, package_versions
from eeg2music.store_writer import StoreWriter

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


def config_from_section(section: dict, source: str = "preprocess") -> PreprocessConfig:
    """The ``preprocess:`` section of the validated workflow config (flat keys) → the step's config object: the EEG
    cleaning keys go to :class:`EegConfig`, the rest to :class:`PreprocessConfig`. A new knob is a schema entry and
    a field of one of the two dataclasses; nothing in between names it."""
    eeg_keys = {f.name for f in fields(EegConfig)}
    own_keys = {f.name for f in fields(PreprocessConfig)} - {"eeg"}
    unknown = sorted(set(section) - eeg_keys - own_keys)
    if unknown:
        raise InputError(source, f"unknown preprocessing key {unknown[0]!r}",
                         f"use one of {', '.join(sorted(eeg_keys | own_keys))}")
    try:
        eeg = EegConfig(**{k: v for k, v in section.items() if k in eeg_keys})
        cfg = PreprocessConfig(eeg=eeg, **{k: v for k, v in section.items() if k in own_keys})
    except TypeError as err:
        raise InputError(source, f"incomplete preprocessing section ({err})", "see config/config.yaml") from err
    return replace(cfg, eeg=replace(eeg, rates=tuple(eeg.rates)))


def get_config(cfg: PreprocessConfig) -> dict:
    """The config subset this step reads (recorded in every store's provenance)."""
    return asdict(cfg)


def get_input_files(*, kind: str, dataset: str, root: Path, subject: str, trial_s: float | None = None,
                    audio_dir: Path | None = None) -> list[Path]:
    """What the step reads for a subject: every run's recording and sidecars and the audio its trials play, so
    that replacing one EDF or wav reruns exactly the subjects that read it. A missing root is one line naming it."""
    reader = make_reader(kind, dataset, root, trial_s, audio_dir)
    return list(dict.fromkeys(p for rf in reader.run_files(subject) for p in reader.inputs(rf)))


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


@dataclass
class RunResult:
    """What one run contributes to the subject's store; built whole before anything is merged, so a run that fails
    half-way leaves nothing behind."""

    eeg: dict[int, list[np.ndarray]]
    targets: list[dict[str, np.ndarray] | None]
    ratings: list[np.ndarray | None]
    trials: list[dict]
    bads: dict[str, str]
    channels: list[str]
    psd: tuple[np.ndarray, np.ndarray, np.ndarray]  # freqs, before, after
    run: Run
    aux: dict[int, list[np.ndarray]]  # ECG/EOG trials per rate (the artefact control's extra inputs)
    aux_channels: list[str]


def source_path(path: Path, root: Path) -> str:
    """A source file relative to the dataset root (no user names or cluster paths in stores)."""
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return Path(path).name


def _process_run(run: Run, cfg: PreprocessConfig, root: Path) -> RunResult:
    run_file = run.file
    run.raw.load_data(verbose="error")
    ratings = [_ratings(run, trial, cfg.envelope_rate) for trial in run.trials]  # before dropping non-EEG
    aux, unusable = aux_only(run.raw, cfg.eeg)
    for name in unusable:
        log.warning("%s: channel %s is flat or holds NaN; left out of the artefact control's inputs",
                    run_file.path, name)
    clean = eeg_only(run.raw, copy=False)
    freqs, before = mean_psd(clean)
    clean, run_bads = clean_run(clean, cfg.eeg, str(run_file.path))
    for name, why in run_bads.items():
        log.warning("%s: channel %s %s; interpolated from neighbours (mark it bad in channels.tsv to silence this)",
                    run_file.path, name, why)
    eeg: dict[int, list[np.ndarray]] = {r: [] for r in cfg.eeg.rates}
    aux_trials: dict[int, list[np.ndarray]] = {r: [] for r in cfg.eeg.rates}
    targets, trials = [], []
    for trial in run.trials:
        for rate in cfg.eeg.rates:
            eeg[rate].append(cut_trial(clean, trial.onset_s, trial.duration_s, rate))
            if aux is not None:
                aux_trials[rate].append(cut_trial(aux, trial.onset_s, trial.duration_s, rate))
        try:
            targets.append(_audio_for(trial, cfg))
        except InputError as err:  # a truncated clip costs its trial (kept for EEG-only work), not the run
            log.warning("%s (trial %d of %s kept without audio)", err.one_line(), trial.index, run_file.path.name)
            targets.append(None)
            trial.audio_status = AUDIO_TRUNCATED
        trials.append({
            "run": run_file.run, "session": run_file.session, "trial": trial.index,
            "clip_id": trial.clip_id, "onset_s": trial.onset_s, "duration_s": trial.duration_s,
            "audio_status": trial.audio_status, "audio_file": source_path(trial.audio_path, root)
            if trial.audio_path else "",
            "clip_candidates": list(trial.clip_candidates), "states": list(trial.states),
            "source_file": source_path(run_file.path, root),
        })
    return RunResult(eeg, targets, ratings, trials, run_bads, clean.ch_names, (freqs, before, mean_psd(clean)[1]),
                     run, aux_trials, aux.ch_names if aux is not None else [])


def qc_row(run_file: RunFile, root: Path, run: Run | None = None, error: InputError | None = None) -> dict:
    """One row of the data QC table: what the reader found in a run, what was kept, what was dropped and why."""
    row = {"run": run_file.run, "session": run_file.session, "source_file": source_path(run_file.path, root)}
    if run is None:
        return {**row, "status": "skipped", "found": 0, "kept": 0, "dropped": [], "notes": [error.one_line()],
                "hours": 0.0}
    sfreq = float(run.raw.info["sfreq"])
    return {**row, "status": "read", "found": run.n_found, "kept": len(run.trials),
            "dropped": [{"onset_s": d.onset_s, "reason": d.reason} for d in run.dropped], "notes": list(run.notes),
            "hours": run.raw.n_times / sfreq / 3600, "sfreq": sfreq}


def run_subject(*, kind: str, dataset: str, root: Path, subject: str, out: Path, cfg: PreprocessConfig,
                trial_s: float | None = None, audio_dir: Path | None = None) -> Path:
    """Read every run of the subject, clean it, cut trials and audio targets, and write the store atomically.

    A run that cannot be used (unreadable file, no trial markers, a montage unlike the subject's other runs) is one
    warning line and a row of the QC table; the store is written from the other runs. Only a subject with no
    usable run at all is an error (the first run's)."""
    reader = make_reader(kind, dataset, root, trial_s, audio_dir)
    run_files = reader.run_files(subject)
    writer = StoreWriter(out)
    try:
        results: list[RunResult] = []
        qc, failures = [], []
        for run_file in tqdm(run_files, desc=f"{dataset} sub-{subject}", unit="run", disable=None):
            try:
                run = reader.read_run(run_file)
                result = _process_run(run, cfg, Path(root))
                if results and result.channels != results[0].channels:
                    raise InputError(run_file.path, f"channels differ from the subject's first run "
                                     f"({results[0].channels[:4]}…)",
                                     "give every run of a subject the same montage; the other runs are still used")
            except InputError as err:
                log.warning("%s (run left out; the subject's other runs are still used)", err.one_line())
                failures.append(err)
                qc.append(qc_row(run_file, root, error=err))
                continue
            results.append(result)
            qc.append(qc_row(run_file, root, run))
        if not results:
            first = failures[0]
            more = f" (and {len(failures) - 1} other run(s) of sub-{subject} failed too)" if len(failures) > 1 else ""
            raise InputError(first.path, first.problem + more, first.fix)
        trials = [t for r in results for t in r.trials]
        notes = [n for r in results for n in r.run.notes] + [q["notes"][0] for q in qc if q["status"] == "skipped"]
        if not trials:
            raise InputError(root / f"sub-{subject}", "no usable music trials in any run",
                             "check the events files, or leave the subject out: copy results/discover/<dataset>/"
                             "subjects.tsv to config/subjects.tsv and set its include to no")
        eeg = {rate: [x for r in results for x in r.eeg[rate]] for rate in cfg.eeg.rates}
        targets = [t for r in results for t in r.targets]
        ratings = [x for r in results for x in r.ratings]
        channels = results[0].channels
        durations = {t["duration_s"] for t in trials}
        n_min = {rate: min(x.shape[1] for x in eeg[rate]) for rate in cfg.eeg.rates}
        if len(durations) > 1:  # NMED-T songs differ in length; a store holds rectangular arrays
            notes.append(f"trials cropped to the shortest ({min(durations):.1f} s)")
        for rate in cfg.eeg.rates:
            writer.array(f"eeg/{rate}", np.stack([x[:, : n_min[rate]] for x in eeg[rate]]))
        aux_channels = _write_aux(writer, results, n_min, notes)
        source_names: list[str] = []
        if cfg.sources:
            if 100 not in cfg.eeg.rates:
                raise InputError(None, "source features need EEG at 100 Hz", "add 100 to preprocess.rates")
            feats, source_names = source_features(np.stack([x[:, : n_min[100]] for x in eeg[100]]), channels, 100.0,
                                                  subjects_dir=Path(cfg.subjects_dir) if cfg.subjects_dir else None)
            writer.array("sources/100", feats)
        epoch_s = min(durations)
        _write_targets(writer, targets, ratings, epoch_s, cfg)
        writer.array("qc/psd_freqs", results[0].psd[0])
        writer.array("qc/psd_before", np.stack([r.psd[1] for r in results]))
        writer.array("qc/psd_after", np.stack([r.psd[2] for r in results]))
        runs = [{"run": r.run.file.run, "session": r.run.file.session,
                 "source_file": source_path(r.run.file.path, root), "sfreq": float(r.run.raw.info["sfreq"]),
                 "duration_s": r.run.raw.n_times / float(r.run.raw.info["sfreq"]), "n_trials": len(r.run.trials)}
                for r in results]
        return writer.commit({
            "dataset": dataset, "kind": kind, "subject": subject, "channels": channels,
            "eeg_units": "V", "audio_units": "full scale (-1..1)", "envelope_units": "full scale",
            "mel_units": "natural log of mel power (+1e-5)", "ratings_units": "as recorded (FEELTRACE 0-9)",
            "eeg_rates": list(cfg.eeg.rates), "audio_rate": cfg.audio_rate,
            "envelope_rate": cfg.envelope_rate, "mel_rate": cfg.mel_rate, "n_mels": cfg.n_mels,
            "epoch_s": epoch_s, "runs": runs, "trials": trials, "bads": {r.run.file.run: r.bads for r in results},
            "notes": notes, "qc": qc, "rating_names": next((r.run.rating_channels for r in results
                                                            if r.run.rating_channels), []),
            "source_names": source_names, "aux_channels": aux_channels,
            "provenance": {"source_files": [source_path(r.path, root) for r in run_files], "config": get_config(cfg),
                           "packages": package_versions(), "git_sha": git_sha()},
        })
    except BaseException:
        writer.abort()
        raise


def _write_aux(writer: StoreWriter, results: list[RunResult], n_min: dict[int, int], notes: list[str]) -> list[str]:
    """``aux/<rate>``: the ECG/EOG channels every run of the subject has, cut like the EEG; their names."""
    common = [c for c in results[0].aux_channels if all(c in r.aux_channels for r in results)]
    if len(common) < len({c for r in results for c in r.aux_channels}):
        notes.append(f"ECG/EOG channels differ between runs; only {common or 'none'} kept for the artefact control")
    if not common:
        return []
    for rate, n in n_min.items():
        rows = [x[[r.aux_channels.index(c) for c in common], :n] for r in results for x in r.aux[rate]]
        writer.array(f"aux/{rate}", np.stack(rows))
    return common


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
    p.add_argument("--preprocess", required=True,
                   help="the preprocess: section of the workflow config, as JSON (the rule passes it whole)")
    return p


def config_from_args(a: argparse.Namespace) -> PreprocessConfig:
    try:
        section = json.loads(a.preprocess)
    except json.JSONDecodeError as err:
        raise InputError("--preprocess", f"is not JSON ({err})", "pass the preprocess: section as JSON") from err
    return config_from_section(section)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    run_subject(kind=args.kind, dataset=args.dataset, root=args.root, subject=args.subject, out=args.out,
                cfg=config_from_args(args), trial_s=args.trial_s, audio_dir=args.audio_dir)
    return 0
