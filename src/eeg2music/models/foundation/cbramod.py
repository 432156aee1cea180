"""CBraMod (Wang et al., ICLR 2025) as model A's encoder in place of EEGPT: braindecode's port, any channels.

The contract, from the authors' pretraining code: 200 Hz, 1 s patches (200 samples), EEG in units of 100 µV (their
loaders divide microvolts by 100). Criss-cross attention keeps one token per channel and patch, so the channels
need no mapping to a vocabulary (no adapter) and the head sees channels × 200 features per 1 s patch: the encoder's
``embed_num`` is the number of channels. Released size: 12 layers, 8 heads, 200-d tokens, feed-forward 800.

Weights: the authors' ``pretrained_weights.pth`` (a plain state dict) or braindecode's converted directory
(``config.json`` + ``model.safetensors``, e.g. ``braindecode/cbramod-pretrained``); both use the same keys.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from eeg2music.errors import InputError
from eeg2music.quiet_imports import braindecode

CBRAMOD_RATE = 200
CBRAMOD_UNIT = "uV"
UV_PER_UNIT = 100.0  # pretraining's unit: 100 µV
PATCH = 200
LARGE = {"embed_dim": 200, "depth": 12, "num_heads": 8}  # the released checkpoint (feed-forward 4 × 200)
HEAD_KEYS = ("final_layer.",)  # braindecode's classification head, not part of the encoder


class CBraModEncoder(nn.Module):
    """EEG (B, C, T) in µV at 200 Hz → tokens (B, patches, C, embed_dim), the interface of EEGPT's ``Encoder``."""

    def __init__(self, channels: list[str], n_times: int, embed_dim: int = 200, depth: int = 12, num_heads: int = 8,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        self.net = braindecode("braindecode.models").CBraMod(
            n_outputs=1, n_chans=len(channels), n_times=n_times, sfreq=CBRAMOD_RATE, patch_size=PATCH, n_layer=depth,
            nhead=num_heads, emb_dim=embed_dim, dim_feedforward=4 * embed_dim, drop_prob=drop_path,
            return_encoder_output=True)
        self.n_times, self.patch_size, self.embed_num, self.embed_dim = n_times, PATCH, len(channels), embed_dim
        self.depth = depth
        self.unknown: list[str] = []  # every channel is used

    @property
    def blocks(self) -> nn.ModuleList:
        return self.net.encoder.layers

    @property
    def final_norm(self) -> nn.Module:
        """What follows the last block (CBraMod's output projection): trained with the last blocks in ``last-k``."""
        return self.net.proj_out

    def load_pretrained(self, source: str | Path, allow_download: bool = False) -> str:
        """Load every encoder tensor (either released form); returns the load report's summary line."""
        from eeg2music.models.foundation.weights import read_state

        state = read_state(source, allow_download)
        expected = {k: v for k, v in self.net.state_dict().items() if not k.startswith(HEAD_KEYS)}
        missing = sorted(set(expected) - set(state))
        if len(missing) == len(expected):
            sample = ", ".join(sorted(state)[:3])
            raise InputError(source, f"has none of CBraMod's tensors (starts with {sample}): not a CBraMod checkpoint",
                             "pass CBraMod's pretrained weights, or set model.weights to null to train from scratch")
        if missing:
            raise InputError(source, f"lacks {len(missing)} CBraMod tensors ({', '.join(missing[:3])}…)",
                             "is it a CBraMod checkpoint of another version? re-download the released file")
        bad = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
               if state[k].shape != v.shape]
        if bad:
            raise InputError(source, f"has other shapes than the configured encoder ({'; '.join(bad[:2])})",
                             "set model embed_dim/depth/num_heads to the checkpoint's (released: 200/12/8)")
        self.net.load_state_dict({k: state[k] for k in expected}, strict=False)
        others = [k for k in state if k not in expected]
        return f"{source}: {len(expected)} encoder tensors loaded, {len(others)} other tensors not used"

    def forward(self, eeg: torch.Tensor) -> torch.Tensor:
        if eeg.shape[-1] != self.n_times:
            raise InputError(None, f"EEG window of {eeg.shape[-1]} samples, the encoder was built for {self.n_times}",
                             "make data.window_s equal model.window_s")
        return self.net(eeg / UV_PER_UNIT).transpose(1, 2)  # (B, C, P, D) → (B, P, C, D)
