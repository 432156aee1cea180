"""Model A's training cost per 4 s window, for each fine-tuning scheme, at the released checkpoint's size.

EEGPT large (patch 64 / stride 64, embed 512, depth 8, 4 summary tokens) on 4 s windows at 256 Hz from 30 channels
(ds002725's montage), with the log-mel head. For each scheme (frozen encoder + probe, last 2 blocks, full fine-tune
with layer-wise decay) it reports the forward + backward + optimiser time per window on this device and the FLOPs
per window (``torch.utils.flop_counter``; these feed ``eeg2music budget``), and, as the same-run baseline, the
forward-only time of braindecode's bare EEGPT on the same windows, so the ratio says what the head, the backward
pass and the scheme cost over inference.

Last line: ``eegpt_windows_per_s: <windows per second, full fine-tune>``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from eeg2music.budget.cli import eeg_channel_names
from eeg2music.budget.flops import training_step_flops
from eeg2music.models.foundation.model import EEGPTDecoder

RATES = {"eeg": 256, "mel": 100, "envelope": 100, "audio": 16000}
LARGE = {"embed_dim": 512, "depth": 8, "num_heads": 8, "embed_num": 4, "patch_size": 64}


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=4, help="windows per step")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    channels = eeg_channel_names("ds002725")
    batch = {"eeg": (torch.randn(a.batch, len(channels), 1024) * 0.02).to(device),
             "mel": (torch.randn(a.batch, 80, 400) - 5).to(device)}
    print(f"device {device}, {len(channels)} channels, batch {a.batch} windows of 4 s")
    base = EEGPTDecoder(len(channels), RATES, 80, channels, "mV", finetune="probe", **LARGE).to(device).eval()
    with torch.no_grad():
        infer_s = timed(lambda: base.encoder(batch["eeg"]), a.repeats) / a.batch
    print(f"{'braindecode forward only':28s} {infer_s * 1e3:8.1f} ms/window   (baseline)")
    full_rate = 0.0
    for scheme in ("probe", "last-k", "full"):
        model = EEGPTDecoder(len(channels), RATES, 80, channels, "mV", finetune=scheme, **LARGE).to(device).train()
        opt = torch.optim.AdamW(model.param_groups(1e-4))

        def step(model=model, opt=opt) -> None:
            opt.zero_grad(set_to_none=True)
            model(batch).backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()

        flops = training_step_flops(lambda model=model: model(batch), model)["total"] / a.batch
        per_window = timed(step, a.repeats) / a.batch
        trainable = sum(q.numel() for q in model.parameters() if q.requires_grad)
        print(f"{scheme + ' (train step)':28s} {per_window * 1e3:8.1f} ms/window   {flops / 1e9:7.2f} GFLOP/window   "
              f"{trainable / 1e6:6.2f} M trainable   {per_window / infer_s:5.2f}× forward-only")
        if scheme == "full":
            full_rate = 1 / per_window
    print(f"eegpt_windows_per_s: {full_rate:.2f}")


if __name__ == "__main__":
    main()
