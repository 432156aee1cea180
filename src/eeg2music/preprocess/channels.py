"""Channel-name normalisation to standard 10-05 names.

Datasets spell the same electrode differently (``FP1`` vs ``Fp1``) and older ones use 10-20 names that were renamed
(``T3`` → ``T7``). Normalising here means every store, and later EEGPT's 62-name vocabulary, speaks one language.
"""

from __future__ import annotations

from functools import cache

import mne

# Old 10-20 names renamed in the 10-10/10-05 system.
OLD_TO_NEW = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}


@cache
def standard_montage() -> mne.channels.DigMontage:
    """MNE's template 10-05 montage (``colin27_1005``; called ``standard_1005`` before MNE 1.13)."""
    name = "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() else "standard_1005"
    return mne.channels.make_standard_montage(name)


@cache
def _standard_names() -> dict[str, str]:
    """Upper-case name → canonical spelling, from the template 10-05 montage."""
    return {name.upper(): name for name in standard_montage().ch_names}


def normalise_channel_name(name: str) -> str:
    """Canonical 10-05 spelling of ``name``; names outside the system (``E17``, ``ECG``) are returned unchanged."""
    stripped = name.strip()
    for prefix in ("EEG ", "EEG-", "EEG"):
        if stripped.upper().startswith(prefix) and len(stripped) > len(prefix):
            candidate = stripped[len(prefix):].strip(" -")
            if candidate.upper() in _standard_names() or candidate.upper() in OLD_TO_NEW:
                stripped = candidate
                break
    upper = stripped.upper()
    upper = OLD_TO_NEW.get(upper, upper)
    return _standard_names().get(upper, stripped)


def normalise_channel_names(names: list[str]) -> dict[str, str]:
    """Rename map for ``mne.io.Raw.rename_channels``; refuses maps that would merge two channels into one."""
    mapping = {name: normalise_channel_name(name) for name in names}
    targets = list(mapping.values())
    dupes = sorted({t for t in targets if targets.count(t) > 1})
    if dupes:
        raise ValueError(f"channel names collide after normalisation: {dupes}")
    return mapping


def is_standard(name: str) -> bool:
    return name.upper() in _standard_names()
