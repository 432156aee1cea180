"""The DiffWave network: a stack of gated, dilated residual layers predicting the noise ε in a noisy waveform.

Per layer (Kong et al. 2021, fig. 2): x + step projection → dilated conv (kernel 3) + conditioner projection →
tanh·sigmoid gate → 1×1 conv split into a residual (back into the stack, scaled by 1/√2) and a skip (summed over
layers). The diffusion step enters as a 128-d sinusoid → two 512-wide SiLU layers → a per-layer projection.

The per-layer step and conditioner projections are held as one fused layer each (same parameters as 30 separate
ones). The step projection runs fused (one small matrix multiply instead of 30); the conditioner projection runs
one layer's slice at a time, just before that layer needs it. Run fused at audio rate it was a (B, 2·64·30, T)
tensor, 0.5 GB for two 0.7 s crops, and made a training step 1.55× the reference's; sliced, 0.87×
(``benchmarks/diffwave_vs_reference.py``). The gate's tanh is computed through a sigmoid (``gated``): torch's
CPU tanh is several times slower than its sigmoid (``benchmarks/diffwave_generate.py``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from eeg2music.errors import InputError

EMBED_IN, EMBED_WIDTH = 128, 512
INV_SQRT2 = 1 / math.sqrt(2.0)


def upsample_stages(cond_rate: float, audio_rate: float) -> list[int]:
    """Factor ``audio_rate / cond_rate`` into stages of at most 16 (256 → [16, 16], as in DiffWave)."""
    ratio = audio_rate / cond_rate
    if cond_rate <= 0 or abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise InputError(None, f"conditioner frame rate {cond_rate:g} Hz does not divide the audio rate "
                               f"{audio_rate:g} Hz", "choose rates whose ratio is a whole number "
                                                     "(e.g. 100 Hz frames with 16000 Hz audio)")
    left, stages = round(ratio), []
    while left > 1:
        stage = next((s for s in range(16, 1, -1) if left % s == 0), left)  # a prime > 16 is one stage
        stages.append(stage)
        left //= stage
    return stages


def gated(gate: torch.Tensor, filt: torch.Tensor) -> torch.Tensor:
    """WaveNet's gate σ(gate)·tanh(filt), with tanh(x) = 2σ(2x) − 1 (equal to within float rounding)."""
    return torch.sigmoid(gate) * (2 * torch.sigmoid(2 * filt) - 1)


class StepEmbedding(nn.Module):
    """Diffusion step (integer or fractional, for the fast sampler) → 512-d vector."""

    def __init__(self) -> None:
        super().__init__()
        half = EMBED_IN // 2
        self.register_buffer("freqs", 10.0 ** (torch.arange(half) * 4.0 / (half - 1)), persistent=False)
        self.hidden = nn.Linear(EMBED_IN, EMBED_WIDTH)
        self.out = nn.Linear(EMBED_WIDTH, EMBED_WIDTH)

    def forward(self, step: torch.Tensor) -> torch.Tensor:
        angle = step.float()[:, None] * self.freqs[None]
        x = torch.cat([angle.sin(), angle.cos()], dim=1)
        return F.silu(self.out(F.silu(self.hidden(x))))


class Upsampler(nn.Module):
    """Conditioner frames → audio rate by transposed 2-D convolutions over (feature, time), one per stage."""

    def __init__(self, stages: list[int]) -> None:
        super().__init__()
        self.stages = stages
        self.convs = nn.ModuleList(
            nn.ConvTranspose2d(1, 1, (3, 2 * s), stride=(1, s), padding=(1, s // 2)) for s in stages)

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        x = cond.unsqueeze(1)
        for s, conv in zip(self.stages, self.convs, strict=True):
            n = x.shape[-1] * s
            x = F.leaky_relu(conv(x)[..., :n], 0.4)
        return x.squeeze(1)


class DiffWaveNet(nn.Module):
    def __init__(self, n_cond: int = 80, layers: int = 30, channels: int = 64, cycle: int = 10, kernel: int = 3,
                 stages: list[int] | None = None) -> None:
        """``n_cond`` = 0 makes the unconditional model; ``stages`` from :func:`upsample_stages`."""
        super().__init__()
        self.layers, self.channels = layers, channels
        self.input = nn.Conv1d(1, channels, 1)
        self.embed = StepEmbedding()
        self.step_proj = nn.Linear(EMBED_WIDTH, channels * layers)  # fused: one slice per layer
        self.upsampler = Upsampler(stages or []) if n_cond else None
        self.cond_proj = nn.Conv1d(n_cond, 2 * channels * layers, 1) if n_cond else None  # fused, as above
        dilations = [2 ** (i % cycle) for i in range(layers)]
        self.context = sum((kernel // 2) * d for d in dilations)  # receptive field, samples on each side
        self.dilated = nn.ModuleList(
            nn.Conv1d(channels, 2 * channels, kernel, dilation=d, padding=(kernel // 2) * d) for d in dilations)
        self.out_proj = nn.ModuleList(nn.Conv1d(channels, 2 * channels, 1) for _ in range(layers))
        self.skip = nn.Conv1d(channels, channels, 1)
        self.final = nn.Conv1d(channels, 1, 1)
        for conv in (self.input, *self.dilated, *self.out_proj, self.skip):
            nn.init.kaiming_normal_(conv.weight)
        if self.cond_proj is not None:
            nn.init.kaiming_normal_(self.cond_proj.weight)
        nn.init.zeros_(self.final.weight)  # starts by predicting ε = 0

    def upsample(self, cond: torch.Tensor, n: int) -> torch.Tensor:
        up = self.upsampler(cond)
        if up.shape[-1] < n:
            raise InputError(None, f"conditioner covers {up.shape[-1]} audio samples but the audio has {n}",
                             "give the conditioner a frame for every hop of audio")
        return up[..., :n]

    def forward(self, audio: torch.Tensor, step: torch.Tensor, cond: torch.Tensor | None = None,
                upsampled: bool = False) -> torch.Tensor:
        """(B, T) noisy audio, (B,) steps (or (1,): one step for all), (B, n_cond, frames) conditioner → (B, T)
        predicted noise.

        ``upsampled=True``: ``cond`` is already at audio rate (sampling upsamples once, not once per step)."""
        n = audio.shape[-1]
        x = F.relu(self.input(audio.unsqueeze(1)))
        steps = self.step_proj(self.embed(step)).unsqueeze(-1).chunk(self.layers, dim=1)
        conds = None
        if self.cond_proj is not None:
            if cond is None:
                raise ValueError("this DiffWave is conditional: pass a conditioner")
            cond = cond if upsampled else self.upsample(cond, n)
            conds = self.cond_proj.weight.chunk(self.layers), self.cond_proj.bias.chunk(self.layers)
        skip = None
        for i in range(self.layers):
            y = self.dilated[i](x + steps[i])
            if conds is not None:  # this layer's slice of the fused projection, used at once: one (B, 2C, T) alive
                y = y + F.conv1d(cond, conds[0][i], conds[1][i])
            gate, filt = y.chunk(2, dim=1)
            y = self.out_proj[i](gated(gate, filt))
            residual, s = y.chunk(2, dim=1)
            x = (x + residual) * INV_SQRT2
            skip = s if skip is None else skip + s
        x = F.relu(self.skip(skip / math.sqrt(self.layers)))
        return self.final(x).squeeze(1)
