"""The preprocessing DAG on the synthetic study with 2 cores vs 1, in one run.

Generates a synthetic study (default 6 subjects of the ds002722 layout, 2 runs × 4 trials × 20 s; not timed), then
times ``snakemake --cores 1`` and ``--cores 2`` building every subject's Zarr store from scratch (discover +
preprocess, Snakemake's own start-up included, as a user experiences it).
Last line: ``dag_speedup_2_cores: <time 1 core / time 2 cores>`` (target ≥ 1.8).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from eeg2music.synth.study import SynthConfig, write_study

REPO = Path(__file__).resolve().parents[1]


def run_dag(work: Path, cores: int, targets: list[str]) -> float:
    for d in ("results", "logs", ".snakemake"):
        shutil.rmtree(work / d, ignore_errors=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), *targets, "--cores", str(cores),
                    "--quiet"], cwd=work, env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subjects", type=int, default=6)
    p.add_argument("--repeats", type=int, default=1)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = write_study(SynthConfig(out=work / "data", styles=("ds002722",), n_subjects=a.subjects))[0]
        (work / "config/studies").mkdir(parents=True)
        cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())  # the defaults; the study is this one
        cfg |= {"study": "bench", "experiments": {},
                "datasets": {"bench": {"kind": "ds002722", "root": str(root), "trial_s": 20.0}}}
        (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
        (work / "config/studies/bench.yaml").write_text("study: bench\n")
        targets = [f"results/bench/preprocess/bench/sub-{s:02d}.zarr" for s in range(1, a.subjects + 1)]
        run_dag(work, 2, targets)  # warm-up: file cache, bytecode
        one, two = [], []
        for _ in range(a.repeats):
            one.append(run_dag(work, 1, targets))
            two.append(run_dag(work, 2, targets))
    t1, t2 = min(one), min(two)
    print(f"{a.subjects} subjects x 2 runs x 4 trials x 20 s (ds002722 layout)")
    print(f"1 core: {t1:.1f} s   2 cores: {t2:.1f} s   ({os.cpu_count()} CPUs on this machine)")
    print(f"dag_speedup_2_cores: {t1 / t2:.3f}")


if __name__ == "__main__":
    main()
