"""The University of Reading BCMI family on OpenNeuro (ds002721–ds002725).

How each set marks a music trial, read from every real sidecar (events.json, README; see docs and
tests/integration/test_real_metadata.py, which walks all of them):

* ds002725 (joint EEG-fMRI, genMusic runs, 40 s): event 768 starts a trial, usually twice a few ms apart; the clip
  is in the ``music`` channel, value × 20 = code ``ijk`` → ``stimuli/generated/i-j_k.wav``.
* ds002722 (calibration, 20 s): a state code 1–9 and a clip code 101–209 at the same onset; code − 100 indexes the
  clip list written inside events.json. Several trials stacked at one onset cannot be told apart and are dropped;
  a trial without a clip code is kept for EEG-only work.
* ds002724 (training, 40 s): two state codes 20 s apart (states A then B), no clip code; the clip is one of
  ``stimuli/A-B_1..3.wav``, so the audio target is ambiguous and the trial is kept for EEG-only work. Runs repeat
  across sessions: a run is (session, run).
* ds002723 (online testing, 60 s): two state codes 20 s apart (A for 20 s, then B → C for 40 s); audio generated
  live and not distributed.
* ds002721 (film music, 12 s clips): code 788 ("Music played") starts a trial in runs 2–5 (runs 1 and 6 are rest);
  a code 301–360 at the same onset names the clip (code − 300 → ``NNN.mp3``), which is not distributed.

A trial marker that cannot be turned into a trial is a ``DroppedTrial`` with its reason; a run without any is an
error naming its events file, which preprocessing turns into a note while the subject's other runs go in.
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
    AUDIO_UNLABELLED,
    DroppedTrial,
    Run,
    RunFile,
    Trial,
)

STATE_CODES = {str(c) for c in range(1, 10)}
RATING_CHANNELS = (("ft_valance", "ft_arousal"), ("VA1", "VA2"))
PAIR_GAP_S = 0.5  # ds002725's duplicated 768 markers are a few ms apart
SAME_ONSET_S = 0.01  # codes of one trial share its onset
# Where the second state code of a trial falls, as a share of the trial: 20 of 40 s (ds002724), 20 of 60 s (ds002723).
SECOND_STATE_AT = {"ds002724": 1 / 2, "ds002723": 1 / 3}
Events = list[tuple[float, str]]
Found = tuple[list[Trial], list[DroppedTrial], list[str]]


def by_onset(events: Events) -> list[tuple[float, list[str]]]:
    """Events grouped by onset (codes within SAME_ONSET_S of the group's first onset)."""
    groups: list[tuple[float, list[str]]] = []
    for t, code in sorted(events):
        if groups and t - groups[-1][0] < SAME_ONSET_S:
            groups[-1][1].append(code)
        else:
            groups.append((t, [code]))
    return groups


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
                             "download it (eeg2music fetch), or leave it out: copy results/discover/<dataset>/"
                             "subjects.tsv to config/subjects.tsv and set its include to no")
        return [RunFile(self.dataset, subject, p.session, run_label(p.session, p.task, p.run), Path(p.fpath))
                for p in paths]

    def inputs(self, run_file: RunFile) -> list[Path]:
        """The files reading this run depends on: the EDF, its sidecars and the clips its trials play (found by
        reading the run's header, events and music channel: milliseconds, no samples loaded). A run that cannot
        be read still lists its files; preprocessing reports why."""
        files = bids.run_inputs(run_file.path)
        try:
            clips = {t.audio_path for t in self.read_run(run_file).trials if t.audio_path is not None}
        except InputError:
            clips = set()
        return files + sorted(clips)

    # -- reading --------------------------------------------------------------------------------------------------
    def read_run(self, run_file: RunFile) -> Run:
        """The run's header and trials (samples are read when asked; ``raw.load_data()`` before filtering)."""
        raw, notes = bids.read_raw(run_file.path)
        duration = raw.n_times / raw.info["sfreq"]
        events, event_notes = bids.events_from_tsv(run_file.path, duration)
        trials, dropped, found_notes = getattr(self, f"_trials_{self.kind}")(run_file, raw, events)
        kept = []
        for t in trials:
            if t.onset_s + t.duration_s > duration + 1e-9:
                dropped.append(DroppedTrial(t.onset_s, f"runs past the end of the recording ({duration:.1f} s)"))
            else:
                kept.append(t)
        for i, t in enumerate(kept):
            t.index = i
        ratings = next((list(c) for c in RATING_CHANNELS if all(n in raw.ch_names for n in c)), [])
        return Run(run_file, raw, kept, ratings, notes + event_notes + found_notes, sorted(dropped,
                                                                                         key=lambda d: d.onset_s))

    def _no_trials(self, run_file: RunFile, what: str) -> InputError:
        return InputError(bids.sidecar(run_file.path, "events.tsv"), f"no trial markers ({what}) found",
                          "check that this is a music run; the subject's other runs are still used")

    def _audio(self, rel: str) -> Path:
        path = self.root / "stimuli" / rel
        if not path.exists():
            raise InputError(path, "clip named by the events has no wav file",
                             "fetch the stimuli folder (eeg2music fetch) or restore the file")
        return path

    def _trials_ds002725(self, run_file: RunFile, raw, events: Events) -> Found:
        onsets = [t for t, code in events if code == "768"]
        if not onsets:
            raise self._no_trials(run_file, "event 768")
        merged: list[float] = []
        for t in onsets:
            if not merged or t - merged[-1] >= PAIR_GAP_S:
                merged.append(t)
        n_pairs = sum(1 for a, b in pairwise(onsets) if b - a < PAIR_GAP_S)
        notes = [f"{run_file.path.name}: {len(merged) - n_pairs} unpaired 768 marker(s) (taken as trial starts)"] \
            if n_pairs != len(merged) else []
        sf = raw.info["sfreq"]
        trials, dropped = [], []
        for t in merged:
            seg = raw.get_data(picks=["music"], start=int((t + 0.1) * sf), stop=int((t + 1.0) * sf))[0]
            code = round(float(np.median(seg)) * 20) if seg.size else 0
            digits = str(code)
            if not (len(digits) == 3 and digits[0] in STATE_CODES and digits[1] in STATE_CODES and digits[2] != "0"):
                dropped.append(DroppedTrial(t, f"music channel holds {code / 20:g} (×20 = {code}), not a clip code"))
                continue
            rel = f"generated/{digits[0]}-{digits[1]}_{digits[2]}.wav"
            trials.append(Trial(len(trials), t, self.trial_s, rel, self._audio(rel),
                                states=(int(digits[0]), int(digits[1]))))
        return trials, dropped, notes

    def _trials_ds002722(self, run_file: RunFile, raw, events: Events) -> Found:
        events_json = bids.sidecar(run_file.path, "events.json")
        clip_list = bcmi_clip_list(events_json)
        groups = [(t, [int(c) for c in codes if c in STATE_CODES], [int(c) for c in codes if c.isdigit()
                                                                     and 101 <= int(c) <= 209])
                  for t, codes in by_onset(events)]
        if not any(states for _, states, _ in groups):
            raise self._no_trials(run_file, "state codes 1-9")
        trials, dropped, unlabelled = [], [], 0
        for t, states, clips in groups:
            if not states:
                continue
            if len(states) > 1 or len(clips) > 1:
                why = f"{len(states)} trials stacked at onset {t:.3f} s: which clip belongs to which cannot be told"
                dropped += [DroppedTrial(t, why)] * len(states)
            elif not clips:
                trials.append(Trial(len(trials), t, self.trial_s, None, None, audio_status=AUDIO_UNLABELLED,
                                    states=(states[0],)))
                unlabelled += 1
            elif clips[0] - 100 > len(clip_list):
                dropped.append(DroppedTrial(t, f"clip code {clips[0]} is past the {len(clip_list)}-clip list of "
                                               f"{events_json.name}"))
            else:
                rel = clip_list[clips[0] - 101]
                trials.append(Trial(len(trials), t, self.trial_s, rel, self._audio(rel), states=(states[0],)))
        notes = [f"{run_file.path.name}: {unlabelled} trial(s) without a clip code (101-209): kept for EEG-only "
                 "work"] if unlabelled else []
        return trials, dropped, notes

    def _paired_states(self, run_file: RunFile, events: Events, audio_status: str) -> Found:
        """Trials marked by two state codes 20 s apart (ds002723, ds002724): one trial from the first. Reading each
        code as a trial would double the trials, and the two would share most of their EEG (a train/test leak)."""
        gap = self.trial_s * SECOND_STATE_AT[self.kind]
        states = [(t, int(c)) for t, c in events if c in STATE_CODES]
        if not states:
            raise self._no_trials(run_file, "state codes 1-9")
        trials, dropped, i = [], [], 0
        while i < len(states):
            t, s1 = states[i]
            if i + 1 < len(states) and abs(states[i + 1][0] - t - gap) < 1.0:
                s2 = states[i + 1][1]
                cands = tuple(f"{s1}-{s2}_{k}.wav" for k in (1, 2, 3)) if audio_status == AUDIO_AMBIGUOUS else ()
                trials.append(Trial(len(trials), t, self.trial_s, None, None, audio_status=audio_status,
                                    clip_candidates=cands, states=(s1, s2)))
                i += 2
            else:
                dropped.append(DroppedTrial(t, f"state code {s1} has no partner {gap:g} s later"))
                i += 1
        return trials, dropped, []

    def _trials_ds002724(self, run_file: RunFile, raw, events: Events) -> Found:
        return self._paired_states(run_file, events, AUDIO_AMBIGUOUS)

    def _trials_ds002723(self, run_file: RunFile, raw, events: Events) -> Found:
        return self._paired_states(run_file, events, AUDIO_NOT_DISTRIBUTED)

    def _trials_ds002721(self, run_file: RunFile, raw, events: Events) -> Found:
        trials = []
        for t, codes in by_onset(events):
            if "788" not in codes:
                continue
            clips = [int(c) for c in codes if c.isdigit() and 301 <= int(c) <= 360]
            clip = f"{clips[0] - 300:03d}.mp3" if len(clips) == 1 else None
            trials.append(Trial(len(trials), t, self.trial_s, clip, None, audio_status=AUDIO_NOT_DISTRIBUTED))
        if not trials:
            raise self._no_trials(run_file, "code 788, music played")
        return trials, [], []


def run_label(session: str | None, task: str | None, run: str | None) -> str:
    """A run's name in stores, splits and reports; the session is part of it (ds002724 repeats run1..4 per session)."""
    label = (task or "") + (f"_run-{run}" if run else "")
    return f"ses-{session}_{label}" if session else label
