"""Model A: EEGPT fine-tuned to decode the music's log-mel (or Daly's 100 Hz amplitude) from 4 s EEG windows.

The encoder gives ``embed_num`` summary tokens per 250 ms patch. The head flattens them, mixes each patch with its
``context`` neighbours on either side (a temporal convolution: music at time t is reflected in the EEG for a few
hundred ms after it, so a patch alone is the wrong receptive field), and unfolds each patch into its target frames
(25 log-mel frames at 100 Hz per 64-sample patch).

``encoder: cbramod`` swaps EEGPT for CBraMod (``cbramod.py``, 200 Hz, one token per channel and 1 s patch); the
head, fine-tuning schemes and A → B plumbing are the same.

Fine-tuning schemes (``finetune``):

* ``probe``: the encoder is frozen, only the head learns (the authors' linear-probe regime; cheapest).
* ``last-k``: the last ``last_k`` transformer blocks and the final norm learn too.
* ``full``: everything learns, with layer-wise learning-rate decay: block i of d gets lr × decay^(d − i), the
  embeddings lr × decay^(d + 1), the head lr (``param_groups``, read by the training engine).

``tokens`` exposes the encoder's output at 4 Hz × (embed_num · embed_dim) = 2048 channels for the large model: the
conditioner of the DiffWave vocoder (model B) in the A → B pipeline.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from eeg2music.errors import InputError
from eeg2music.models.foundation import cbramod
from eeg2music.models.foundation.encoder import Encoder, check_contract
from eeg2music.models.mel import denormalise_mel, mel_loss, normalise_mel
from eeg2music.models.standardise import zscore

log = logging.getLogger(__name__)
SCHEMES = ("probe", "last-k", "full")
ENCODERS = ("eegpt", "cbramod")


def _window_starts(t: int, n: int, hop: int) -> list[int]:
    """Starts of ``n``-sample windows ``hop`` apart over ``t`` samples, the last one flush with the end."""
    return sorted(set(range(0, t - n + 1, hop)) | {t - n})


class EEGPTDecoder(nn.Module):
    needs_data_info = True

    def __init__(self, n_inputs: int, rates: dict[str, float], n_mels: int, channels: list[str], eeg_unit: str,
                 target: str = "mel", window_s: float = 4.0, weights: str | None = None,
                 allow_download: bool = False, adapter: str = "intersection", finetune: str = "full",
                 last_k: int = 2, layer_decay: float = 0.75, embed_dim: int = 512, depth: int = 8,
                 num_heads: int = 8, embed_num: int = 4, patch_size: int = 64, head_dim: int = 256,
                 context: int = 1, drop_path: float = 0.0, loudness_weight: float = 0.0,
                 encoder: str = "eegpt") -> None:
        """``loudness_weight`` (mel target): weight of the band-averaged log-mel's loss (``mel_loss``).
        ``encoder``: ``eegpt`` or ``cbramod`` (``cbramod.py``: 200 Hz, µV, 1 s patches, any channels; ``adapter``,
        ``embed_num`` and ``patch_size`` are EEGPT's and ignored)."""
        super().__init__()
        if target not in ("mel", "envelope"):
            raise InputError(None, f"unknown target {target!r}", "use mel or envelope")
        if finetune not in SCHEMES:
            raise InputError(None, f"unknown finetune scheme {finetune!r}", f"use one of {', '.join(SCHEMES)}")
        if not 1 <= last_k <= depth:
            raise InputError(None, f"last_k {last_k} is outside 1…{depth}", "pick a number of blocks to tune")
        if encoder not in ENCODERS:
            raise InputError(None, f"unknown encoder {encoder!r}", f"use one of {', '.join(ENCODERS)}")
        n_times = round(window_s * rates["eeg"])
        if len(channels) != n_inputs:
            raise InputError(None, f"{len(channels)} channel names for {n_inputs} inputs", "a data-layer bug")
        if encoder == "cbramod":
            check_contract(rates, eeg_unit, n_times, cbramod.PATCH, "CBraMod", cbramod.CBRAMOD_RATE,
                           cbramod.CBRAMOD_UNIT)
            self.encoder = cbramod.CBraModEncoder(channels, n_times, embed_dim, depth, num_heads, drop_path)
        else:
            check_contract(rates, eeg_unit, n_times, patch_size)
            self.encoder = Encoder(channels, n_times, adapter, embed_dim, depth, num_heads, embed_num, patch_size,
                                   drop_path)
        self.target, self.finetune, self.last_k, self.layer_decay = target, finetune, last_k, layer_decay
        self.loudness_weight = loudness_weight
        self.rates = rates
        embed_num, patch_size = self.encoder.embed_num, self.encoder.patch_size
        if self.encoder.unknown:
            log.warning("EEGPT does not know channels %s: they are dropped", self.encoder.unknown)
        if weights:
            log.info("%s", self.encoder.load_pretrained(weights, allow_download))
        out_rate = rates["mel"] if target == "mel" else rates["envelope"]
        per_patch = out_rate * patch_size / rates["eeg"]
        if abs(per_patch - round(per_patch)) > 1e-6:
            raise InputError(None, f"{out_rate:g} Hz targets give {per_patch:g} frames per {patch_size}-sample patch",
                             "use a target rate that divides into patches (100 Hz → 25 frames)")
        self.per_patch, self.n_out = round(per_patch), n_mels if target == "mel" else 1
        self.head_in = nn.Linear(embed_num * embed_dim, head_dim)
        self.head_mix = nn.Conv1d(head_dim, head_dim, 2 * context + 1, padding=context)
        self.head_out = nn.Linear(head_dim, self.per_patch * self.n_out)
        self._freeze()

    # -- fine-tuning schemes ---------------------------------------------------------------------------------------
    def _freeze(self) -> None:
        if self.finetune == "full":
            return
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        if self.finetune == "last-k":
            for block in self.encoder.blocks[-self.last_k:]:
                block.requires_grad_(True)
            self.encoder.final_norm.requires_grad_(True)

    def train(self, mode: bool = True) -> EEGPTDecoder:
        super().train(mode)
        if self.finetune == "probe":
            self.encoder.eval()  # a frozen encoder stays in inference mode (no drop-path)
        return self

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """Trainable parameters, grouped by learning rate (layer-wise decay for ``full``)."""
        depth = self.encoder.depth
        groups: dict[float, list[nn.Parameter]] = {}
        blocks = {id(p): i for i, b in enumerate(self.encoder.blocks) for p in b.parameters()}
        head = {id(p) for p in self.encoder.final_norm.parameters()}
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            if self.finetune != "full" or not name.startswith("encoder.") or id(p) in head:
                scale = 1.0
            elif id(p) in blocks:
                scale = self.layer_decay ** (depth - blocks[id(p)])
            else:  # patch and channel embeddings, summary tokens, channel projection
                scale = self.layer_decay ** (depth + 1)
            groups.setdefault(scale, []).append(p)
        return [{"params": ps, "lr": lr * s, "lr_scale": s} for s, ps in sorted(groups.items())]

    # -- forward ---------------------------------------------------------------------------------------------------
    def tokens(self, eeg: torch.Tensor) -> torch.Tensor:
        """(B, C, T) → (B, embed_num · embed_dim, patches): the 4 Hz conditioner for the vocoder."""
        return self.encoder(eeg.float()).flatten(2).transpose(1, 2)

    def trial_tokens(self, eeg: torch.Tensor) -> torch.Tensor:
        """Tokens of a signal of any length of at least one window: windows one window apart, the last one flush
        with the end (cut to whole patches); each patch's tokens come from the first window that covers it."""
        n, p = self.encoder.n_times, self.encoder.patch_size
        t = eeg.shape[-1] // p * p
        if t < n:
            raise InputError(None, f"{eeg.shape[-1]} EEG samples are shorter than the {n}-sample window",
                             "condition on windows at least as long as model A's")
        pieces, done = [], 0
        for s in _window_starts(t, n, n):
            tokens = self.tokens(eeg[..., s:s + n])
            first = done - s // p
            pieces.append(tokens[..., first:])
            done = (s + n) // p
        return torch.cat(pieces, dim=-1)

    def _frames(self, eeg: torch.Tensor) -> torch.Tensor:
        """One window → (B, n_out, frames), normalised (mel) or z-scored (amplitude)."""
        h = F.gelu(self.head_in(self.tokens(eeg).transpose(1, 2)))  # (B, N, H)
        h = F.gelu(self.head_mix(h.transpose(1, 2))).transpose(1, 2)
        out = self.head_out(h)  # (B, N, per_patch · n_out)
        b, n, _ = out.shape
        return out.view(b, n, self.per_patch, self.n_out).reshape(b, n * self.per_patch, self.n_out).transpose(1, 2)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        pred = self._frames(batch["eeg"])
        if self.target == "mel":
            true = normalise_mel(batch["mel"].float())
        else:
            true = zscore(batch["envelope"].float()[:, None])
        n = min(pred.shape[-1], true.shape[-1])
        if self.target == "mel":
            return mel_loss(pred[..., :n].float(), true[..., :n], self.loudness_weight)
        return F.mse_loss(pred[..., :n].float(), true[..., :n])

    @torch.no_grad()
    def predict(self, eeg: torch.Tensor) -> torch.Tensor:
        """A whole trial (B, C, T ≥ window) → log-mel (B, n_mels, frames) or amplitude (B, frames): windows at half
        a window's hop, the last one flush with the end, overlapping frames averaged."""
        n, t = self.encoder.n_times, eeg.shape[-1]
        if t < n:
            raise InputError(None, f"a trial of {t} samples is shorter than the {n}-sample window",
                             "decode trials at least one window long")
        ratio = self.per_patch / self.encoder.patch_size
        frames = round(t * ratio)
        total = torch.zeros(eeg.shape[0], self.n_out, frames)
        count = torch.zeros(frames)
        for s in _window_starts(t, n, n // 2):
            part = self._frames(eeg[..., s:s + n]).float()
            a = round(s * ratio)
            b = min(a + part.shape[-1], frames)
            total[..., a:b] += part[..., : b - a]
            count[a:b] += 1
        out = total / count.clamp(min=1)
        return denormalise_mel(out) if self.target == "mel" else out[:, 0]
