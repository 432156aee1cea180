"""Channel harmonisation across datasets with different montages.

Three modes:

* ``intersection``: the channels every selected store has, in the first store's order; every item has them all.
* ``eegpt``: EEGPT's 62-name vocabulary (from braindecode, in its pretraining order); channels a store lacks are
  zero and flagged in a presence mask, channels outside the vocabulary (TP9, FT10, …) are dropped.
* ``frontal``: the intersection's frontal and periocular channels only (:data:`FRONTAL`), where blinks and eye
  movements dominate: the artefact control's input (a decoder that scores as well from these alone may be decoding
  the eyes, not the brain).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from eeg2music.errors import InputError
from eeg2music.quiet_imports import braindecode

MODES = ("intersection", "eegpt", "frontal")
FRONTAL = ("Fp1", "Fpz", "Fp2", "AF7", "AF3", "AFz", "AF4", "AF8", "F7", "F8")  # over and beside the eyes


def eegpt_vocabulary() -> list[str]:
    """The 62 channel names EEGPT knows, in 10-05 spelling (braindecode keeps them upper-case)."""
    from eeg2music.preprocess.channels import normalise_channel_name

    return [normalise_channel_name(n) for n in braindecode("braindecode.models.eegpt").EEGPT_CHANNELS]


@dataclass(frozen=True)
class ChannelMap:
    """Target channel names, and per store the source index of each target (−1 = absent)."""

    names: tuple[str, ...]
    index: dict[str, np.ndarray]  # store path → (n_target,) int source indices

    def presence(self, store: str) -> np.ndarray:
        return self.index[store] >= 0


def harmonise(store_channels: dict[str, list[str]], mode: str) -> ChannelMap:
    if mode not in MODES:
        raise InputError(None, f"unknown channel mode {mode!r}", f"use one of {', '.join(MODES)}")
    stores = list(store_channels)
    if mode in ("intersection", "frontal"):
        common = set.intersection(*(set(c) for c in store_channels.values()))
        names = tuple(c for c in store_channels[stores[0]] if c in common)
        if not names:
            raise InputError(stores[0], "the selected stores share no channel", "use channels: eegpt, or fewer sets")
        if mode == "frontal":
            names = tuple(c for c in names if c in FRONTAL)
            if not names:
                raise InputError(stores[0], f"the selected stores share none of the frontal channels {FRONTAL}",
                                 "check the montage, or leave this dataset out of the artefact control")
    else:
        names = tuple(eegpt_vocabulary())
    index = {}
    for store, chans in store_channels.items():
        pos = {c: i for i, c in enumerate(chans)}
        index[store] = np.array([pos.get(n, -1) for n in names], dtype=np.int64)
        if mode == "eegpt" and not (index[store] >= 0).any():
            raise InputError(store, "none of its channels is in EEGPT's vocabulary", "check the channel names")
    return ChannelMap(names, index)
