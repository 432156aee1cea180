"""Per-subject Zarr stores: written under a temporary name, renamed when complete, checked when opened.

Layout (``STORE_LAYOUT_VERSION``)::

    sub-XX.zarr/
      eeg/<rate>   (trial, channel, time) float32, volts, average reference, sample 0 = music onset
      audio        (trial, time) float32 at audio_rate, NaN where the trial has no usable audio
      envelope     (trial, time) float32 at envelope_rate (Daly's amplitude signal)
      mel          (trial, mel, frame) float32 natural-log power, frame k centred on k / mel_rate
      ratings      (trial, rating, time) float32 at envelope_rate (present when the dataset has FEELTRACE)
      aux/<rate>   (trial, channel, time) float32, volts: the ECG/EOG channels (attrs aux_channels), band-passed
                   like the EEG, for the artefact control (present when the recording has them)
      qc/psd_freqs, qc/psd_before, qc/psd_after   channel-mean PSD per run, for the summary figure
      attrs: layout_version, complete, dataset, subject, channels, units, rates, trials[...], bads, notes, qc,
             provenance (source files relative to the dataset root, config subset, package versions, git SHA)
      checksums.json   every chunk file's size and CRC-32, written last: the loader checks each chunk against it
                       the first time it reads it, so a missing, truncated or damaged chunk is an error, not data
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.core.sync import sync as zarr_sync

from eeg2music import STORE_LAYOUT_VERSION
from eeg2music.errors import InputError, write_failure

# Chunking for the training loader's access pattern: random windows of a few seconds across all channels of one
# trial. A chunk is one trial × all channels × a power-of-two stretch of time holding ~64 Ki values (~256 KiB):
# 2048 samples of 32-channel EEG (8 s at 256 Hz), 65536 audio samples (4 s at 16 kHz), 512 mel frames (80 bands).
# A 4 s window then touches 1–3 chunks and never another trial, and a whole-trial read (Daly's bi-LSTM) needs few
# requests. Smaller chunks make writing slow: Zarr spends ~1 ms per chunk.
# No compression: float EEG shrinks only ~9 % with LZ4 (measured on the synthetic study; audio 25 %, mel 46 %),
# while raw chunks can be memory-mapped by the loader (eeg2music.data.stores), which is what makes random windows
# as cheap as slicing an in-memory array (benchmarks/loader.py).
CHUNK_VALUES = 65536
MIN_TIME_CHUNK = 256


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    if len(shape) == 1:
        return shape
    per_step = int(np.prod(shape[1:-1])) if len(shape) > 2 else 1
    time = max(MIN_TIME_CHUNK, 1 << int(np.log2(max(CHUNK_VALUES // per_step, 1))))
    return (1, *shape[1:-1], min(time, shape[-1]))


class StoreWriter:
    """Write arrays into ``<path>.tmp-<pid>``; ``commit()`` marks the store complete and renames it into place."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.path.parent.glob(self.path.name + ".tmp-*"):  # left by a killed earlier attempt
            shutil.rmtree(stale, ignore_errors=True)
        self.tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
        self.root = zarr.open_group(str(self.tmp), mode="w", zarr_format=3)

    def array(self, name: str, data: np.ndarray) -> None:
        try:
            self.root.create_array(name, data=np.ascontiguousarray(data), chunks=_chunks(data.shape),
                                   compressors=None)
        except OSError as err:
            quiet_abandoned_writes()
            raise write_failure(self.path, err) from err

    def commit(self, attrs: dict[str, Any]) -> Path:
        """Mark complete, checksum and fsync every file, then rename into place (a store is whole or absent)."""
        try:
            self.root.attrs.update({**attrs, "layout_version": STORE_LAYOUT_VERSION, "complete": True})
            sums = sync_and_checksum(self.tmp)
            write_synced(self.tmp / CHECKSUMS, json.dumps({"algorithm": "crc32", "chunks": sums}).encode())
        except OSError as err:
            quiet_abandoned_writes()
            raise write_failure(self.path, err) from err
        old = None
        if self.path.exists():
            old = self.path.with_name(self.path.name + f".old-{os.getpid()}")
            self.path.rename(old)
        self.tmp.rename(self.path)
        sync_dir(self.path.parent)
        if old is not None:
            shutil.rmtree(old)
        return self.path

    def abort(self) -> None:
        """Remove the temporary store once no write into it is still running (see :func:`finish_abandoned_writes`)."""
        finish_abandoned_writes()
        shutil.rmtree(self.tmp, ignore_errors=True)


def finish_abandoned_writes() -> None:
    """Wait for the chunk writes Zarr abandoned when one of them was refused: they run on as tasks of Zarr's I/O loop,
    and one that lands after the temporary store is removed would create it again (seen once in CI, on a full disk)."""

    async def others() -> None:
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=60)

    zarr_sync(others())


def quiet_abandoned_writes() -> None:
    """Zarr writes a store's chunks as concurrent tasks; when one write is refused the others are abandoned, and
    asyncio reports each at exit ("Task was destroyed but it is pending", "Future exception was never retrieved",
    with tracebacks), how many depending on thread timing. The refused write is already reported in one line."""
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


CHECKSUMS = "checksums.json"


def is_chunk(rel: Path) -> bool:
    """Chunk files live under ``<array>/c/`` (Zarr v3 default key encoding); the rest is metadata."""
    return "c" in rel.parts[:-1] and rel.name != "zarr.json"


def sync_and_checksum(root: Path) -> dict[str, list[int]]:
    """fsync every file of a store and return each chunk file's [size, CRC-32] by path relative to the store."""
    sums = {}
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        with open(f, "rb") as fh:
            data = fh.read()
            os.fsync(fh.fileno())
        rel = f.relative_to(root)
        if is_chunk(rel):
            sums[rel.as_posix()] = [len(data), zlib.crc32(data)]
    for d in sorted({p.parent for p in root.rglob("*")} | {root}):
        sync_dir(d)
    return sums


def write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_store(path: Path) -> zarr.Group:
    """Open a finished store; refuse half-written or old-layout stores with a one-line error."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "store does not exist", "run the preprocess step (snakemake) for this subject first")
    try:
        group = zarr.open_group(str(path), mode="r")
    except (FileNotFoundError, ValueError) as err:
        raise InputError(path, f"not a Zarr store ({err})", "delete it and rerun preprocessing") from err
    attrs = group.attrs
    if not attrs.get("complete"):
        raise InputError(path, "store is incomplete (interrupted write)", "delete it and rerun preprocessing")
    version = attrs.get("layout_version")
    if version != STORE_LAYOUT_VERSION:
        raise InputError(path, f"store layout version {version}, this code reads {STORE_LAYOUT_VERSION}",
                         "rerun preprocessing (snakemake --forcerun preprocess) to rewrite it")
    return group
