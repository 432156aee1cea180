"""Tests on a real single-node SLURM (with accounting) started by tests/slurm/start_slurm.sh. Marked `slurm`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
import zarr

from ..conftest import REPO
from ..helpers import quick_start_config, write_config

pytestmark = pytest.mark.slurm
SCRIPTS = Path(__file__).parent
SLURM_DIR = Path(os.environ.get("SLURM_TEST_DIR", "/tmp/eeg2music-slurm"))


@pytest.fixture(scope="session")
def slurm():
    """The cluster (started here if it is not up yet); SLURM_CONF exported for this process and its children."""
    os.environ["SLURM_CONF"] = str(SLURM_DIR / "etc/slurm.conf")
    # On a fresh machine SLURM is not installed yet: start_slurm.sh installs it (Debian packages) and starts it.
    up = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True) if shutil.which("sinfo") else None
    started = False
    if up is None or up.returncode != 0 or "idle" not in up.stdout:
        proc = subprocess.run(["bash", str(SCRIPTS / "start_slurm.sh")], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        started = True
    yield SLURM_DIR
    if started:
        subprocess.run(["bash", str(SCRIPTS / "stop_slurm.sh")], timeout=120)


def env_with_venv() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def tiny_workdir(path: Path) -> Path:
    """A workflow directory for the data layer on a tiny synthetic study."""
    cfg = quick_start_config(REPO)
    cfg["synth"].update(n_subjects=2, n_runs=1, n_trials=2, trial_s=6.0)
    cfg["splits"]["folds"] = {"random-trial": 1}  # one run per subject: no cross-validation by run
    for d in cfg["datasets"].values():
        d["trial_s"] = 6.0
    cfg["preprocess"]["sources"] = False
    cfg["experiments"] = {}
    write_config(path, cfg)
    shutil.copytree(REPO / "cluster", path / "cluster")
    return path


def test_preprocessing_dag_through_sbatch_equals_local(slurm, tmp_path):
    runs = {}
    for profile in ("local", "local-slurm"):
        work = tiny_workdir(tmp_path / profile)
        proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--profile",
                               f"cluster/{profile}", "results/synthetic/summary/summary.tsv"], cwd=work,
                              env=env_with_venv(), capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[profile] = work
    # synth (2), discover (2), preprocess (4) and summary went through sbatch (the plugin deletes the SLURM logs of
    # successful jobs, so count its submissions and ask the accounting database)
    smk_log = next((runs["local-slurm"] / ".snakemake/log").glob("*.log")).read_text()
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", smk_log)
    assert len(job_ids) == 9
    sacct = subprocess.run(["sacct", "-X", "-n", "-j", ",".join(job_ids), "-o", "State"], capture_output=True,
                           text=True, check=True).stdout.split()
    assert sacct.count("COMPLETED") == 9
    stores = sorted(p.relative_to(runs["local"])
                    for p in (runs["local"] / "results/synthetic/preprocess").glob("*/*.zarr"))
    assert len(stores) == 4
    for rel in stores:
        a, b = zarr.open_group(str(runs["local"] / rel), mode="r"), zarr.open_group(str(runs["local-slurm"] / rel),
                                                                                    mode="r")
        for name in ("eeg/256", "eeg/100", "audio", "envelope", "mel"):
            np.testing.assert_array_equal(a[name][:], b[name][:])


@pytest.fixture(scope="module")
def manifest(tmp_path_factory, pre_cfg_module):
    from ..integration.test_training import build_study

    return build_study(tmp_path_factory.mktemp("slurm_study"), 0.1, pre_cfg_module)[0]


@pytest.fixture(scope="module")
def pre_cfg_module():
    from eeg2music.preprocess.subject import build_parser, config_from_args

    from ..conftest import PRE_ARGS

    return config_from_args(build_parser().parse_args(["--kind", "x", "--dataset", "x", "--root", ".", "--subject",
                                                       "01", "--out", "x", *PRE_ARGS]))


def experiment(path: Path, **changes) -> Path:
    from ..integration.test_training import write_config

    return write_config(path, **changes)


def launch(config: Path, run_dir: Path, manifest: Path, gpus: int = 1, *extra: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "eeg2music.launch", str(config), "--site", "local-slurm", "--gpus",
                           str(gpus), "--run-dir", str(run_dir), "--manifest", str(manifest), *extra],
                          capture_output=True, text=True, env=env_with_venv(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return re.search(r"submitted job (\d+)", proc.stdout).group(1)


def wait_final(run_dir: Path, timeout: float = 600) -> None:
    deadline = time.time() + timeout
    while not (run_dir / "final.pt").exists():
        assert time.time() < deadline, f"no final.pt in {run_dir} after {timeout} s"
        time.sleep(1)


def reference(config: Path, manifest: Path, run_dir: Path) -> dict:
    from eeg2music.train.config import load_config
    from eeg2music.train.engine import main

    main(load_config(config, {"data.manifest": str(manifest), "run_dir": str(run_dir)}))
    return torch.load(run_dir / "final.pt", weights_only=False)["model"]


def test_two_task_ddp_job_matches_one_process(slurm, manifest, tmp_path):
    config = experiment(tmp_path / "c.yaml", max_steps=20, ckpt_every=10)
    launch(config, tmp_path / "ddp", manifest, gpus=2)
    wait_final(tmp_path / "ddp")
    ddp = torch.load(tmp_path / "ddp/final.pt", weights_only=False)["model"]
    one = reference(config, manifest, tmp_path / "one")
    for k in one:  # same global batches, averaged gradients: equal up to float summation order
        torch.testing.assert_close(ddp[k], one[k], rtol=1e-4, atol=1e-5)


def test_requeue_mid_training_resumes_from_checkpoint(slurm, manifest, tmp_path):
    config = experiment(tmp_path / "c.yaml", max_steps=150, ckpt_every=10, deterministic=True)
    run = tmp_path / "run"
    job = launch(config, run, manifest)
    deadline = time.time() + 300
    while len(list(run.glob("ckpt-*.pt"))) < 2:
        assert time.time() < deadline
        time.sleep(0.2)
    subprocess.run(["scontrol", "requeue", job], check=True)
    wait_final(run)
    log = (run / "train.log").read_text()
    resumed = [int(s) for s in re.findall(r"resumed from \S+ at step (\d+)", log)]
    assert resumed and resumed[0] > 0, log
    assert "exiting for requeue" in log or resumed[0] % 10 == 0  # from the signal checkpoint or a periodic one
    ref = reference(config, manifest, tmp_path / "ref")
    final = torch.load(run / "final.pt", weights_only=False)["model"]
    assert all(torch.equal(final[k], ref[k]) for k in ref)


ENDED = {"COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}


def job_story(job: str, run: Path) -> str:
    """What SLURM, submitit and the run say about a job: the message of a failed wait."""
    sacct = subprocess.run(["sacct", "-D", "-n", "-P", "-j", job, "-o", "JobID,State,Start,End,ExitCode"],
                           capture_output=True, text=True).stdout
    log = (run / "train.log").read_text() if (run / "train.log").exists() else "(no train.log)"
    submitit_logs = "".join(p.read_text() for p in sorted((run / "submitit").glob("*_log.*")))
    return f"sacct:\n{sacct}\ntrain.log:\n{log[-1500:]}\nsubmitit:\n{submitit_logs[-2500:]}"


def test_timeout_checkpoints_and_resubmits(slurm, manifest, tmp_path):
    """A 2-minute limit with the warning 15 s before (SLURM may send it up to a minute earlier): submitit calls
    checkpoint(), the job is requeued and resumes. Two minutes, not one: a signal that came while the run was still
    setting up on a loaded machine is taken at the first step, and with one minute SLURM's kill could come first."""
    site = yaml.safe_load((REPO / "cluster/local-slurm/submitit.yaml").read_text())
    assert site["signal_delay_s"] < 60
    config = experiment(tmp_path / "c.yaml", max_steps=100000, ckpt_every=25)
    run = tmp_path / "run"
    job = launch(config, run, manifest, 1, "--timeout-min", "2")
    deadline = time.time() + 480
    while True:
        log = (run / "train.log").read_text() if (run / "train.log").exists() else ""
        if re.search(r"resumed from \S+ at step [1-9]", log):
            break
        state = subprocess.run(["squeue", "-h", "-t", "all", "-j", job, "-o", "%T"], capture_output=True,
                               text=True).stdout.strip()
        assert state not in ENDED, f"job {job} ended ({state}) without resuming\n" + job_story(job, run)
        assert time.time() < deadline, job_story(job, run)
        time.sleep(2)
    submitit_logs = "".join(p.read_text() for p in (run / "submitit").glob("*_log.*"))
    assert "requeued" in submitit_logs.lower() or "checkpoint" in submitit_logs.lower(), submitit_logs[-2000:]
    subprocess.run(["scancel", "-n", "eeg2music-tiny"], check=False)


def train_cmd(config: Path, run: Path, manifest: Path, ranks: int) -> list[str]:
    """The train rule's command: one process, or torchrun passing the warning signal on to its ranks."""
    from eeg2music.train.slurm import TORCHRUN_SIGNALS

    launcher = [sys.executable, "-m"] if ranks == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(ranks),
        "--signals-to-handle", TORCHRUN_SIGNALS, "-m"]
    return [*launcher, "eeg2music.train", str(config), "--run-dir", str(run), "--manifest", str(manifest)]


def sbatch_training(cmd: list[str], run: Path) -> str:
    """Submit as Snakemake's SLURM executor runs a rule: a batch job whose command is a job step (srun), so that
    SLURM's --signal (without B:) reaches the training processes."""
    run.mkdir(parents=True)
    proc = subprocess.run(["sbatch", "--parsable", "--requeue", "-p", "normal", "-A", "eeg2music-test", "-c", "2",
                           "--mem", "4000", "-t", "10", "-J", "eeg2music-warned", "-o", str(run / "slurm-%j.out"),
                           "--wrap", "srun -n1 --cpu-bind=q " + shlex.join(cmd)],
                          capture_output=True, text=True, env=env_with_venv(), check=True)
    return proc.stdout.strip().split(";")[0]


@pytest.mark.parametrize("ranks", [1, 2], ids=["one-process", "torchrun-2-ranks"])
def test_warning_signal_checkpoints_requeues_and_resumes_bit_identically(slurm, manifest, tmp_path, ranks):
    """SLURM's warning before the time limit (the profile's --signal=USR2@600, sent here as soon as the first
    checkpoint is on disk): the job checkpoints, puts itself back in the queue with the same id, runs again from
    that checkpoint and ends with the weights and random states of an uninterrupted run (dropout on)."""
    config = experiment(tmp_path / "c.yaml", max_steps=400, ckpt_every=10, **{"model.dropout": 0.3})
    run = tmp_path / "run"
    job = sbatch_training(train_cmd(config, run, manifest, ranks), run)
    deadline = time.time() + 300
    while not list(run.glob("ckpt-*.pt")):
        assert time.time() < deadline, "no checkpoint"
        time.sleep(0.05)
    subprocess.run(["scancel", "--signal=USR2", job], check=True)
    wait_final(run)
    log = (run / "train.log").read_text()
    stopped = int(re.search(r"stop signal \([^)]*\): checkpointed at step (\d+)", log).group(1))
    assert f"requeued SLURM job {job}" in log and stopped < 400
    assert int(re.search(r"resumed from \S+ at step (\d+)", log).group(1)) == stopped
    states = subprocess.run(["sacct", "-X", "-D", "-n", "-j", job, "-o", "State"], capture_output=True, text=True,
                            check=True).stdout.split()
    deadline = time.time() + 60
    while "COMPLETED" not in states and time.time() < deadline:  # final.pt is written before the job ends
        time.sleep(1)
        states = subprocess.run(["sacct", "-X", "-D", "-n", "-j", job, "-o", "State"], capture_output=True,
                                text=True, check=True).stdout.split()
    assert states[0] == "REQUEUED" and states[-1] == "COMPLETED", states
    ref = subprocess.run(train_cmd(config, tmp_path / "ref", manifest, ranks), capture_output=True, text=True,
                         env=env_with_venv(), timeout=600)
    assert ref.returncode == 0, ref.stderr[-3000:]
    a = torch.load(tmp_path / "ref/final.pt", weights_only=False)["model"]
    b = torch.load(run / "final.pt", weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    last = f"ckpt-{400:08d}.pt"
    rngs_a = torch.load(tmp_path / "ref" / last, weights_only=False)["rng"]
    rngs_b = torch.load(run / last, weights_only=False)["rng"]
    assert len(rngs_a) == len(rngs_b) == ranks
    assert all(torch.equal(x["torch"], y["torch"]) for x, y in zip(rngs_a, rngs_b, strict=True))


def test_resume_refuses_another_experiments_run_dir(tmp_path, manifest):
    from eeg2music.errors import InputError
    from eeg2music.launch import resume

    run = tmp_path / "run"
    run.mkdir()
    (run / "launch.json").write_text('{"config": "x.yaml", "experiment": "tiny", "site": "local", "gpus": 1, '
                                     '"nodes": 1, "overrides": {}, "jobs": []}')
    other = experiment(tmp_path / "other.yaml", experiment="another")
    with pytest.raises(InputError, match="belongs to experiment 'tiny', not 'another'"):
        resume(run, other)
