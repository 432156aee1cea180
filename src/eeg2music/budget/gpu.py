"""The first GPU hour: train each model at its full size for a few hundred steps on the card itself and measure
what the budget otherwise assumes.

For every experiment config: the model as it trains (``measure.timed_model``), random batches with the real shapes
(``measure.batch``), AdamW, bf16 autocast on CUDA (fp32 on CPU). After ``warmup`` steps, ``steps`` steps are timed
(synchronised), giving the step time, samples/s, peak memory, and, with the step's FLOPs counted once, the achieved
TFLOP/s and its share of the card's peak: the utilisation ``eeg2music budget --gpu-check`` uses in place of its
assumption. On a CPU it runs the same code at the CPU size for a few steps (the test of this module).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch

from eeg2music.budget.flops import training_step_flops
from eeg2music.budget.hardware import GPUS
from eeg2music.budget.measure import batch, data_info, input_channels, timed_model
from eeg2music.models import registry
from eeg2music.train import distributed
from eeg2music.train.config import load_config


def card_peak_tflops(device_name: str) -> float | None:
    """The named card's dense bf16 peak (budget.hardware), matched by name ("NVIDIA H100 80GB HBM3" → H100)."""
    for name, gpu in GPUS.items():
        if name.lower() in device_name.lower():
            return gpu.peak_tflops
    return None


def check_model(config: Path, size: str, pre: dict[str, Any], eeg_channels: list[str], steps: int, warmup: int,
                max_seconds: float, peak_tflops: float | None) -> dict[str, Any]:
    cfg = load_config(config, size=size)
    dist = distributed.setup()
    cuda = dist.device.type == "cuda"
    channels = input_channels(cfg, eeg_channels)
    info = data_info(cfg, pre, channels)
    model = timed_model(cfg, len(channels), info, str(config)).to(dist.device)
    opt = torch.optim.AdamW(registry.trainable_groups(model, cfg.optim.lr), lr=cfg.optim.lr)
    data = batch(cfg, info, len(channels), dist.device, cfg.batch_size)

    def step() -> None:
        with dist.autocast():
            loss = model(data)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def loss() -> torch.Tensor:
        with dist.autocast():
            return model(data)

    flops = training_step_flops(loss, model)["total"]
    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < steps and time.perf_counter() - start < max_seconds:
        t = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    step_s = statistics.median(times)
    achieved = flops / step_s / 1e12
    return {
        "experiment": cfg.experiment, "config": str(config), "size": size,
        "parameters": sum(p.numel() for p in model.parameters()), "batch_size": cfg.batch_size,
        "steps_timed": len(times), "step_s": step_s, "samples_per_s": cfg.batch_size / step_s,
        "peak_mem_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        "flops_per_step": flops, "achieved_tflops": achieved,
        "utilisation": achieved / peak_tflops if peak_tflops else None,
        "dtype": str(dist.autocast_dtype or torch.float32).removeprefix("torch."),
    }


def check(configs: list[Path], size: str, pre: dict[str, Any], eeg_channels: list[str], steps: int, warmup: int,
          max_seconds: float, peak_tflops: float | None = None) -> dict[str, Any]:
    """Every config in turn on this device; ``peak_tflops`` defaults to the card's (None on a CPU)."""
    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name() if cuda else f"CPU ({torch.get_num_threads()} threads)"
    peak = peak_tflops or (card_peak_tflops(device) if cuda else None)
    models = [check_model(c, size, pre, eeg_channels, steps, warmup, max_seconds, peak) for c in configs]
    return {"device": device, "peak_tflops": peak, "torch": torch.__version__,
            "models": {m["experiment"]: m for m in models}}
