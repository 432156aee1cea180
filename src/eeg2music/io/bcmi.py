"""The University of Reading BCMI family on OpenNeuro (ds002721–ds002725), read through mne-bids.

How each set marks a music trial (from the real sidecars, see CONVENTIONS.md):

* ds002725 (joint EEG-fMRI, genMusic runs): event 768 starts a trial, usually twice a few ms apart; the clip is in the
  ``music`` channel, value × 20 = code ``ijk`` → ``stimuli/generated/i-j_k.wav``.
* ds002722 (calibration): a state code 1–9 and a clip code 101–209 at the same onset; code − 100 indexes the clip
  list written inside events.json.
* ds002724 (training): two state codes 20 s apart, no clip code; the clip is one of ``stimuli/i-j_1..3.wav``, so the
  audio target is ambiguous and the trial is kept for EEG-only work.
* ds002721 / ds002723: state codes 1–9 start a trial (assumed from the family; check on the first real download);
  their audio is not distributed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from eeg2music.errors import InputError
from eeg2music.io import bids
from eeg2music.io.records import (
    AUDIO_AMBIGUOUS,
    AUDIO_NOT_DISTRIBUTED,
    Run,
    RunFile,
    Trial,
)

STATE_CODES = {str(c) for c in range(1, 10)}
RATING_CHANNELS = (("ft_valance", "ft_arousal"), ("VA1", "VA2"))
PAIR_GAP_S = 0.5  # ds002725's duplicated 768 markers are a few ms apart


def bcmi_clip_list(events_json: Path) -> list[str]:
    """ds002722's clip list, written as ``{'hvha1.wav', …}`` inside the description of code "101-209".

    Only the braces are parsed: the description's own example mentions 'hvha12.wav' before the list starts.
    """
    try:
        desc = json.loads(events_json.read_text())["101-209"]["Description"]
        listing = desc[desc.index("{"): desc.rindex("}")]
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as err:
        raise InputError(events_json, "no clip list under code 101-209", "restore events.json from the dataset") \
            from err
    return re.findall(r"'([a-z]+\d+\.wav)'", listing)


@dataclass
class BcmiReader:
    """Reads one BCMI dataset; ``kind`` selects how trials are found (see module docstring)."""

    kind: str
    dataset: str  # the name used in paths (e.g. "ds002725" or "synth-ds002725")
    root: Path
    trial_s: float
    task_pattern: str | None = None

    # -- discovery ------------------------------------------------------------------------------------------------
    def subjects(self) -> list[str]:
        import mne_bids

        return sorted(mne_bids.get_entity_vals(self.root, "subject"))

    def run_files(self, subject: str) -> list[RunFile]:
        paths = bids.find_runs(self.root, subject, self.task_pattern)
        if not paths:
            raise InputError(self.root / f"sub-{subject}", "subject is listed but has no EEG runs (*_eeg.edf)",
                             "download it (eeg2music fetch) or drop it from config/subjects.tsv")
        return [RunFile(self.dataset, subject, p.session, p.task + (f"_run-{p.run}" if p.run else ""),
                        Path(p.fpath)) for p in paths]

    # -- reading --------------------------------------------------------------------------------------------------
    def read_run(self, run_file: RunFile) -> Run:
        import mne_bids

        bp = mne_bids.get_bids_path_from_fname(run_file.path)
        bp.update(root=self.root)
        raw = bids.read_raw(bp)
        events = bids.events_from_tsv(run_file.path)
        duration = raw.n_times / raw.info["sfreq"]
        trials, notes = getattr(self, f"_trials_{self.kind}")(run_file, raw, events)
        kept = []
        for t in trials:
            if t.onset_s + t.duration_s > duration + 1e-9:
                notes.append(f"{run_file.path.name}: trial {t.index} at {t.onset_s:.1f} s runs past the end of the "
                             f"recording ({duration:.1f} s); dropped")
            else:
                kept.append(t)
        ratings = next((list(c) for c in RATING_CHANNELS if all(n in raw.ch_names for n in c)), [])
        return Run(run_file, raw, kept, ratings, notes)

    def _no_trials(self, run_file: RunFile, what: str) -> InputError:
        return InputError(bids.sidecar(run_file.path, "events.tsv"), f"no trial markers ({what}) found",
                          "check that this is a music run, or exclude it in config/subjects.tsv")

    def _audio(self, rel: str) -> Path:
        path = self.root / "stimuli" / rel
        if not path.exists():
            raise InputError(path, "clip named by the events has no wav file",
                             "fetch the stimuli folder (eeg2music fetch) or restore the file")
        return path

    def _trials_ds002725(self, run_file, raw, events):
        onsets = sorted(t for t, _, code in events if code == "768")
        if not onsets:
            raise self._no_trials(run_file, "event 768")
        merged, notes = [], []
        for t in onsets:
            if merged and t - merged[-1] < PAIR_GAP_S:
                continue
            merged.append(t)
        n_pairs = sum(1 for a, b in pairwise(onsets) if b - a < PAIR_GAP_S)
        if n_pairs != len(merged):
            notes.append(f"{run_file.path.name}: {len(merged) - n_pairs} unpaired 768 marker(s)")
        music = raw.get_data(picks=["music"])[0]
        sf = raw.info["sfreq"]
        trials = []
        for i, t in enumerate(merged):
            seg = music[int((t + 0.1) * sf): int((t + 1.0) * sf)]
            code = round(float(np.median(seg)) * 20) if seg.size else 0
            if not 111 <= code <= 999:
                raise InputError(run_file.path, f"music channel at {t:.3f} s holds {code / 20:g} (×20 = {code}), "
                                 "not a clip code", "check the music channel of this run")
            digits = str(code)
            rel = f"generated/{digits[0]}-{digits[1]}_{digits[2]}.wav"
            trials.append(Trial(i, t, self.trial_s, rel, self._audio(rel), states=(int(digits[0]), int(digits[1]))))
        return trials, notes

    def _trials_ds002722(self, run_file, raw, events):
        events_json = bids.sidecar(run_file.path, "events.json")
        clip_list = bcmi_clip_list(events_json)
        states = [(t, int(c)) for t, _, c in events if c in STATE_CODES]
        clips = [(t, int(c)) for t, _, c in events if c.isdigit() and 101 <= int(c) <= 209]
        if not states:
            raise self._no_trials(run_file, "state codes 1-9")
        trials = []
        for i, (t, state) in enumerate(states):
            match = [c for tc, c in clips if abs(tc - t) < 0.01]
            if not match:
                raise InputError(bids.sidecar(run_file.path, "events.tsv"), f"state code at {t:.3f} s has no clip code",
                                 "each trial needs a 101-209 code at its onset")
            idx = match[0] - 100
            if idx > len(clip_list):
                raise InputError(events_json, f"clip code {match[0]} is past the {len(clip_list)}-clip list",
                                 "check events.tsv against events.json")
            rel = clip_list[idx - 1]
            trials.append(Trial(i, t, self.trial_s, rel, self._audio(rel), states=(state,)))
        return trials, []

    def _trials_ds002724(self, run_file, raw, events):
        states = sorted((t, int(c)) for t, _, c in events if c in STATE_CODES)
        if not states:
            raise self._no_trials(run_file, "state codes 1-9")
        half = self.trial_s / 2
        trials, notes, i = [], [], 0
        while i < len(states):
            t, s1 = states[i]
            if i + 1 < len(states) and abs(states[i + 1][0] - t - half) < 1.0:
                s2 = states[i + 1][1]
                cands = tuple(f"{s1}-{s2}_{k}.wav" for k in (1, 2, 3))
                trials.append(Trial(len(trials), t, self.trial_s, None, None, audio_status=AUDIO_AMBIGUOUS,
                                    clip_candidates=cands, states=(s1, s2)))
                i += 2
            else:
                notes.append(f"{run_file.path.name}: state code at {t:.1f} s has no partner {half:g} s later")
                i += 1
        return trials, notes

    def _trials_state_only(self, run_file, raw, events):
        states = sorted((t, int(c)) for t, _, c in events if c in STATE_CODES)
        if not states:
            raise self._no_trials(run_file, "state codes 1-9")
        return [Trial(i, t, self.trial_s, None, None, audio_status=AUDIO_NOT_DISTRIBUTED, states=(s,))
                for i, (t, s) in enumerate(states)], []

    _trials_ds002721 = _trials_state_only
    _trials_ds002723 = _trials_state_only

