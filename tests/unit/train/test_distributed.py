"""How many intra-op threads a CPU rank takes."""

from __future__ import annotations

import os

from eeg2music.train.distributed import cpu_threads


def test_a_lone_process_takes_its_jobs_threads_and_ranks_share_the_cores(monkeypatch):
    cpus = len(os.sched_getaffinity(0))
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    assert cpu_threads(1) == cpus  # no scheduler: every core it may use
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # a Snakemake job with threads: 1
    assert cpu_threads(1) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", str(cpus + 7))  # never more than the affinity mask allows
    assert cpu_threads(1) == cpus
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # torchrun's default for its ranks is not read
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert cpu_threads(2) == max(1, cpus // 2)


def test_a_slurm_task_takes_no_more_than_its_cpus_where_the_mask_is_the_whole_node(monkeypatch):
    """A SLURM without task affinity (the tests' local one) leaves every core in the mask: the job's CPUs per task
    cap the threads, for a lone process and for ranks sharing them."""
    cpus = len(os.sched_getaffinity(0))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert cpu_threads(1) == 1
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", str(cpus + 3))  # never more than the mask
    assert cpu_threads(1) == cpus
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert cpu_threads(2) == max(1, min(cpus, 4) // 2)
