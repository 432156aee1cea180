"""The GPU check for the first GPU hour: each model at full size, a few hundred bf16 training steps on the card.

    srun -p <gpu partition> --gres=gpu:1 python benchmarks/gpu_check.py --out results/bcmi/budget/gpu_check.json

Prints step time, peak memory, samples/s and achieved TFLOP/s with its share of the card's peak, and writes them
as JSON for ``eeg2music budget --gpu-check`` (the workflow's budget rule reads ``results/<study>/budget/
gpu_check.json`` when it exists). Without a GPU it runs the CPU sizes for a few steps (``--size cpu --steps 3``).
About 3 minutes on one H100 for the six default models (each capped at ``--max-seconds``).

Last line: ``gpu_check: <mean utilisation of peak>`` (``nan`` when the device's peak is unknown).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
import yaml

from eeg2music.budget.cli import eeg_channel_names
from eeg2music.budget.gpu import check

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    gpu = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", type=Path, default=[REPO / c for c in cfg["budget"]["configs"]])
    p.add_argument("--size", default="full" if gpu else "cpu")
    p.add_argument("--steps", type=int, default=300 if gpu else 3)
    p.add_argument("--warmup", type=int, default=20 if gpu else 1)
    p.add_argument("--max-seconds", type=float, default=40.0, help="per model, after warm-up")
    p.add_argument("--peak-tflops", type=float, help="the device's peak (default: the card's, from its name)")
    p.add_argument("--dataset", default="ds002725", help="whose EEG channels the models read")
    p.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    a = p.parse_args(argv)
    result = check(a.configs, a.size, cfg["preprocess"], eeg_channel_names(a.dataset), a.steps, a.warmup,
                   a.max_seconds, a.peak_tflops)
    print(f"{result['device']}, peak {result['peak_tflops'] or '?'} TFLOP/s, torch {result['torch']}")
    print(f"{'experiment':22} {'params':>10} {'batch':>5} {'ms/step':>9} {'samples/s':>10} {'peak MiB':>9} "
          f"{'TFLOP/s':>8} {'of peak':>8}")
    for m in result["models"].values():
        mem = f"{m['peak_mem_mib']:.0f}" if m["peak_mem_mib"] is not None else "-"
        util = f"{m['utilisation']:.1%}" if m["utilisation"] is not None else "-"
        print(f"{m['experiment']:22} {m['parameters']:>10,} {m['batch_size']:>5} {m['step_s'] * 1e3:>9.1f} "
              f"{m['samples_per_s']:>10.1f} {mem:>9} {m['achieved_tflops']:>8.3f} {util:>8}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_name(a.out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(a.out)
    utils = [m["utilisation"] for m in result["models"].values() if m["utilisation"] is not None]
    print(f"gpu_check: {sum(utils) / len(utils) if utils else math.nan:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
