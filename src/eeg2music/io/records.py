"""The uniform records every reader yields."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import mne
import numpy as np

# Why a trial's audio target may be unusable; EEG-only work keeps such trials.
AUDIO_OK = "ok"
AUDIO_AMBIGUOUS = "ambiguous"  # ds002724: the clip is one of several candidates
AUDIO_NOT_DISTRIBUTED = "not distributed"  # ds002721/ds002723: the audio is not part of the dataset
AUDIO_MISSING = "missing"  # NMED-T: the user did not supply the song file
AUDIO_UNLABELLED = "unlabelled"  # the events name no clip for this trial (ds002722 sub-06 run1)
AUDIO_TRUNCATED = "truncated"  # the clip's file is shorter than its trial (ds002725 generated/3-7_1.wav: 2 MiB)


@dataclass(frozen=True)
class RunFile:
    """One recording on disk, before reading it (what discovery and Snakemake input functions need)."""

    dataset: str
    subject: str
    session: str | None
    run: str
    path: Path


@dataclass
class Trial:
    """Where a music trial sits in its run, and what was playing."""

    index: int  # trial number within the run, from 0
    onset_s: float  # seconds from the start of the recording
    duration_s: float
    clip_id: str | None
    audio_path: Path | None
    audio_offset_s: float = 0.0  # where in the audio file this trial starts
    audio_status: str = AUDIO_OK
    clip_candidates: tuple[str, ...] = ()
    states: tuple[int, ...] = ()  # BCMI targeted affective state codes (1-9)


@dataclass(frozen=True)
class DroppedTrial:
    """A trial marker the reader found but did not keep, and why (shown in the data QC table)."""

    onset_s: float
    reason: str


@dataclass
class Run:
    """A continuous recording with its music trials.

    ``raw`` holds every channel of the file with the types from the sidecar; EEG is in volts. Preprocessing filters
    the continuous run and cuts trials afterwards, so filters never see a trial edge.
    """

    file: RunFile
    raw: mne.io.BaseRaw
    trials: list[Trial]
    rating_channels: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # missing pieces, for the summary
    dropped: list[DroppedTrial] = field(default_factory=list)

    @property
    def n_found(self) -> int:
        """Trial markers found in the run: kept plus dropped."""
        return len(self.trials) + len(self.dropped)

    def trial_records(self) -> Iterator[TrialRecord]:
        """The run's trials as uniform records (raw, unfiltered EEG in volts)."""
        sfreq = float(self.raw.info["sfreq"])
        eeg_picks = mne.pick_types(self.raw.info, eeg=True, exclude=[])
        types = self.raw.get_channel_types()
        for trial in self.trials:
            start = round(trial.onset_s * sfreq)
            stop = start + round(trial.duration_s * sfreq)
            data = self.raw.get_data(start=start, stop=stop)
            ratings = None
            if self.rating_channels:
                ratings = data[[self.raw.ch_names.index(c) for c in self.rating_channels]]
            yield TrialRecord(
                dataset=self.file.dataset,
                subject=self.file.subject,
                session=self.file.session,
                run=self.file.run,
                trial=trial.index,
                clip_id=trial.clip_id,
                eeg=data[eeg_picks],
                ch_names=[self.raw.ch_names[i] for i in eeg_picks],
                ch_types=[types[i] for i in eeg_picks],
                sfreq=sfreq,
                audio_path=trial.audio_path,
                audio_offset_s=trial.audio_offset_s,
                audio_status=trial.audio_status,
                ratings=ratings,
                rating_names=list(self.rating_channels),
                source_file=self.file.path,
            )


@dataclass
class TrialRecord:
    """One music trial: EEG in volts with channel names/types, and where its audio is."""

    dataset: str
    subject: str
    session: str | None
    run: str
    trial: int
    clip_id: str | None
    eeg: np.ndarray  # (channel, time), volts
    ch_names: list[str]
    ch_types: list[str]
    sfreq: float
    audio_path: Path | None
    audio_offset_s: float
    audio_status: str
    ratings: np.ndarray | None  # (rating, time) at sfreq, e.g. FEELTRACE valence/arousal
    rating_names: list[str]
    source_file: Path
