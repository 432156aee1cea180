"""``eeg2music``: one command, one subcommand per pipeline step.

    eeg2music synth       write the synthetic study (BIDS/EDF/wav, known ground truth)
    eeg2music fetch       download an OpenNeuro dataset, resumable, MD5-verified
    eeg2music discover    list a dataset's subjects (Snakemake checkpoint)
    eeg2music preprocess  one subject → Zarr store
    eeg2music summary     metadata summary tables and figures
    eeg2music make-split  build a split manifest (random-trial, cv-by-run, leave-clip-out, leave-subject-out)
    eeg2music audit-split say what a split's parts share and which protocol it is honest for
    eeg2music subsample-split  keep a nested share of a split's training part (learning curves)
    eeg2music subject-split    keep one subject's part of a split (per-participant decoders)
    eeg2music train       train one experiment on one split (torchrun and SLURM run python -m eeg2music.train)
    eeg2music predict     decode a trained run's test trials
    eeg2music listen      write generated and true wav files of a waveform model's first test trials
    eeg2music decode-chain    decode with model A, render with model B (A → B)
    eeg2music decode-linear   fit and decode the linear (mTRF) baseline
    eeg2music evaluate    score pooled predictions against trial-shuffle nulls
    eeg2music report      an experiment's page, or the comparison page
    eeg2music learning-curve  fit and extrapolate a learning curve
    eeg2music study-report    the self-contained study page
    eeg2music calibration-table  the synthetic study's difficulty calibration (docs/calibration.md)
    eeg2music run-cost    wall time, peak memory and disk of a finished run, per rule
    eeg2music replica-structure  extract a real BCMI dataset's structure for its replica (maintainers)
    eeg2music resume      resubmit a preempted or failed training run (python -m eeg2music.launch starts one)
    eeg2music budget      measure training steps here, project GPU-hours and cost on the real datasets
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from eeg2music.errors import one_line_errors


@one_line_errors
def synth_main(argv: list[str]) -> int:
    from eeg2music.synth.forward import Realism
    from eeg2music.synth.replica import write_replicas
    from eeg2music.synth.study import STYLES, SynthConfig, write_study

    d = SynthConfig(out=Path("data/synthetic"))
    r = d.realism
    p = argparse.ArgumentParser(prog="eeg2music synth",
                                description="Write a synthetic study shaped like real OpenNeuro datasets, with a "
                                            "known forward model and ceiling (derivatives/ground_truth).")
    p.add_argument("--out", type=Path, default=d.out, help="parent folder; one BIDS root per style")
    p.add_argument("--styles", nargs="+", default=list(d.styles), choices=(*STYLES, "nmed-t"),
                   help="nmed-t: songNN_Imputed.mat files (--runs songs of --trial-s seconds, every subject in each "
                        "file) and their audio in <name>-audio/ beside them")
    p.add_argument("--subjects", type=int, default=d.n_subjects)
    p.add_argument("--runs", type=int, default=d.n_runs)
    p.add_argument("--trials", type=int, default=d.n_trials, help="trials per run")
    p.add_argument("--trial-s", type=float, default=d.trial_s, help="trial (clip) length in seconds")
    p.add_argument("--snr", type=float, default=d.snr,
                   help="power ratio of music-driven EEG to background EEG; 0 makes a null study")
    p.add_argument("--subject-snr-sd", type=float, default=r.subject_snr_sd, help="SD of log SNR across subjects")
    p.add_argument("--trial-gain-sd", type=float, default=r.trial_gain_sd,
                   help="SD of log response gain across trials")
    p.add_argument("--latency-jitter-s", type=float, default=r.latency_jitter_s,
                   help="SD of each trial's response latency (s)")
    p.add_argument("--noise-modulation", type=float, default=r.noise_modulation,
                   help="SD of the slowly drifting log amplitude of the background EEG")
    p.add_argument("--noise-sources", type=int, default=r.noise_sources, help="background sources (its spatial rank)")
    p.add_argument("--sensor-noise", type=float, default=r.sensor_noise,
                   help="white sensor noise relative to one source")
    p.add_argument("--music-blinks", type=float, default=r.music_blinks,
                   help="chance that a note onset is followed by a blink (a planted artefact for the controls)")
    p.add_argument("--replica", action="store_true",
                   help="every subject, run, channel, trial marker and stimulus of the real dataset (its structure "
                        "ships with the package); --subjects, --runs, --trials and --trial-s are then ignored")
    p.add_argument("--only", nargs="+", metavar="SUBJECT", help="with --replica: write only these subjects")
    p.add_argument("--name", help="folder name of the dataset under --out (one style only; default: the style)")
    p.add_argument("--clips", type=int, default=d.n_clips, help="size of each style's clip pool")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--template-dir", type=Path, default=d.template_dir,
                   help="folder with <style>/channels.tsv, eeg.json, events.json, dataset_description.json")
    a = p.parse_args(argv)
    for name in ("subjects", "runs", "trials", "clips"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be at least 1")
    if a.snr < 0 or a.trial_s <= 2:
        p.error("--snr must be ≥ 0 and --trial-s > 2")
    realism = Realism(a.subject_snr_sd, a.trial_gain_sd, a.latency_jitter_s, a.noise_modulation, a.noise_sources,
                      a.sensor_noise, a.music_blinks)
    if min(vars(realism).values()) < 0 or a.noise_sources < 1 or a.music_blinks > 1:
        p.error("--noise-sources must be ≥ 1, --music-blinks a chance (0–1) and the spreads (--subject-snr-sd, "
                "--trial-gain-sd, --latency-jitter-s, --noise-modulation, --sensor-noise) ≥ 0")
    if a.name and len(a.styles) != 1:
        p.error("--name needs exactly one --styles")
    cfg = SynthConfig(out=a.out, styles=tuple(a.styles), n_subjects=a.subjects, n_runs=a.runs, n_trials=a.trials,
                      trial_s=a.trial_s, snr=a.snr, seed=a.seed, n_clips=a.clips, template_dir=a.template_dir,
                      realism=realism, name=a.name)
    if "nmed-t" in a.styles:
        if len(a.styles) != 1 or a.replica:
            p.error("--styles nmed-t is written alone (and has no replica)")
        from eeg2music.synth.nmed import NmedConfig, write_nmed

        roots = write_nmed(NmedConfig(a.out, a.name or "nmed-t", a.subjects, a.runs, a.trial_s, a.snr, a.seed,
                                      realism=realism))
    else:
        roots = write_replicas(cfg, a.only) if a.replica else write_study(cfg)
    for r in roots:
        print(r)
    return 0


# subcommand → "module:function"; imported only when used, so `eeg2music --help` is instant
COMMANDS = {
    "synth": "eeg2music.cli:synth_main",
    "fetch": "eeg2music.io.fetch:main",
    "discover": "eeg2music.discover:main",
    "preprocess": "eeg2music.preprocess.subject:main",
    "summary": "eeg2music.summary:main",
    "make-split": "eeg2music.data.make_split:main",
    "audit-split": "eeg2music.data.audit:main",
    "subsample-split": "eeg2music.data.subsample:main",
    "subject-split": "eeg2music.data.subject_split:main",
    "train": "eeg2music.train.engine:cli",
    "predict": "eeg2music.decode.predict:main",
    "listen": "eeg2music.decode.listen:main",
    "decode-chain": "eeg2music.decode.chain:main",
    "decode-linear": "eeg2music.decode.linear:main",
    "evaluate": "eeg2music.evaluate.score:main",
    "report": "eeg2music.evaluate.report:main",
    "learning-curve": "eeg2music.evaluate.learning_curve:main",
    "study-report": "eeg2music.evaluate.study_report:main",
    "calibration-table": "eeg2music.evaluate.calibration:main",
    "run-cost": "eeg2music.evaluate.run_cost:main",
    "replica-structure": "eeg2music.synth.replica:main",
    "resume": "eeg2music.launch:resume_main",
    "budget": "eeg2music.budget.cli:main",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module, function = COMMANDS[argv[0]].split(":")
    return getattr(importlib.import_module(module), function)(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
