"""The floor a generative decoder must beat: the same trained model and sampler, fed EEG that says nothing about the
trial being decoded.

A diffusion model or vocoder makes music-like audio from any input, and music-like audio already correlates with
music's amplitude and spectrum. So each generative experiment is also decoded with its EEG replaced, and its scores
mean something only above that floor:

- ``zeros``: an all-zero input (what the model makes of no EEG at all);
- ``other-trial``: the EEG of another test trial of the same participant (real EEG of the same person, recorded
  while other music played), cropped or zero-padded to this trial's length.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from eeg2music.data.dataset import WindowDataset
from eeg2music.errors import InputError

EEG_INPUTS = ("as-recorded", "zeros", "other-trial")


def other_trials(data: WindowDataset) -> list[int]:
    """For each whole-trial item, the item whose EEG it is given under ``other-trial``: the next of the same
    participant's trials in the part (cyclically), so every trial is given exactly one other trial's EEG."""
    by_subject: dict[tuple[str, str], list[int]] = {}
    for i, owner in enumerate(data.owners):
        e = data.entries[owner]
        by_subject.setdefault((e.dataset, e.subject), []).append(i)
    partner = list(range(len(data)))
    for (dataset, subject), items in by_subject.items():
        if len(items) < 2:
            raise InputError(data.entries[data.owners[items[0]]].store,
                             f"{dataset} sub-{subject} has one trial in this part: no other trial's EEG to give it",
                             "use eeg: zeros for this split, or a split with more test trials per participant")
        for k, i in enumerate(items):
            partner[i] = items[(k + 1) % len(items)]
    return partner


def eeg_replacer(data: WindowDataset, mode: str) -> Callable[[int, dict], dict]:
    """``(index, item) → item`` with its EEG as ``mode`` says (``as-recorded`` leaves it)."""
    if mode not in EEG_INPUTS:
        raise InputError(None, f"unknown EEG input {mode!r}", f"use one of {', '.join(EEG_INPUTS)}")
    if mode == "as-recorded":
        return lambda i, item: item
    if mode == "zeros":
        return lambda i, item: {**item, "eeg": torch.zeros_like(item["eeg"])}
    partner = other_trials(data)

    def other(i: int, item: dict) -> dict:
        eeg = data[partner[i]]["eeg"]
        n = item["eeg"].shape[-1]
        eeg = torch.nn.functional.pad(eeg[..., :n], (0, max(n - eeg.shape[-1], 0)))
        return {**item, "eeg": eeg}

    return other
