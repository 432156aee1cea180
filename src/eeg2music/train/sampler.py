"""Deterministic, resumable, distributed batches.

Epoch ``e`` shuffles the windows with ``(seed, e)``; global batch ``k`` is the slice ``[k·B, (k+1)·B)`` of that
order and rank ``r`` of ``W`` takes its ``r``-th ``B/W`` share. So a 2-rank run sees exactly the global batches of a
1-rank run, and a resumed run continues with the batch after the checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

from eeg2music.errors import InputError


class EpochBatches(Sampler[list[int]]):
    def __init__(self, n: int, global_batch: int, world: int, rank: int, seed: int, epoch: int, start: int = 0):
        if global_batch % world:
            raise InputError(None, f"batch_size {global_batch} does not split over {world} ranks",
                             "use a multiple of the number of GPUs")
        if n < global_batch:
            raise InputError(None, f"{n} training windows are fewer than one batch of {global_batch}",
                             "lower batch_size or the window hop")
        self.n, self.b, self.world, self.rank = n, global_batch, world, rank
        self.seed, self.epoch, self.start = seed, epoch, start

    @staticmethod
    def steps_per_epoch(n: int, global_batch: int) -> int:
        return n // global_batch

    def __len__(self) -> int:
        return self.steps_per_epoch(self.n, self.b) - self.start

    def __iter__(self) -> Iterator[list[int]]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.n, generator=g).tolist()
        share = self.b // self.world
        for k in range(self.start, self.steps_per_epoch(self.n, self.b)):
            batch = order[k * self.b:(k + 1) * self.b]
            yield batch[self.rank * share:(self.rank + 1) * share]
