"""Step time of our training engine vs a bare PyTorch loop on the same bi-LSTM and the same batches, in one run.

Both train Daly's bi-LSTM (paper size: 4 × 250 bidirectional, on 32-channel EEG at 100 Hz, 4 s windows, batch 16)
on the same synthetic stores. The engine adds the split audit, resumable sampler, NaN guards, gradient-norm
checks, TensorBoard logging, a progress bar and periodic atomic checkpoints (every 25 steps here). Marginal cost
per step is measured as (time for N₂ steps − time for N₁ steps) / (N₂ − N₁), so set-up is excluded on both sides.
Last line: ``engine_overhead: <engine step / bare step>`` (target ≤ 1.10).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from eeg2music.data.dataset import WindowDataset
from eeg2music.models.bilstm import DalyBiLSTM
from eeg2music.train.config import load_config
from eeg2music.train.engine import lr_lambda, main, window_config
from eeg2music.train.sampler import EpochBatches

sys.path.insert(0, str(Path(__file__).parent))
from _study import training_study


def engine_time(config: Path, manifest: Path, run_dir: Path, steps: int) -> float:
    cfg = load_config(config, {"data.manifest": str(manifest), "run_dir": str(run_dir), "max_steps": steps})
    t = time.perf_counter()
    main(cfg)
    return time.perf_counter() - t


def bare_time(config: Path, manifest: Path, steps: int) -> float:
    """What one writes by hand: the same data, model, optimiser and schedule, nothing else."""
    from eeg2music.data.splits import Manifest

    cfg = load_config(config, {"data.manifest": str(manifest), "max_steps": steps})
    t = time.perf_counter()
    torch.manual_seed(0)
    data = WindowDataset(Manifest.load(manifest), "train", window_config(cfg))
    model = DalyBiLSTM(n_inputs=len(data.channel_map.names), hidden=250, layers=4)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg))
    step, epoch = 0, 0
    while step < steps:
        data.set_epoch(epoch)
        for batch in DataLoader(data, batch_sampler=EpochBatches(len(data), 16, 1, 0, 0, epoch)):
            loss = model(batch)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step >= steps:
                break
        epoch += 1
    return time.perf_counter() - t


def benchmark() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", type=int, default=10)
    p.add_argument("--long", type=int, default=60)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config, manifest = training_study(tmp, "overhead", ckpt_every=25)
        engine = [engine_time(config, manifest, tmp / f"run{n}", n) for n in (a.short, a.long)]
        bare = [bare_time(config, manifest, n) for n in (a.short, a.long)]
    e = (engine[1] - engine[0]) / (a.long - a.short)
    b = (bare[1] - bare[0]) / (a.long - a.short)
    print(f"bi-LSTM 4x250 on 32 channels, batch 16 x 4 s at 100 Hz, {torch.get_num_threads()} CPU threads")
    print(f"engine: {e * 1000:.1f} ms/step   bare loop: {b * 1000:.1f} ms/step")
    print(f"engine_overhead: {e / b:.3f}" if math.isfinite(e / b) else "engine_overhead: nan")


if __name__ == "__main__":
    benchmark()
