"""Device and process-group set-up from RANK / LOCAL_RANK / WORLD_SIZE, so one ``main`` runs alone, under torchrun
and under submitit. CUDA gets NCCL and bf16 autocast; CPU gets gloo and fp32."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """bf16 on GPUs that support it (A100/H100); None means full fp32."""
        if self.device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return None

    def autocast(self):
        dtype = self.autocast_dtype
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)


def cpu_threads(world: int) -> int:
    """Intra-op threads for one CPU rank, within the cores it may run on (SLURM's allocation is the affinity mask).
    A lone process takes the threads its job was given: Snakemake puts them in OMP_NUM_THREADS (the local profile
    runs 1-thread jobs side by side, 1.5x the throughput of 2-thread jobs in turn on 2 cores). Several ranks on one
    node share its cores, or their thread pools fight and gloo's all-reduce waits on starved peers (torchrun's
    OMP_NUM_THREADS=1 would leave cores idle, so it is not read). Where SLURM sets no task affinity (the tests' local
    SLURM) the mask is the whole node, so SLURM_CPUS_PER_TASK caps it."""
    cpus = len(os.sched_getaffinity(0))
    allotted = os.environ.get("SLURM_CPUS_PER_TASK", "")  # a SLURM without task affinity leaves the mask whole
    if allotted.isdigit() and int(allotted) > 0:
        cpus = min(cpus, int(allotted))
    given = os.environ.get("OMP_NUM_THREADS", "")
    if world == 1 and given.isdigit() and int(given) > 0:
        return min(int(given), cpus)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    return max(1, cpus // max(1, local_world))


def setup() -> Dist:
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    local = int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        device, backend = torch.device("cuda", local), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
        torch.set_num_threads(cpu_threads(world))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world)
    return Dist(rank, local, world, device)


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_gather_object(obj):
    if not dist.is_initialized():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any (a signal may reach the ranks a step apart)."""
    if not dist.is_initialized():
        return flag
    t = torch.tensor(int(flag), device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())
