"""The module the training engine drives: ``loss = model(batch)`` (ε-prediction) and ``model.generate(batch)``.

Training (Ho et al. 2020; Kong et al. 2021): pick a step t, mix the clean waveform with noise at that level,
x_t = √ᾱ_t·x_0 + √(1-ᾱ_t)·ε, and regress ε. The waveform is first multiplied by a fixed ``audio_gain``: the noise
has unit variance, and music at an RMS of 0.05–0.1 would sit below it at almost every step, so a small model would
learn little from most steps (a fixed gain, not a per-window one, so that loudness survives). Sampling runs the
reverse chain from pure noise over the full (50) or fast (6) schedule, a few hundred ms (``chunk_s``) at a time.
With EEG conditioning, an auxiliary loss trains the encoder's output toward the log-mel.

``prior: priorgrad`` (PriorGrad, Lee et al., ICLR 2022) draws the noise with a standard deviation that follows the
loudness of the log-mel the model is conditioned on (the true one for the vocoder, the EEG encoder's decoded one for
EEG conditioning), ε ~ N(0, Σ), and weights the loss by Σ⁻¹. Quiet passages start from less noise, which suits small
networks and noisy conditioners; sampling starts from N(0, Σ) and adds noise from it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from eeg2music.errors import InputError
from eeg2music.models import mel
from eeg2music.models.diffwave import conditioners
from eeg2music.models.diffwave.model import DiffWaveNet, upsample_stages
from eeg2music.models.diffwave.schedule import TRAIN_BETAS, Schedule, aligned_steps, sampling_schedule

VOCODER_PARTS = ("net.", "bottleneck.")  # what ``vocoder_from`` copies from a mel run, and ``freeze_vocoder`` fixes
PRIORS = ("standard", "priorgrad")
CPU_SAMPLES_PER_CALL = 4096  # on CPU, chunks go through the network this many samples at a time (cache-sized)


class DiffWaveDecoder(nn.Module):
    target = "audio"
    needs_data_info = True

    def __init__(self, n_inputs: int, rates: dict[str, float], n_mels: int, conditioning: str = "mel",
                 layers: int = 30, channels: int = 64, cycle: int = 10, kernel: int = 3, encoder_channels: int = 64,
                 aux_weight: float = 1.0, aux_loudness_weight: float = 0.0, tensor_key: str = "features",
                 tensor_features: int = 2048, tensor_rate: float = 4.0, betas: list[float] | None = None,
                 chunk_s: float = 0.25, chunk_batch: int = 32, cond_dim: int | None = None, audio_gain: float = 1.0,
                 channel_names: list[str] | None = None, eeg_unit: str = "uV", eegpt: dict | None = None,
                 prior: str = "standard", prior_floor: float = 0.1) -> None:
        """``cond_dim``: project the conditioner to this many features at frame rate before upsampling (not in
        the paper; makes small CPU models several times cheaper when the conditioner is wide). None = DiffWave.
        ``audio_gain``: the waveform's scale inside the diffusion (see the module docstring); 1 = DiffWave;
        "auto" in a config: 0.5 / the training audio's RMS (models.registry).
        ``aux_loudness_weight``: see ``models.mel.mel_loss``.
        ``eegpt`` (conditioning ``eegpt``): model A's arguments. Starting weights (the fold's mel vocoder, model A's
        run) and freezing are applied after construction by the training layer (``train.init``);
        ``channel_names`` and ``eeg_unit`` come from the data.
        ``prior``: "standard" (DiffWave) or "priorgrad" (see the module docstring); ``prior_floor`` is the smallest
        noise scale, for the quietest frames, relative to the item's loudest."""
        super().__init__()
        if prior not in PRIORS:
            raise InputError(None, f"unknown prior {prior!r}", f"use one of {', '.join(PRIORS)}")
        if prior == "priorgrad" and conditioning not in ("mel", "eeg"):
            raise InputError(None, f"prior priorgrad needs a log-mel to scale the noise by; conditioning "
                             f"{conditioning} has none", "use conditioning mel or eeg, or prior: standard")
        if not 0 < prior_floor <= 1:
            raise InputError(None, f"prior_floor {prior_floor} is outside (0, 1]", "use a small positive floor, 0.1")
        self.prior, self.prior_floor = prior, prior_floor
        self.chunk, self.chunk_batch = max(1, round(chunk_s * rates["audio"])), chunk_batch
        self.audio_rate = rates["audio"]
        # A buffer, so that a gain measured on the training audio (``audio_gain: auto``) is saved with the weights.
        self.register_buffer("audio_gain", torch.tensor(float(audio_gain)))
        self.conditioning, self.aux_weight, self.aux_loudness_weight = conditioning, aux_weight, aux_loudness_weight
        self.conditioner = conditioners.build(conditioning, n_inputs, n_mels, rates, encoder_channels, tensor_key,
                                              tensor_features, tensor_rate, channel_names, eeg_unit, eegpt)
        cond = self.conditioner
        stages = upsample_stages(cond.rate, self.audio_rate) if cond is not None else None
        self.bottleneck = nn.Conv1d(cond.features, cond_dim, 1) if cond is not None and cond_dim else None
        width = (cond_dim or cond.features) if cond is not None else 0
        self.net = DiffWaveNet(width, layers, channels, cycle, kernel, stages)
        self.schedule = Schedule(tuple(betas or TRAIN_BETAS))
        self.register_buffer("alpha_bars", torch.tensor(self.schedule.alpha_bars, dtype=torch.float32),
                             persistent=False)

    def freeze_vocoder(self) -> None:
        """Keep the diffusion network and bottleneck fixed: only the conditioner trains."""
        for name, weight in self.named_parameters():
            if name.startswith(VOCODER_PARTS):
                weight.requires_grad_(False)

    def load_vocoder(self, state: dict, source: Path) -> None:
        """The diffusion network and bottleneck of a trained mel-conditioned run (mode 1): B learns to render a
        mel from music alone; with a mel-like conditioner (the EEG encoder's output is trained toward the normalised
        log-mel) what is left to learn is mostly the encoder. Frozen (``freeze_vocoder``), the diffusion loss trains
        only the conditioner; trained along, the network unlearns rendering while the encoder's output is still
        noise (docs/results.md)."""
        part = {k: v for k, v in state.items() if k.startswith(VOCODER_PARTS)}
        try:
            missing = self.load_state_dict(part, strict=False).missing_keys
        except RuntimeError as err:
            first = [ln.strip() for ln in str(err).splitlines() if "size mismatch" in ln][:1] or [str(err)]
            raise InputError(source, f"is not a vocoder of this size ({first[0]})",
                             "give this model the vocoder's layers, channels, cycle and cond_dim") from err
        missing = [k for k in missing if k.startswith(VOCODER_PARTS)]
        if missing:
            raise InputError(source, f"lacks {len(missing)} of this model's diffusion weights (e.g. {missing[0]})",
                             "point vocoder_from at a mel-conditioned DiffWave run of the same size")

    def features_and_condition(self, batch: dict[str, torch.Tensor]
                               ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The conditioner's frames (PriorGrad's noise scale and the auxiliary loss read them), and the same frames
        as the network takes them (through the bottleneck when there is one)."""
        if self.conditioner is None:
            return None, None
        features = self.conditioner(batch)
        return features, self.bottleneck(features) if self.bottleneck is not None else features

    def condition(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """The conditioner's frames as the network takes them."""
        return self.features_and_condition(batch)[1]

    def noise_scale(self, batch: dict[str, torch.Tensor], features: torch.Tensor | None, n: int
                    ) -> torch.Tensor | None:
        """PriorGrad's standard deviation per audio sample, (B, n); None for the standard prior. From the frame
        loudness (√ of the mean mel power) of the conditioning log-mel, divided by the item's loudest frame and
        floored at ``prior_floor``; a prior, so no gradient flows through it."""
        if self.prior == "standard":
            return None
        log_mel = batch["mel"].float() if self.conditioning == "mel" else mel.denormalise_mel(features.detach().float())
        loudness = log_mel.exp().mean(1).sqrt()  # (B, frames)
        scale = (loudness / loudness.amax(1, keepdim=True).clamp_min(1e-8)).clamp_min(self.prior_floor)
        return F.interpolate(scale[:, None], size=n, mode="linear", align_corners=False)[:, 0]

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        audio = batch["audio"].float() * self.audio_gain
        features, cond = self.features_and_condition(batch)
        t = torch.randint(0, len(self.schedule), (audio.shape[0],), device=audio.device)
        scale = self.noise_scale(batch, features, audio.shape[-1])
        noise = torch.randn_like(audio) if scale is None else torch.randn_like(audio) * scale
        ab = self.alpha_bars[t].unsqueeze(1)
        noisy = ab.sqrt() * audio + (1 - ab).sqrt() * noise
        estimate = self.net(noisy, t, cond).float()
        # PriorGrad's loss is the error's Mahalanobis norm under the prior: Σ⁻¹-weighted
        loss = F.mse_loss(estimate, noise) if scale is None else F.mse_loss(estimate / scale, noise / scale)
        if self.conditioning == "eeg" and self.aux_weight > 0:
            target = mel.normalise_mel(batch["mel"].float())
            pred = F.interpolate(features, size=target.shape[-1], mode="linear", align_corners=False)
            loss = loss + self.aux_weight * mel.mel_loss(pred.float(), target, self.aux_loudness_weight)
        return loss

    def noise_estimate(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """The network's ε for a whole (B, T) signal, computed on chunks of ``chunk`` samples each padded with the
        network's receptive field (``net.context``) of real neighbours on both sides. Away from the signal's two ends
        this equals one pass over the whole signal; it bounds memory and keeps activations in cache (several times
        faster on CPU for 20 s trials). On CPU, ``chunk_batch`` gives way to about ``CPU_SAMPLES_PER_CALL`` samples
        per pass, which keeps a small network's activations in cache (``benchmarks/diffwave_generate.py``). Every
        sample shares the step, so its embedding is computed once per pass and broadcast."""
        b, n = x.shape
        ctx, chunk = self.net.context, self.chunk
        if n <= chunk + 2 * ctx:
            return self.net(x, t.reshape(1), cond, upsampled=True).float()
        per_call = self.chunk_batch if x.is_cuda else max(1, CPU_SAMPLES_PER_CALL // (chunk + 2 * ctx))
        n_chunks = -(-n // chunk)
        right = n_chunks * chunk - n + ctx
        windows = F.pad(x, (ctx, right)).unfold(-1, chunk + 2 * ctx, chunk).reshape(-1, chunk + 2 * ctx)
        conds = None
        if cond is not None:  # (B, F, T) → (B · chunks, F, chunk + 2 ctx)
            conds = F.pad(cond, (ctx, right)).unfold(-1, chunk + 2 * ctx, chunk).permute(0, 2, 1, 3)
            conds = conds.reshape(-1, cond.shape[1], chunk + 2 * ctx)
        out = []
        for i in range(0, windows.shape[0], per_call):
            part = windows[i:i + per_call]
            c = conds[i:i + per_call] if conds is not None else None
            out.append(self.net(part, t.reshape(1), c, upsampled=True).float()[:, ctx:ctx + chunk])
        return torch.cat(out).reshape(b, -1)[:, :n]

    @torch.no_grad()
    def generate(self, batch: dict[str, torch.Tensor], steps: int | str = "fast", seed: int = 0,
                 n_samples: int | None = None) -> torch.Tensor:
        """(B, T) waveforms at ``audio_rate`` from pure noise; T from the conditioner (or ``n_samples``)."""
        features, cond = self.features_and_condition(batch)
        if cond is not None:
            n = n_samples or cond.shape[-1] * round(self.audio_rate / self.conditioner.rate)
            cond = self.net.upsample(cond, n)
            b = cond.shape[0]
        else:
            n, b = n_samples or batch["audio"].shape[-1], batch["audio"].shape[0]
        device = self.alpha_bars.device
        gen = torch.Generator(device=device).manual_seed(seed)
        infer = sampling_schedule(steps, self.schedule)
        t_net = torch.tensor(aligned_steps(infer, self.schedule), dtype=torch.float32, device=device)
        alphas, alpha_bars, betas = infer.alphas, infer.alpha_bars, infer.betas
        scale = self.noise_scale(batch, features, n)
        scale = torch.ones(b, n, device=device) if scale is None else scale
        x = torch.randn(b, n, generator=gen, device=device) * scale
        for s in range(len(infer) - 1, -1, -1):
            eps = self.noise_estimate(x, t_net[s], cond)
            x = (x - betas[s] / (1 - alpha_bars[s]) ** 0.5 * eps) / alphas[s] ** 0.5
            if s > 0:
                sigma = ((1 - alpha_bars[s - 1]) / (1 - alpha_bars[s]) * betas[s]) ** 0.5
                x = x + sigma * torch.randn(x.shape, generator=gen, device=device) * scale
            x = x.clamp(-self.audio_gain, self.audio_gain)  # audio lives in [-1, 1]: clamping keeps steps from drifting
        return x / self.audio_gain
