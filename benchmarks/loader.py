"""Loader speed: random 4 s × 32-channel windows at 256 Hz, batch 64, with 0 and 2 workers, from the Zarr stores
vs the same sampling from in-memory numpy arrays, in one run.

Both sides are the same ``WindowDataset`` (same index, same channel mapping, same item dict, same DataLoader);
only the array reads differ: memory-mapped store chunks vs slices of arrays loaded whole beforehand. The stores are
hot in the page cache (just written), as they are from the second epoch on; a first epoch on a cold cluster
file system also pays the disk.
Last line: ``loader_vs_inmemory: <windows/s from Zarr ÷ windows/s in memory>``, the lower of the two worker
settings (target ≥ 0.5).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import zarr
from torch.utils.data import DataLoader

from eeg2music.data.dataset import WindowDataset
from eeg2music.data.splits import make_split
from eeg2music.data.stores import StoreInfo
from eeg2music.data.windows import WindowConfig
from eeg2music.preprocess.eeg import EegConfig
from eeg2music.preprocess.subject import PreprocessConfig, run_subject
from eeg2music.synth.study import SynthConfig, write_study

CFG = PreprocessConfig(EegConfig(0.5, 40.0, 50.0, (256,), 5.0, 0.1, 0.25), 16000, 100, 100, 80, 0.5)


class InMemoryReader:
    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def read(self, trial: int, start: int, stop: int) -> np.ndarray:
        return self.array[trial, ..., start:stop]


class InMemoryWindows(WindowDataset):
    """The same dataset with every array loaded whole into memory first (the baseline)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._memory = {(s, "eeg/256"): InMemoryReader(zarr.open_array(str(Path(s) / "eeg/256"), mode="r")[:])
                        for s in self.stores}

    def _reader(self, store: str, array: str):
        return self._memory[(store, array)]

    def __getstate__(self):
        return self.__dict__.copy()


def throughput(ds, workers: int, batches: int, seed: int) -> float:
    import torch

    g = torch.Generator().manual_seed(seed)
    loader = DataLoader(ds, batch_size=64, shuffle=True, num_workers=workers, generator=g,
                        persistent_workers=False, multiprocessing_context="fork" if workers else None)
    n, t = 0, None
    for i, batch in enumerate(loader):
        if i == 2:  # after worker start-up and first touches
            t, n = time.perf_counter(), 0
        n += batch["eeg"].shape[0]
        if i == batches + 2:
            break
    return n / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subjects", type=int, default=4)
    p.add_argument("--batches", type=int, default=60)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = write_study(SynthConfig(out=tmp / "data", styles=("ds002722",), n_subjects=a.subjects))[0]
        stores = [run_subject(kind="ds002722", dataset="bench", root=root, subject=f"{s:02d}",
                              out=tmp / f"sub-{s:02d}.zarr", cfg=CFG, trial_s=20.0)
                  for s in range(1, a.subjects + 1)]
        manifest = make_split([StoreInfo.read(s) for s in stores], "random-trial", val=0.0, test=0.0)
        cfg = WindowConfig(window_s=4.0, hop_s=1 / 256 * 16, rate=256, targets=())  # a window every 62.5 ms
        zarr_ds = WindowDataset(manifest, "train", cfg)
        mem_ds = InMemoryWindows(manifest, "train", cfg)
        hours = sum(e.stop_s - e.start_s for e in zarr_ds.entries) / 3600
        print(f"{len(zarr_ds)} candidate windows over {hours:.2f} h of 32-channel EEG at 256 Hz")
        ratios = []
        for workers in (0, 2):
            zr = min(throughput(zarr_ds, workers, a.batches, s) for s in (0, 1))
            mr = min(throughput(mem_ds, workers, a.batches, s) for s in (0, 1))
            ratios.append(zr / mr)
            print(f"workers={workers}: zarr {zr:,.0f} windows/s, in-memory {mr:,.0f} windows/s, ratio {zr / mr:.3f}")
    print(f"loader_vs_inmemory: {min(ratios):.3f}")


if __name__ == "__main__":
    main()
