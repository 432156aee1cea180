"""Replicas of the real BCMI datasets: their structure, with EEG from the forward model.

A replica has every subject and music run of the real dataset, each run as long as the real recording, the real
channel list, the real trial markers at their real onsets (the events that define trials, as the readers use them)
and stimuli with the real names and lengths. Only the EEG and the audio are simulated. The structure is extracted
once from the real metadata (``eeg2music replica-structure``: OpenNeuro's sidecars and its listing of annexed file
sizes) into ``templates/<dataset>/structure.json``, which the package ships.

What the sidecars do not hold is drawn: which ds002725 clip a trial played is in the EEG's ``music`` channel, so each
replica trial plays a clip drawn from the real ``stimuli/generated`` listing; a ds002722 trial without a clip code
(kept for EEG-only work by the reader) is driven by a clip drawn from the listing.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from eeg2music.io.bcmi import PAIR_GAP_S, STATE_CODES, bcmi_clip_list, by_onset
from eeg2music.io.readers import DATASETS
from eeg2music.synth.ceiling import long_stimulus, oracle_ceiling
from eeg2music.synth.forward import SubjectModel
from eeg2music.synth.music import Clip, piano_clip
from eeg2music.synth.study import (
    TEMPLATES,
    SynthConfig,
    begin_dataset,
    publish_dataset,
    read_tsv,
    write_run,
    write_tsv,
)

REPLICA_STYLES = ("ds002725", "ds002722")  # the real datasets this writes replicas of (rehearse=true)
WAV_HEADER_BYTES = 44
WAV_BYTES_PER_S = 44100 * 2 * 2  # the BCMI clips: 44.1 kHz, stereo, 16 bit


def _trial_event(kind: str, code: str) -> bool:
    """Events the readers use to find trials (the rest, scanner and response markers, are left out)."""
    if kind == "ds002725":
        return code == "768"
    return code in STATE_CODES or (code.isdigit() and 101 <= int(code) <= 209)


def extract_structure(root: Path, kind: str) -> dict:
    """The replica's structure from a real dataset's metadata (sidecars + ANNEXED_FILES.tsv sizes)."""
    listing = root / "ANNEXED_FILES.tsv"
    with open(listing, newline="") as f:
        sizes = {r["path"]: int(r["size_bytes"]) for r in csv.DictReader(f, delimiter="\t")}
    task = re.compile(DATASETS[kind].task_pattern)  # the music runs, as the reader picks them
    channels: list[list[str]] = []
    subjects: dict[str, list[dict]] = {}
    for path in sorted(p for p in sizes if p.endswith("_eeg.edf")):
        stem = path.removesuffix("_eeg.edf")
        if "__MACOSX" in path or not task.fullmatch(stem.split("task-")[1].split("_")[0]):
            continue
        with open(root / f"{stem}_channels.tsv", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        names = [r["name"] for r in rows]
        if not channels:
            channels = [[r["name"], r["type"], r["units"]] for r in rows]
        elif names != [c[0] for c in channels]:
            raise ValueError(f"{stem}_channels.tsv: channel list differs from the dataset's first run")
        sfreq = float(json.loads((root / f"{stem}_eeg.json").read_text())["SamplingFrequency"])
        # 16-bit samples of every signal after a 256-byte header per signal plus one; ds002725's EDF holds one
        # signal more than its channels.tsv lists (io/bids.py).
        n_signals = len(names) + (1 if kind == "ds002725" else 0)
        duration = (sizes[path] - 256 * (n_signals + 1)) / (n_signals * sfreq * 2)
        with open(root / f"{stem}_events.tsv", newline="") as f:
            events = [[round(float(r["onset"]), 3), r["duration"], r["trial_type"]]
                      for r in csv.DictReader(f, delimiter="\t") if _trial_event(kind, r["trial_type"])]
        sub = stem.split("/")[0].removeprefix("sub-")
        subjects.setdefault(sub, []).append({"stem": stem, "sfreq": sfreq, "duration_s": round(duration, 3),
                                             "events": [e for e in events if e[0] < duration]})
    stim_prefix = "stimuli/generated/" if kind == "ds002725" else "stimuli/"
    stimuli = {p.removeprefix("stimuli/"): round((s - WAV_HEADER_BYTES) / WAV_BYTES_PER_S, 3)
               for p, s in sizes.items() if p.startswith(stim_prefix) and p.endswith(".wav") and "__MACOSX" not in p
               and "/" not in p.removeprefix(stim_prefix)}
    return {"dataset": kind, "source": f"OpenNeuro {kind} sidecars and ANNEXED_FILES.tsv",
            "channels": channels, "stimuli": dict(sorted(stimuli.items())), "subjects": subjects}


def load_structure(kind: str, template_dir: Path = TEMPLATES) -> dict:
    return json.loads((template_dir / kind / "structure.json").read_text())


def structure_hours(structure: dict) -> float:
    return sum(r["duration_s"] for runs in structure["subjects"].values() for r in runs) / 3600


def _run_trials(kind: str, run: dict, structure: dict, clip_names: list[str], rng: np.random.Generator
                ) -> list[tuple[float, str, str, tuple[int, ...]]]:
    """(onset, clip, code, states) of every trial the run's markers start."""
    events = [(float(t), str(code)) for t, _, code in run["events"]]
    pool = list(structure["stimuli"])
    trials = []
    if kind == "ds002725":
        onsets: list[float] = []
        for t, _ in events:
            if not onsets or t - onsets[-1] >= PAIR_GAP_S:
                onsets.append(t)
        for t in onsets:
            name = pool[rng.integers(len(pool))]
            i, j, k = re.fullmatch(r"generated/(\d)-(\d)_(\d)\.wav", name).groups()
            trials.append((t, name, f"{i}{j}{k}", (int(i), int(j))))
        return trials
    for t, codes in by_onset(events):
        states = [int(c) for c in codes if c in STATE_CODES]
        clips = [int(c) for c in codes if c not in STATE_CODES]
        for n, state in enumerate(states):
            if n < len(clips) and clips[n] - 101 < len(clip_names):
                name = clip_names[clips[n] - 101]
            else:
                name = pool[rng.integers(len(pool))]
            trials.append((t, name, str(clips[n]) if n < len(clips) else "", (state,)))
    return trials


def write_replica(kind: str, cfg: SynthConfig, rng: np.random.Generator, progress: tqdm | None = None,
                  subjects: list[str] | None = None) -> Path:
    """The replica of ``kind`` at ``cfg.out / (cfg.name or kind)``; ``subjects`` keeps some (benchmarks)."""
    structure = load_structure(kind, cfg.template_dir)
    template = cfg.template_dir / kind
    root = cfg.out / (cfg.name or kind)
    tmp = begin_dataset(root, template, f"Replica of {kind} (structure real, EEG and audio simulated)",
                        f"Replica of OpenNeuro {kind} written by `eeg2music synth --replica`: every subject, music "
                        "run, channel,\ntrial marker and stimulus name and length of the real dataset; EEG from the "
                        "forward model. Not real data.\n")
    channels = [{"name": n, "type": t, "units": u} for n, t, u in structure["channels"]]
    if [c["name"] for c in channels] != [r["name"] for r in read_tsv(template / "channels.tsv")]:
        raise ValueError(f"{template / 'channels.tsv'} is not the channel list of {kind}'s structure.json")
    eeg_names = [c["name"] for c in channels if c["type"] == "EEG"]
    clip_names = bcmi_clip_list(template / "events.json") if kind == "ds002722" else []

    keep = sorted(structure["subjects"]) if subjects is None else [s for s in sorted(structure["subjects"])
                                                                    if s in subjects]
    plans = {sub: [(run, _run_trials(kind, run, structure, clip_names, rng)) for run in structure["subjects"][sub]]
             for sub in keep}
    used = sorted({name for runs in plans.values() for _, trials in runs for _, name, _, _ in trials})
    clips: dict[str, Clip] = {}
    for name in used:
        length = structure["stimuli"][name]
        clips[name] = clip = piano_clip(name, length, cfg.audio_rate, rng)
        path = tmp / "stimuli" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.stack([clip.audio, clip.audio], axis=1), cfg.audio_rate, subtype="PCM_16")

    participants, truth_subjects = [], {}
    drives: dict[tuple[str, int, float], np.ndarray] = {}  # a clip's drive: clip, length, rate
    for sub, runs in plans.items():
        participants.append({"participant_id": f"sub-{sub}"})
        model = SubjectModel.random(eeg_names, runs[0][0]["sfreq"], cfg.realism.subject_snr(cfg.snr, rng), rng,
                                    cfg.realism)
        model.calibrate_gain(long_stimulus(model, 120, 8000, rng), rng)
        truth_subjects[sub] = {"gain": model.gain, "snr": model.snr,
                               "ceiling_r_envelope_100hz": oracle_ceiling(model, rng, realism=cfg.realism)
                               if cfg.snr > 0 else 0.0}
        for run, trials in runs:
            n = int(run["duration_s"] * model.sfreq)
            feats = np.zeros((2, n))
            spans = []
            for t, name, code, states in trials:
                clip = clips[name]
                start = round(t * model.sfreq)
                m = min(int(clip.audio.size / clip.sfreq * model.sfreq), n - start)
                if m <= 0:
                    continue
                key = (name, m, model.sfreq)
                if key not in drives:
                    drives[key] = model.stimulus_features(clip.audio, clip.sfreq, clip.onsets_s, clip.velocities, m)
                feats[:, start:start + m] = cfg.realism.trial_drive(drives[key], model.sfreq, rng)
                spans.append((start, start + m, code or "0", states))
            stem = tmp / run["stem"]
            write_run(kind, stem, channels, model, feats, spans, template, rng)
            write_tsv(Path(str(stem) + "_events.tsv"),
                      [{"onset": f"{t:.3f}", "duration": d, "trial_type": c} for t, d, c in run["events"]],
                      ["onset", "duration", "trial_type"])
            if progress is not None:
                progress.update(1)
    write_tsv(tmp / "participants.tsv", participants, ["participant_id"])
    truth_dir = tmp / "derivatives" / "ground_truth"
    truth_dir.mkdir(parents=True)
    truth = {"style": kind, "replica": True, "snr": cfg.snr, "realism": asdict(cfg.realism), "seed": cfg.seed,
             "hours": structure_hours({"subjects": {s: structure["subjects"][s] for s in keep}}),
             "subjects": truth_subjects}
    (truth_dir / "ground_truth.json").write_text(json.dumps(truth, indent=1))
    return publish_dataset(tmp, root)


def write_replicas(cfg: SynthConfig, subjects: list[str] | None = None) -> list[Path]:
    """Each style's replica, from its own random stream (as ``write_study``)."""
    for style in cfg.styles:
        if style not in REPLICA_STYLES:
            raise ValueError(f"no replica of {style!r}; choose from {', '.join(REPLICA_STYLES)}")
    structures = {s: load_structure(s, cfg.template_dir)["subjects"] for s in cfg.styles}
    total = sum(len(runs) for st in structures.values() for sub, runs in st.items()
                if subjects is None or sub in subjects)
    with tqdm(total=total, desc="replica runs", unit="run", disable=None) as bar:
        return [write_replica(s, cfg, np.random.default_rng([cfg.seed, REPLICA_STYLES.index(s), 1]), bar, subjects)
                for s in cfg.styles]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music replica-structure",
                                description="Extract a real BCMI dataset's structure for its replica (maintainers: "
                                            "rerun when OpenNeuro publishes a new version).")
    p.add_argument("root", type=Path, help="the real dataset's metadata (sidecars + ANNEXED_FILES.tsv)")
    p.add_argument("--kind", choices=REPLICA_STYLES, required=True)
    a = p.parse_args(argv)
    json.dump(extract_structure(a.root, a.kind), sys.stdout, separators=(",", ":"))
    return 0
