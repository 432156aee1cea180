"""DDP on CPU: 2 gloo processes vs 1 process, same global batch, in one run.

Trains Daly's bi-LSTM (paper size, 32-channel EEG at 100 Hz, 4 s windows, global batch 16) through the engine's
``main`` started by ``python -m eeg2music.train`` with RANK/WORLD_SIZE/MASTER_* set, as torchrun or submitit would.
The single process may use every core (torch's default); each of the 2 DDP ranks gets half of them (the engine
divides the cores among local ranks). Also printed: one process pinned to one core, the share each rank gets, which
gives the data-parallel efficiency separately from how well one process already uses several cores.
Marginal time per step = (time for N₂ − time for N₁) / (N₂ − N₁).
Last line: ``ddp_speedup_2_procs: <1-process step time / 2-process step time>`` (target ≥ 1.7).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _study import training_study


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(world: int, config: Path, manifest: Path, run_dir: Path, steps: int, one_core: bool = False) -> float:
    port = free_port()
    t = time.perf_counter()
    procs = []
    for rank in range(world):
        env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
               "LOCAL_WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        pin = ["taskset", "-c", "0"] if one_core else []  # the per-rank share of a 2-rank run, for efficiency
        procs.append(subprocess.Popen([*pin, sys.executable, "-m", "eeg2music.train", str(config), "--run-dir",
                                       str(run_dir), "--manifest", str(manifest), "--set", f"max_steps={steps}"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError(f"training with world size {world} failed")
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", type=int, default=5)
    p.add_argument("--long", type=int, default=35)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        config, manifest = training_study(tmp, "ddp", ckpt_every=1000)
        per_step = {}
        for key, world, one_core in (("1", 1, False), ("2", 2, False), ("1-core", 1, True)):
            short = run(world, config, manifest, tmp / f"{key}s", a.short, one_core)
            long = run(world, config, manifest, tmp / f"{key}l", a.long, one_core)
            per_step[key] = (long - short) / (a.long - a.short)
    print(f"bi-LSTM 4x250, global batch 16 x 4 s, {len(os.sched_getaffinity(0))} CPU cores")
    print(f"1 process (all cores): {per_step['1'] * 1000:.0f} ms/step   2 gloo processes: {per_step['2'] * 1000:.0f} "
          f"ms/step   1 process on 1 core: {per_step['1-core'] * 1000:.0f} ms/step")
    print(f"data-parallel efficiency (vs one process on one core): {per_step['1-core'] / per_step['2'] / 2:.2f}")
    print(f"ddp_speedup_2_procs: {per_step['1'] / per_step['2']:.3f}")


if __name__ == "__main__":
    main()
