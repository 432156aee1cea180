"""Time one experiment's training step on this device with the batch shapes its config asks for.

The batch is built from the experiment config (batch size, window, rates, targets) and the preprocessing config
(audio, mel and amplitude rates, mel size), with the real dataset's EEG channel count, so the step is the one the
cluster will run, minus data loading (measured separately by ``benchmarks/loader.py``). On a CPU the step is
timed on ``cpu_batch`` windows (a BASE DiffWave step on a full batch takes about a minute on 2 cores) and scaled
linearly to the configured batch, as are its FLOPs; the measured batch is recorded beside the result.
"""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from eeg2music.budget.flops import training_step_flops
from eeg2music.models import registry
from eeg2music.train import distributed
from eeg2music.train.config import TrainConfig, load_config

DALY_SOURCES = 124  # 31 ICA components × 4 source locations (Daly 2023)


@dataclass
class Measurement:
    experiment: str
    config: str
    parameters: int
    batch_size: int
    measured_batch: int
    window_s: float
    hop_s: float
    step_s: float  # median wall time of forward + backward + optimiser step on this device
    peak_mem_mib: float  # CUDA: max allocated; CPU: growth of the process's peak RSS during the measurement
    flops_per_step: int  # counted + recurrent (analytic)
    flops_recurrent: int
    device: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def input_channels(cfg: TrainConfig, eeg_channels: list[str]) -> list[str]:
    """The model's input channels: the dataset's EEG channels, EEGPT's vocabulary, or Daly's source features."""
    if cfg.data.eeg_array == "sources":
        return [f"source{i}" for i in range(DALY_SOURCES)]
    if cfg.data.channels == "eegpt":
        from eeg2music.data.channel_map import eegpt_vocabulary

        return eegpt_vocabulary()
    return eeg_channels


def data_info(cfg: TrainConfig, pre: dict[str, Any], channels: list[str]) -> dict[str, Any]:
    rates = {"eeg": cfg.data.rate, "audio": cfg.data.audio_rate or pre["audio_rate"],
             "mel": pre["mel_rate"], "envelope": pre["envelope_rate"]}
    # audio_rms: only for audio_gain auto, which scales the waveform and changes nothing in the cost
    return {"rates": rates, "n_mels": pre["n_mels"], "channels": channels, "eeg_unit": cfg.data.eeg_unit,
            "audio_rms": 0.1}


def batch(cfg: TrainConfig, info: dict[str, Any], inputs: int, device: torch.device, b: int
          ) -> dict[str, torch.Tensor]:
    """Random tensors with the shapes of ``b`` real windows (values do not change the cost of these models)."""
    w, r = cfg.data.window_s, info["rates"]
    out = {"eeg": torch.randn(b, inputs, round(w * r["eeg"]), device=device)}
    for name in cfg.data.targets:
        if name == "mel":
            out["mel"] = torch.randn(b, info["n_mels"], round(w * r["mel"]), device=device) - 5
        elif name == "audio":
            out["audio"] = (torch.rand(b, round(w * r["audio"]), device=device) - 0.5) * 0.5
        else:
            out[name] = torch.rand(b, round(w * r["envelope"]), device=device)
    return out


def timed_model(cfg: TrainConfig, inputs: int, info: dict[str, Any], source: str) -> torch.nn.Module:
    """The model as it trains, without the runs or pretrained files it would start from (none exist where the cost
    is measured; weights do not change it). What training keeps frozen stays frozen, so the backward is the real one."""
    model = registry.build(cfg.model, inputs, info, source=source, trained=True)
    if cfg.model.get("freeze_vocoder") and hasattr(model, "freeze_vocoder"):
        model.freeze_vocoder()
    return model


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(config: Path, pre: dict[str, Any], eeg_channels: list[str], repeats: int = 2, cpu_batch: int = 2
            ) -> Measurement:
    cfg = load_config(config)
    dist = distributed.setup()
    channels = input_channels(cfg, eeg_channels)
    info = data_info(cfg, pre, channels)
    inputs = len(channels)
    model = timed_model(cfg, inputs, info, str(config)).to(dist.device)
    opt = torch.optim.AdamW(registry.trainable_groups(model, cfg.optim.lr), lr=cfg.optim.lr)
    cuda = dist.device.type == "cuda"
    b = cfg.batch_size if cuda else min(cfg.batch_size, cpu_batch)
    scale = cfg.batch_size / b
    data = batch(cfg, info, inputs, dist.device, b)

    def loss() -> torch.Tensor:
        with dist.autocast():
            return model(data)

    flops = training_step_flops(loss, model)
    opt.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    rss0 = peak_rss_mib()
    times = []
    for _ in range(repeats):  # the counted step above warmed up allocators and kernels
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        value = loss()
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else peak_rss_mib() - rss0
    return Measurement(cfg.experiment, str(config), sum(p.numel() for p in model.parameters()), cfg.batch_size, b,
                       cfg.data.window_s, cfg.data.hop_s or cfg.data.window_s, statistics.median(times) * scale,
                       peak, round(flops["total"] * scale), round(flops["recurrent"] * scale),
                       torch.cuda.get_device_name() if cuda else f"CPU ({torch.get_num_threads()} threads)")
