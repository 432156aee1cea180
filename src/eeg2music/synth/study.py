"""Write the synthetic study: BIDS datasets shaped like ds002725, ds002722 and ds002724.

Channel names and types, event codes, the ``music``-channel clip encoding, task/run naming and stimulus naming all
come from the real sidecars copied into ``templates/<dataset>/`` (real OpenNeuro metadata), so the real readers read
these files unchanged. EEG is written as EDF at 1000 Hz through ``mne.export.export_raw``; clips as 44.1 kHz stereo
16-bit wav like the originals. ``derivatives/ground_truth/ground_truth.json`` holds the forward model and the ceiling.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mne
import numpy as np
import soundfile as sf
from tqdm import tqdm

from eeg2music.io.bcmi import bcmi_clip_list
from eeg2music.synth.ceiling import long_stimulus, oracle_ceiling
from eeg2music.synth.forward import Realism, SubjectModel
from eeg2music.synth.music import Clip, piano_clip

TEMPLATES = Path(__file__).parent / "templates"
STYLES = ("ds002725", "ds002722", "ds002724")
LEVELS = "lnh"  # low, neutral, high → BCMI state = 3·arousal + valence + 1


@dataclass
class SynthConfig:
    out: Path
    styles: tuple[str, ...] = ("ds002725", "ds002722")
    n_subjects: int = 4
    n_runs: int = 2
    n_trials: int = 4
    trial_s: float = 20.0
    snr: float = 0.1
    seed: int = 0
    audio_rate: int = 44100
    n_clips: int = 12
    sfreq: float = 1000.0
    iti_s: float = 3.0
    template_dir: Path = TEMPLATES
    realism: Realism = field(default_factory=Realism)
    name: str | None = None  # the root's folder name under ``out`` (one style only); default: the style


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def write_tsv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, columns, delimiter="\t", lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def bcmi_state(name: str) -> int:
    """'hvla3.wav' → valence high, arousal low → state 3."""
    v, a = LEVELS.index(name[0]), LEVELS.index(name[2])
    return 3 * a + v + 1


# -- per-style layout: clip names, events, file names ----------------------------------------------------------------
def _style_clips(style: str, cfg: SynthConfig, rng: np.random.Generator) -> list[tuple[str, str, tuple[int, ...]]]:
    """(clip file under stimuli/, clip code, state codes) for the pool of clips of a style."""
    pool = []
    if style == "ds002722":
        names = bcmi_clip_list(cfg.template_dir / style / "events.json")
        for idx in sorted(rng.choice(len(names), size=cfg.n_clips, replace=False)):
            pool.append((names[idx], str(100 + idx + 1), (bcmi_state(names[idx]),)))
        return pool
    pairs = [(i, j) for i in range(1, 10) for j in range(1, 10) if i != j]
    for n in rng.choice(len(pairs), size=cfg.n_clips, replace=False):
        i, j = pairs[n]
        k = int(rng.integers(1, 4))
        if style == "ds002725":
            pool.append((f"generated/{i}-{j}_{k}.wav", f"{i}{j}{k}", (i, j)))
        else:
            pool.append((f"{i}-{j}_{k}.wav", "", (i, j)))
    return pool


def _eeg_path(style: str, sub: str, run: int, session: int = 1) -> str:
    if style == "ds002725":
        return f"sub-{sub}/eeg/sub-{sub}_task-genMusic{run:02d}"
    if style == "ds002722":
        return f"sub-{sub}/eeg/sub-{sub}_task-run{run}"
    return f"sub-{sub}/ses-{session}/eeg/sub-{sub}_ses-{session}_task-run{run}"


def _events(style: str, onsets: list[float], clips: list[tuple[str, str, tuple[int, ...]]], trial_s: float,
            run_s: float, rng: np.random.Generator) -> list[dict]:
    rows: list[dict] = []
    if style == "ds002725":
        rows.append({"onset": 0.001, "duration": 0.001, "trial_type": 1})
        rows += [{"onset": t, "duration": 0.001, "trial_type": 47} for t in np.arange(0.041, run_s, 2.0)]
        rows += [{"onset": t, "duration": 0.001, "trial_type": 265} for t in np.sort(rng.uniform(0, run_s, 20))]
        for t in onsets:  # trial start markers come in pairs a few ms apart, as in the real files
            rows += [{"onset": t, "duration": 0.001, "trial_type": 768},
                     {"onset": t + 0.004, "duration": 0.001, "trial_type": 768}]
    elif style == "ds002722":
        for t, (_, code, states) in zip(onsets, clips, strict=True):
            rows += [{"onset": t, "duration": 21, "trial_type": states[0]},
                     {"onset": t, "duration": 21, "trial_type": int(code)}]
    else:
        for t, (_, _, states) in zip(onsets, clips, strict=True):
            rows += [{"onset": t, "duration": 21, "trial_type": states[0]},
                     {"onset": t + trial_s / 2, "duration": 21, "trial_type": states[1]}]
    rows.sort(key=lambda r: r["onset"])
    for r in rows:
        r["onset"] = f"{r['onset']:.3f}"
    return rows


def _other_channels(style: str, name: str, ch_type: str, n: int, sfreq: float, trials: list[tuple[int, int, str,
                    tuple[int, ...]]], rng: np.random.Generator) -> np.ndarray:
    """Plausible content for non-EEG channels; the music/VAtarg channels carry the real encodings."""
    x = np.zeros(n)
    if name == "music":
        for start, stop, code, _ in trials:
            x[start:stop] = int(code) / 20.0  # value × 20 = clip code (channels.tsv of ds002725)
    elif name == "VAtarg":
        for start, stop, _, states in trials:
            x[start:stop] = states[0]
    elif name == "ECG":
        beats = np.arange(rng.uniform(0, 1), n / sfreq, 60 / rng.uniform(55, 80))
        x[(beats * sfreq).astype(int)] = 1e-3
        x = np.convolve(x, np.hanning(int(0.04 * sfreq)), mode="same")
    elif name in ("ft_valance", "ft_arousal", "VA1", "VA2"):  # FEELTRACE ratings, 0..9, slow
        x = np.clip(4.5 + np.cumsum(rng.normal(0, 0.002, n)), 0, 9)
    elif name == "GSR":
        x = 2e-6 + np.cumsum(rng.normal(0, 1e-9, n))
    elif name == "trialtype":
        for start, stop, _, _ in trials:
            x[start:stop] = 1.0
    return x


def begin_dataset(root: Path, template: Path, title: str, readme: str) -> Path:
    """An empty ``<root>.partial`` with the template's description retitled and a README saying what made it."""
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    desc = json.loads((template / "dataset_description.json").read_text())
    desc["Name"] = f"{title}: {desc['Name'].strip()}"
    desc["GeneratedBy"] = [{"Name": "eeg2music synth", "Description": "forward model, see ground_truth.json"}]
    (tmp / "dataset_description.json").write_text(json.dumps(desc, indent=4))
    (tmp / "README").write_text(readme)
    return tmp


def publish_dataset(tmp: Path, root: Path) -> Path:
    """The finished dataset under its final name: a reader never sees a half-written one."""
    if root.exists():
        shutil.rmtree(root)
    tmp.rename(root)
    return root


def write_run(style: str, stem: Path, channels: list[dict[str, str]], model: SubjectModel, feats: np.ndarray,
              spans: list[tuple[int, int, str, tuple[int, ...]]], template: Path, rng: np.random.Generator) -> None:
    """One run's EDF (simulated EEG, the other channels with their encodings) and its copied sidecars."""
    eeg = model.simulate(feats, rng)
    eeg_names = [c["name"] for c in channels if c["type"] == "EEG"]
    n = feats.shape[1]
    data = np.zeros((len(channels), n))
    ch_types = []
    for i, ch in enumerate(channels):
        if ch["type"] == "EEG":
            data[i] = eeg[eeg_names.index(ch["name"])]
            ch_types.append("eeg")
        else:
            data[i] = _other_channels(style, ch["name"], ch["type"], n, model.sfreq, spans, rng)
            ch_types.append("ecg" if ch["type"] == "ECG" else "misc")
    stem.parent.mkdir(parents=True, exist_ok=True)
    raw = mne.io.RawArray(data, mne.create_info([c["name"] for c in channels], model.sfreq, ch_types),
                          verbose="error")
    mne.export.export_raw(f"{stem}_eeg.edf", raw, fmt="edf", overwrite=True, verbose="error")
    for suffix in ("channels.tsv", "eeg.json", "events.json"):
        shutil.copy(template / suffix, f"{stem}_{suffix}")


def write_dataset(style: str, cfg: SynthConfig, rng: np.random.Generator, progress: tqdm | None = None) -> Path:
    """One BIDS dataset shaped like ``style``; returns its root."""
    root = cfg.out / (cfg.name or style)
    template = cfg.template_dir / style
    channels = read_tsv(template / "channels.tsv")
    eeg_names = [c["name"] for c in channels if c["type"] == "EEG"]
    tmp = begin_dataset(root, template, f"Synthetic study shaped like {style}",
                        f"Synthetic EEG/music study written by `eeg2music synth` in the layout of OpenNeuro {style}.\n"
                        "The EEG follows a known forward model (derivatives/ground_truth/ground_truth.json). Not real "
                        "data.\n")

    stim_dir = tmp / "stimuli"
    pool = _style_clips(style, cfg, rng)
    clip_len = cfg.trial_s
    clips: dict[str, Clip] = {}
    for name, _code, _states in pool:
        clip = piano_clip(name, clip_len, cfg.audio_rate, rng)
        clips[name] = clip
        path = stim_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.stack([clip.audio, clip.audio], axis=1), cfg.audio_rate, subtype="PCM_16")

    participants, truth_subjects, trial_rows = [], {}, []
    for s in range(1, cfg.n_subjects + 1):
        sub = f"{s:02d}"
        participants.append({"participant_id": f"sub-{sub}", "age": int(rng.integers(19, 40)),
                             "sex": rng.choice(["F", "M"])})
        realism = cfg.realism
        model = SubjectModel.random(eeg_names, cfg.sfreq, realism.subject_snr(cfg.snr, rng), rng, realism)
        model.calibrate_gain(long_stimulus(model, 120, 8000, rng), rng)
        ceiling = oracle_ceiling(model, rng, realism=realism) if cfg.snr > 0 else 0.0
        truth_subjects[sub] = {
            "gain": model.gain, "snr": model.snr, "ceiling_r_envelope_100hz": ceiling,
            "trf_lags_s": (np.arange(model.kernels.shape[1]) / cfg.sfreq).round(4).tolist(),
            "trf_kernels": {f: k.round(5).tolist() for f, k in zip(("envelope", "onsets"), model.kernels,
                                                                    strict=True)},
            "spatial_patterns": {f: dict(zip(eeg_names, p.round(5).tolist(), strict=True))
                                 for f, p in zip(("envelope", "onsets"), model.patterns, strict=True)},
        }
        for r in range(1, cfg.n_runs + 1):
            order = rng.choice(len(pool), size=cfg.n_trials, replace=cfg.n_trials > len(pool))
            run_clips = [pool[i] for i in order]
            onsets = [3.0 + i * (cfg.trial_s + cfg.iti_s) for i in range(cfg.n_trials)]
            run_s = onsets[-1] + cfg.trial_s + cfg.iti_s
            n = int(run_s * cfg.sfreq)
            feats = np.zeros((2, n))
            spans = []
            for t, (name, code, states) in zip(onsets, run_clips, strict=True):
                clip = clips[name]
                start = round(t * cfg.sfreq)
                m = int(cfg.trial_s * cfg.sfreq)
                drive = model.stimulus_features(clip.audio, clip.sfreq, clip.onsets_s, clip.velocities, m)
                feats[:, start:start + m] = realism.trial_drive(drive, cfg.sfreq, rng)
                spans.append((start, start + m, code, states))
            stem = str(tmp / _eeg_path(style, sub, r))
            write_run(style, Path(stem), channels, model, feats, spans, template, rng)
            write_tsv(Path(stem + "_events.tsv"), _events(style, onsets, run_clips, cfg.trial_s, run_s, rng),
                      ["onset", "duration", "trial_type"])
            for k, (t, (name, code, states)) in enumerate(zip(onsets, run_clips, strict=True)):
                trial_rows.append({"subject": sub, "run": r, "trial": k, "onset_s": t, "clip": name,
                                   "code": code, "states": "-".join(map(str, states))})
            if progress is not None:
                progress.update(1)
    write_tsv(tmp / "participants.tsv", participants, ["participant_id", "age", "sex"])
    truth_dir = tmp / "derivatives" / "ground_truth"
    truth_dir.mkdir(parents=True)
    write_tsv(truth_dir / "trials.tsv", trial_rows, ["subject", "run", "trial", "onset_s", "clip", "code", "states"])
    truth = {
        "style": style, "snr": cfg.snr, "realism": asdict(cfg.realism), "seed": cfg.seed,
        "sfreq": cfg.sfreq, "trial_s": cfg.trial_s,
        "forward_model": "see eeg2music.synth.forward; eeg = g*sum_k a_k (h_k * x_k) + noise + artefacts",
        "ceiling_definition": "Pearson r of an oracle ridge backward model (EEG lags 0-400 ms, 1-8 Hz, 100 Hz) "
                              "decoding the 8 Hz low-passed envelope, fitted on 4 min of independent data",
        "clips": {name: {"tempo_bpm": c.tempo_bpm, "gain_db": c.gain_db, "root_midi": c.root_midi,
                         "n_notes": int(c.onsets_s.size)} for name, c in clips.items()},
        "subjects": truth_subjects,
    }
    (truth_dir / "ground_truth.json").write_text(json.dumps(truth, indent=1))
    return publish_dataset(tmp, root)


def write_study(cfg: SynthConfig) -> list[Path]:
    """All requested styles; each dataset appears under its final name only once complete."""
    for style in cfg.styles:
        if style not in STYLES:
            raise ValueError(f"unknown synthetic style {style!r}; choose from {', '.join(STYLES)}")
    if cfg.name and len(cfg.styles) != 1:
        raise ValueError("a synthetic dataset's own folder name (name) needs exactly one style")
    total = len(cfg.styles) * cfg.n_subjects * cfg.n_runs
    with tqdm(total=total, desc="synth runs", unit="run", disable=None) as bar:
        # Each style has its own random stream, so writing one style alone (one Snakemake job each) gives the same
        # files as writing all of them together.
        return [write_dataset(style, cfg, np.random.default_rng([cfg.seed, STYLES.index(style)]), bar)
                for style in cfg.styles]
