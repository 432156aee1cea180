"""braindecode's EEGPT encoder, built for a dataset's channels, with EEGPT's input contract checked up front.

The contract, from the authors' pretraining code: 256 Hz, average reference, **millivolts** (their loaders multiply
volts by 1e3), windows cut into 64-sample patches with stride 64 (braindecode defaults to stride 32; the released
weights were trained with 64). Wrong scaling is the classic trap with this model: microvolts are 1000× too large and
the pretrained features saturate without any error, so the unit is checked here rather than trusted.

Channels reach the encoder in one of two ways (``adapter``):

* ``intersection``: the dataset's channels that EEGPT knows (old 10-20 names were renamed in preprocessing,
  ``T3`` → ``T7``), each with its pretrained channel embedding; unknown channels are dropped and listed.
* ``projection``: braindecode's learnable, norm-constrained 1×1 convolution from every input channel onto the 19
  standard channels of the authors' linear probe.
* ``interpolation``: spherical-spline interpolation (braindecode's ``ChannelInterpolationLayer``, MNE's maths) from
  the dataset's electrode positions onto the EEGPT channels of the 10-05 template; channels EEGPT knows by name pass
  through unchanged. This is how a montage without 10-05 names (NMED-T's 125 EGI HydroCel electrodes ``E1``…)
  reaches the pretrained channel embeddings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from eeg2music.data.channel_map import eegpt_vocabulary
from eeg2music.errors import InputError
from eeg2music.quiet_imports import braindecode

EEGPT_RATE = 256
EEGPT_UNIT = "mV"
ADAPTERS = ("intersection", "projection", "interpolation")
LARGE = {"embed_dim": 512, "depth": 8, "num_heads": 8, "embed_num": 4, "patch_size": 64}  # the released checkpoint


def known_channels(names: list[str]) -> tuple[list[int], list[str]]:
    """Positions of the channels EEGPT has embeddings for, and the names it does not know."""
    vocabulary = {n.upper() for n in eegpt_vocabulary()}
    keep = [i for i, n in enumerate(names) if n.upper() in vocabulary]
    return keep, [n for n in names if n.upper() not in vocabulary]


def channel_positions(names: list[str]) -> list[dict[str, Any]]:
    """MNE-style channel info with template positions (EGI HydroCel for ``E<n>`` names, else 10-05)."""
    from eeg2music.preprocess.eeg import montage_for

    positions = montage_for(names).get_positions()["ch_pos"]
    lookup = {n.upper(): pos for n, pos in positions.items()}
    missing = [n for n in names if n.upper() not in lookup]
    if missing:
        raise InputError(None, f"no template position for channels {missing[:5]}",
                         "use model.adapter: projection, or rename the channels to 10-05 or EGI names")
    return [{"ch_name": n, "loc": lookup[n.upper()], "kind": "eeg"} for n in names]


def interpolation_layer(channels: list[str]) -> tuple[nn.Module, list[str]]:
    """The fixed spline map from ``channels`` onto the EEGPT channels that have a template position."""
    from eeg2music.preprocess.channels import standard_montage

    template = {n.upper() for n in standard_montage().ch_names}
    targets = [n for n in eegpt_vocabulary() if n.upper() in template]
    import mne

    try:
        with mne.use_log_level("error"):
            layer = braindecode("braindecode.modules").ChannelInterpolationLayer(
                channel_positions(channels), channel_positions(targets), mode="name_match")
    except ValueError as err:  # MNE fits a sphere to the electrodes first
        raise InputError(None, f"cannot interpolate from {len(channels)} channels ({err})",
                         "use model.adapter: intersection or projection for so few channels") from err
    return layer, targets


def check_contract(rates: dict[str, float], eeg_unit: str, n_times: int, patch_size: int, name: str = "EEGPT",
                   rate: int = EEGPT_RATE, unit: str = EEGPT_UNIT) -> None:
    """The rate, unit and window the encoder was pretrained on (EEGPT's by default; CBraMod passes its own)."""
    if rates["eeg"] != rate:
        raise InputError(None, f"EEG at {rates['eeg']:g} Hz; {name} was pretrained at {rate} Hz",
                         f"set data.rate: {rate} (and list {rate} in preprocess.rates)")
    if eeg_unit != unit:
        why = "µV inputs are 1000× too large and saturate the encoder silently" if unit == "mV" else \
            "the encoder rescales microvolts itself"
        raise InputError(None, f"EEG in {eeg_unit}; {name} expects {unit}", f"set data.eeg_unit: {unit} ({why})")
    if n_times % patch_size:
        raise InputError(None, f"a window of {n_times} samples is not a multiple of the {patch_size}-sample patch",
                         f"set model.window_s so window_s × {rate} is a multiple of {patch_size}")


class Encoder(nn.Module):
    """EEG (B, C, T) in mV at 256 Hz → summary tokens (B, patches, embed_num, embed_dim)."""

    def __init__(self, channels: list[str], n_times: int, adapter: str = "intersection", embed_dim: int = 512,
                 depth: int = 8, num_heads: int = 8, embed_num: int = 4, patch_size: int = 64,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        if adapter not in ADAPTERS:
            raise InputError(None, f"unknown adapter {adapter!r}", f"use one of {', '.join(ADAPTERS)}")
        self.interpolate: nn.Module | None = None
        if adapter == "interpolation":
            self.interpolate, channels = interpolation_layer(channels)
        keep, unknown = known_channels(channels) if adapter != "projection" else (list(range(len(channels))), [])
        if not keep:
            raise InputError(None, f"none of the channels {channels[:6]}{'…' if len(channels) > 6 else ''} is one "
                                   "EEGPT knows", "use model.adapter: interpolation (a spline map from the electrode "
                                   "positions, e.g. NMED-T's EGI montage) or projection")
        self.unknown = unknown  # dropped channels, reported by the trainer
        self.register_buffer("keep", torch.tensor(keep, dtype=torch.long), persistent=False)
        kept = [channels[i] for i in keep]
        args: dict[str, Any] = dict(n_times=n_times, sfreq=EEGPT_RATE, patch_size=patch_size, patch_stride=patch_size,
                                    embed_dim=embed_dim, depth=depth, num_heads=num_heads, embed_num=embed_num,
                                    drop_path_rate=drop_path, return_encoder_output=True)
        if adapter != "projection":
            args |= dict(n_chans=len(kept), chs_info=[{"ch_name": n.upper()} for n in kept], chan_proj_type="none")
        else:
            args |= dict(n_chans=len(kept), chan_proj_type="conv1d_constraint")
        self.net = braindecode("braindecode.models").EEGPT(**args)
        self.n_times, self.patch_size, self.embed_num, self.embed_dim = n_times, patch_size, embed_num, embed_dim
        self.depth = depth

    @property
    def blocks(self) -> nn.ModuleList:
        return self.net.target_encoder.blocks

    @property
    def final_norm(self) -> nn.Module:
        """What follows the last block: trained with the last blocks in ``last-k``."""
        return self.net.target_encoder.norm

    def load_pretrained(self, source: str | Path, allow_download: bool = False) -> str:
        """Load ``target_encoder.`` weights (either released form); returns the load report's summary line."""
        from eeg2music.models.foundation.weights import encoder_state, read_state

        target = self.net.target_encoder
        state, report = encoder_state(read_state(source, allow_download), target.state_dict(), str(source))
        target.load_state_dict(state, strict=True)
        return report.summary()

    def forward(self, eeg: torch.Tensor) -> torch.Tensor:
        if eeg.shape[-1] != self.n_times:
            raise InputError(None, f"EEG window of {eeg.shape[-1]} samples, the encoder was built for {self.n_times}",
                             "make data.window_s equal model.window_s")
        if self.interpolate is not None:
            eeg = self.interpolate(eeg)  # (B, C_dataset, T) → (B, C_eegpt, T)
        return self.net(eeg.index_select(1, self.keep))
