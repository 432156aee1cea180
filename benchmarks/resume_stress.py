"""Kill training at random moments, resume it, and check the final weights and RNG states are bit-identical.

For each of ``--trials`` runs (default 20): start a training run, SIGKILL it once or twice (alternately at a
random moment or the instant a checkpoint's temporary file appears, so some kills land mid-write), resume it
to the end, and compare with an uninterrupted run of the same config: every tensor of ``final.pt`` and the
torch/numpy/python RNG states of the last checkpoint. Two models that draw random numbers every step alternate:
the tiny bi-LSTM with dropout 0.3 and the tiny DiffWave vocoder (noise and diffusion step every batch), both in the
default (non-deterministic) mode. Two busy processes load both cores throughout the kills.

    python benchmarks/resume_stress.py [--trials 20]

Last line: ``resume_bit_identical: <k>/<trials>``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _study import training_study

CONFIGS = {
    "bilstm_dropout": """
experiment: stress_bilstm
model: {name: daly_bilstm, hidden: 24, layers: 2, dropout: 0.3}
data: {window_s: 4.0, hop_s: 1.0, rate: 100, targets: [envelope], random_offset: true}
optim: {lr: 0.003, warmup_steps: 5}
batch_size: 8
max_steps: 40
ckpt_every: 3
log_every: 5
""",
    "diffwave_tiny": """
experiment: stress_diffwave
model: {name: diffwave, conditioning: mel, layers: 4, channels: 16, cycle: 2, cond_dim: 16, audio_gain: 8.0}
data: {window_s: 0.5, hop_s: 0.25, rate: 100, audio_rate: 2000, targets: [audio, mel], random_offset: true}
optim: {lr: 0.002, warmup_steps: 5}
batch_size: 8
max_steps: 40
ckpt_every: 3
log_every: 5
""",
}


def command(config: Path, run_dir: Path, manifest: Path) -> list[str]:
    return [sys.executable, "-m", "eeg2music.train", str(config), "--run-dir", str(run_dir), "--manifest",
            str(manifest)]


def train(config: Path, run_dir: Path, manifest: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(command(config, run_dir, manifest), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"training failed: {proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def fresh_tmp(run_dir: Path, since: float) -> bool:
    """A checkpoint being written by this process (stale temporaries of an earlier kill are older)."""
    return any(p.stat().st_mtime >= since for p in run_dir.glob("ckpt-*.tmp"))


def kill_once(config: Path, run_dir: Path, manifest: Path, duration: float, mid_write: bool) -> str:
    """Start (or resume) the run and SIGKILL it after a random delay, or at the first checkpoint write after it."""
    started = time.time()
    proc = subprocess.Popen(command(config, run_dir, manifest), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    earliest = time.perf_counter() + random.uniform(0.1, 0.8) * duration
    while proc.poll() is None:
        due = time.perf_counter() >= earliest
        if due and (not mid_write or fresh_tmp(run_dir, started)):
            break
        time.sleep(0.0005 if due else 0.01)
    if proc.poll() is not None:
        return "finished first"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return "mid-write" if fresh_tmp(run_dir, started) else "between writes"


def newest_checkpoint(run_dir: Path) -> dict:
    return torch.load(max(run_dir.glob("ckpt-*.pt")), map_location="cpu", weights_only=False)


def same_rng(a: dict, b: dict) -> bool:
    return (torch.equal(a["torch"], b["torch"]) and a["python"] == b["python"]
            and all((x == y).all() if hasattr(x, "all") else x == y for x, y in zip(a["numpy"], b["numpy"],
                                                                                    strict=True)))


def identical(ref: Path, run: Path) -> tuple[bool, bool]:
    a = torch.load(ref / "final.pt", weights_only=False)["model"]
    b = torch.load(run / "final.pt", weights_only=False)["model"]
    weights = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rng = same_rng(newest_checkpoint(ref)["rng"][0], newest_checkpoint(run)["rng"][0])
    return weights, rng


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    random.seed(a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _, manifest = training_study(tmp, "stress", 4)
        configs, refs, durations = {}, {}, {}
        for name, text in CONFIGS.items():
            configs[name] = tmp / f"{name}.yaml"
            configs[name].write_text(text)
            refs[name] = tmp / f"ref-{name}"
            durations[name] = train(configs[name], refs[name], manifest)
            print(f"{name}: uninterrupted run {durations[name]:.1f} s")
        load = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
        ok = 0
        try:
            print(f"{'trial':>5} {'model':<15} {'kills':<40} {'weights':>8} {'rng':>5}")
            for trial in range(a.trials):
                name = list(CONFIGS)[trial % len(CONFIGS)]
                run = tmp / f"trial-{trial}"
                kills, budget = [], 2 * durations[name]  # the load roughly halves the speed
                while len(kills) < 1 + trial % 2:
                    hit = kill_once(configs[name], run, manifest, budget, mid_write=(trial + len(kills)) % 2 == 0)
                    if hit == "finished first":
                        if kills:
                            break
                        shutil.rmtree(run)  # too late to kill: start the trial again, killing sooner
                        budget /= 2
                        continue
                    kills.append(hit)
                train(configs[name], run, manifest)
                weights, rng = identical(refs[name], run)
                ok += bool(kills) and weights and rng
                print(f"{trial:>5} {name:<15} {', '.join(kills) or 'none (finished first)':<40} "
                      f"{'same' if weights else 'DIFFER':>8} {'same' if rng else 'DIFFER':>5}", flush=True)
        finally:
            for proc in load:
                proc.kill()
    print(f"resume_bit_identical: {ok}/{a.trials}")


if __name__ == "__main__":
    main()
