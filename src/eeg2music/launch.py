"""Launch a training run on a cluster with submitit: one task per GPU, DDP inside ``train.engine.main``.

    python -m eeg2music.launch config/train/bilstm_daly.yaml --site wcss --gpus 4 --nodes 1 --run-dir DIR \
        --manifest results/bcmi/splits/cv-by-run/fold-0.json

A CPU-size run names the overlay instead (config/train/cpu/bilstm_daly.yaml).

Site settings (partition, account, time, memory, container image) come from ``cluster/<site>/submitit.yaml``.
The job is :class:`Trainer`, a submitit ``Checkpointable``: on time-out or preemption submitit calls
``checkpoint()``, which resubmits the same job; the engine resumes from the newest checkpoint in the run directory,
so every resubmission continues the same run. ``eeg2music resume DIR`` resubmits a preempted or failed run by hand.

Why not from Snakemake: the SLURM executor plugin already makes each training rule a SLURM job, and a scheduler
nested inside a scheduled job is fragile (the plugin warns against it). So Snakemake's ``train`` rule runs the engine
directly (``torchrun`` inside the allocation for several GPUs on one node), and this launcher is for runs started by
hand: multi-node jobs, long runs that live through many preemptions, sweeps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import submitit
import yaml

from eeg2music.errors import InputError, one_line_errors

SITES = ("wcss", "local-slurm", "local", "debug")
REPO = Path(__file__).resolve().parents[2]


class Trainer(submitit.helpers.Checkpointable):
    """The submitted callable: exports the distributed environment, then runs the engine's ``main``."""

    def __init__(self, config: str, overrides: dict[str, Any]) -> None:
        self.config = config
        self.overrides = overrides

    def __call__(self) -> str:
        env = submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
        os.environ.setdefault("LOCAL_RANK", str(env.local_rank))
        from eeg2music.train.config import load_config  # lazily: the submitting process needs no torch
        from eeg2music.train.engine import main

        return str(main(load_config(self.config, self.overrides)))

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        """Time-out or preemption: resubmit; the engine resumes from its newest checkpoint."""
        return submitit.helpers.DelayedSubmission(Trainer(self.config, self.overrides))


def site_settings(site: str, repo: Path = REPO) -> dict[str, Any]:
    if site not in SITES:
        raise InputError(None, f"unknown site {site!r}", f"use one of {', '.join(SITES)}")
    path = repo / "cluster" / site / "submitit.yaml"
    if not path.exists():
        return {}
    from eeg2music.config import check_profile

    check_profile(path)
    return yaml.safe_load(path.read_text()) or {}


def make_executor(site: str, folder: Path, gpus: int, nodes: int, settings: dict[str, Any]):
    cluster = {"wcss": "slurm", "local-slurm": "slurm", "local": "local", "debug": "debug"}[site]
    image = settings.get("container_image")
    python = f"apptainer exec --nv {image} python" if image else None
    init: dict[str, Any] = {}
    if cluster == "slurm":
        init["slurm_max_num_timeout"] = settings.get("max_resubmissions", 20)
        if python:
            init["slurm_python"] = python
    ex = submitit.AutoExecutor(folder=folder, cluster=cluster, **init)
    tasks = max(gpus, 1)
    params: dict[str, Any] = {"timeout_min": settings.get("timeout_min", 60), "nodes": nodes,
                              "tasks_per_node": tasks}
    if cluster == "slurm":
        params |= {"slurm_partition": settings.get("partition"), "slurm_account": settings.get("account"),
                   "slurm_mem_per_cpu": settings.get("mem_per_cpu_mb"),
                   "cpus_per_task": settings.get("cpus_per_task", 1),
                   "slurm_signal_delay_s": settings.get("signal_delay_s", 120),
                   # append: a requeued job keeps writing the same log files instead of truncating them
                   "slurm_additional_parameters": {"open-mode": "append",
                                                   **(settings.get("additional_parameters") or {})}}
        if settings.get("gpus", True) and gpus > 0 and site == "wcss":
            params["slurm_gpus_per_node"] = gpus
        params = {k: v for k, v in params.items() if v is not None}
    ex.update_parameters(**params)
    return ex


def submit(config: Path, site: str, gpus: int, nodes: int, run_dir: Path, overrides: dict[str, Any] | None = None,
           snapshot: bool = True, timeout_min: int | None = None) -> submitit.Job:
    from eeg2music.train.config import load_config

    cfg = load_config(config, {**(overrides or {}), "run_dir": str(run_dir)})  # fails early on a bad config
    settings = site_settings(site)
    if timeout_min is not None:
        settings["timeout_min"] = timeout_min
    run_dir.mkdir(parents=True, exist_ok=True)
    folder = run_dir / "submitit"
    overrides = {**(overrides or {}), "run_dir": str(run_dir.resolve())}
    if not cfg.data.manifest:
        raise InputError(config, "no split to train on (data.manifest is empty)",
                         "pass --manifest results/<study>/splits/<protocol>/fold-<k>.json")
    manifest = Path(cfg.data.manifest)
    if not manifest.is_absolute():
        overrides["data.manifest"] = str(manifest.resolve())
    trainer = Trainer(str(config.resolve()), overrides)
    executor = make_executor(site, folder, gpus, nodes, settings)
    executor.update_parameters(name=f"eeg2music-{cfg.experiment}")
    if snapshot and site in ("wcss", "local-slurm") and (REPO / ".git").exists():
        # Run the code as it was at submission, even if the checkout changes while the job waits in the queue:
        # a copy of the tracked files, first on the job's PYTHONPATH (an editable install points at the checkout).
        code = (run_dir / "code").resolve()
        executor.update_parameters(slurm_setup=[f"export PYTHONPATH={code / 'src'}:${{PYTHONPATH:-}}"])
        with submitit.helpers.RsyncSnapshot(snapshot_dir=code, root_dir=REPO):
            job = executor.submit(trainer)
    else:
        job = executor.submit(trainer)
    record = {"config": str(config.resolve()), "experiment": cfg.experiment, "site": site, "gpus": gpus,
              "nodes": nodes, "overrides": overrides, "timeout_min": settings.get("timeout_min"), "jobs": [job.job_id]}
    previous = run_dir / "launch.json"
    if previous.exists():
        record["jobs"] = json.loads(previous.read_text())["jobs"] + record["jobs"]
    previous.write_text(json.dumps(record, indent=1))
    return job


def resume(run_dir: Path, config: Path | None = None) -> submitit.Job:
    """Resubmit a preempted or failed run with its recorded settings; refuse another experiment's run directory."""
    launch = run_dir / "launch.json"
    if not launch.exists():
        raise InputError(launch, "not a launched run directory", "start runs with python -m eeg2music.launch")
    record = json.loads(launch.read_text())
    saved = run_dir / "config.yaml"
    experiment = yaml.safe_load(saved.read_text())["experiment"] if saved.exists() else record["experiment"]
    if config is not None:
        from eeg2music.train.config import load_config

        wanted = load_config(config).experiment
        if wanted != experiment:
            raise InputError(run_dir, f"run directory belongs to experiment {experiment!r}, not {wanted!r}",
                             "pass the run directory of this experiment, or a fresh --run-dir")
    return submit(Path(config or record["config"]), record["site"], record["gpus"], record["nodes"], run_dir,
                  {k: v for k, v in record["overrides"].items() if k != "run_dir"}, snapshot=True,
                  timeout_min=record.get("timeout_min"))


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.launch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", type=Path, help="config/train/<experiment>.yaml")
    p.add_argument("--site", choices=SITES, default="local")
    p.add_argument("--gpus", type=int, default=1, help="GPUs per node = tasks per node (processes on CPU sites)")
    p.add_argument("--nodes", type=int, default=1)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--manifest", type=Path, help="override data.manifest")
    p.add_argument("--timeout-min", type=int, help="job time limit (default: the site's)")
    p.add_argument("--wait", action="store_true", help="wait for the job and print its result")
    a = p.parse_args(argv)
    job = submit(a.config, a.site, a.gpus, a.nodes, a.run_dir,
                 {"data.manifest": str(a.manifest)} if a.manifest else None, timeout_min=a.timeout_min)
    print(f"submitted job {job.job_id}; logs in {a.run_dir / 'submitit'}")
    if a.wait:
        print(job.result())
    return 0


@one_line_errors
def resume_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music resume", description=resume.__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--config", type=Path, help="the experiment config (checked against the run directory)")
    a = p.parse_args(argv)
    job = resume(a.run_dir, a.config)
    print(f"resubmitted as job {job.job_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
