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


def setup() -> Dist:
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    local = int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        device, backend = torch.device("cuda", local), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
        # Several CPU ranks on one node must share its cores, or their thread pools fight and gloo's
        # all-reduce waits on starved peers.
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world if world > 1 else 1))
        cpus = len(os.sched_getaffinity(0))
        torch.set_num_threads(max(1, cpus // max(1, local_world)))
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
