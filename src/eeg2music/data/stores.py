"""Store metadata and fast window reads.

Reading a few-second window through Zarr's API costs about a millisecond of async machinery per call, which would
make the loader the bottleneck of training. Stores are therefore written uncompressed (``eeg2music.store_writer``), and
:class:`WindowReader` memory-maps their chunk files directly, following the Zarr v3 spec (default chunk-key
encoding, ``bytes`` codec, C order, full-size edge chunks, absent chunk = fill value). Any array that does not fit
that description falls back to Zarr's own reads; the tests check both paths return the same values as Zarr.

Memory-mapping trusts the file system, so each chunk is checked the first time a reader maps it: against the
store's ``checksums.json`` (size and CRC-32 of every chunk written, see ``eeg2music.store_writer``), or at least against the
chunk size when an array has no checksums. A missing, truncated, oversized or damaged chunk is one line naming the
store, the array and the chunk; it is never read as zeros or garbage.
"""

from __future__ import annotations

import json
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from eeg2music.errors import InputError
from eeg2music.store_writer import CHECKSUMS, open_store

MAX_OPEN_CHUNKS = 512  # memory maps kept open per reader (per worker); pages belong to the OS cache, not the heap


@dataclass(frozen=True)
class StoreInfo:
    """What the loader and the splits need from a store's attrs (small and picklable)."""

    path: str
    dataset: str
    subject: str
    channels: tuple[str, ...]
    eeg_rates: tuple[int, ...]
    audio_rate: int
    envelope_rate: int
    mel_rate: int
    epoch_s: float
    trials: tuple[dict[str, Any], ...]
    rating_names: tuple[str, ...]
    arrays: tuple[str, ...]
    source_names: tuple[str, ...] = ()
    n_mels: int = 0
    aux_channels: tuple[str, ...] = ()  # ECG/EOG rows of aux/<rate>

    @classmethod
    def read(cls, path: str | Path) -> StoreInfo:
        g = open_store(Path(path))  # refuses missing, incomplete and old-layout stores with one line
        a = g.attrs
        aux = tuple(a.get("aux_channels", []))
        arrays = tuple(f"eeg/{r}" for r in a["eeg_rates"]) + tuple(f"aux/{r}" for r in a["eeg_rates"] if aux) + tuple(
            n for n in ("audio", "envelope", "mel", "ratings", "sources/100") if n in g)
        return cls(str(path), a["dataset"], a["subject"], tuple(a["channels"]), tuple(a["eeg_rates"]),
                   a["audio_rate"], a["envelope_rate"], a["mel_rate"], float(a["epoch_s"]), tuple(a["trials"]),
                   tuple(a.get("rating_names", [])), arrays, tuple(a.get("source_names", [])), int(a.get("n_mels", 0)),
                   aux)

    def inputs(self, array: str) -> tuple[str, ...]:
        """Names of the rows of ``array``: EEG channels, or Daly's source features."""
        return self.source_names if array == "sources" else self.channels


def store_checksums(array_path: Path) -> tuple[Path, dict[str, list[int]] | None]:
    """The store holding an array folder, and its chunk checksums (None for arrays written outside our writer)."""
    for root in (array_path.parent, array_path.parent.parent):
        if (root / CHECKSUMS).exists():
            return root, json.loads((root / CHECKSUMS).read_text())["chunks"]
    return array_path.parent, None


@dataclass
class WindowReader:
    """``read(trial, start, stop)`` → ``array[trial, ..., start:stop]`` for one (trial, ..., time) array."""

    path: str  # the array's folder, e.g. results/preprocess/x/sub-01.zarr/eeg/256
    _meta: dict[str, Any] = field(init=False, repr=False)
    _maps: OrderedDict = field(init=False, repr=False, default_factory=OrderedDict)
    _zarr: Any = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self.store, self.sums = store_checksums(Path(self.path))
        self.array = Path(self.path).relative_to(self.store).as_posix()
        meta = json.loads((Path(self.path) / "zarr.json").read_text())
        self.shape = tuple(meta["shape"])
        self.chunks = tuple(meta["chunk_grid"]["configuration"]["chunk_shape"])
        self.dtype = np.dtype(meta["data_type"]).newbyteorder("<")
        self.fill = meta.get("fill_value", 0)
        enc = meta.get("chunk_key_encoding", {})
        raw = [c["name"] for c in meta["codecs"]] == ["bytes"] and \
            meta["codecs"][0].get("configuration", {}).get("endian", "little") == "little"
        self.chunk_bytes = int(np.prod(self.chunks)) * self.dtype.itemsize
        whole_middle = self.chunks[0] == 1 and self.chunks[1:-1] == self.shape[1:-1]
        self.fast = (raw and whole_middle and enc.get("name") == "default"
                     and enc.get("configuration", {}).get("separator", "/") == "/")

    def __getstate__(self) -> dict[str, Any]:  # spawn-safe: maps and Zarr handles are reopened in each worker
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self._maps = OrderedDict()
        self._zarr = None
        self.__post_init__()

    def _chunk(self, trial: int, k: int) -> np.ndarray | None:
        key = (trial, k)
        m = self._maps.get(key)
        if m is None:
            parts = [str(trial), *["0"] * (len(self.shape) - 2), str(k)]
            f = Path(self.path, "c", *parts)
            if not self._verified(f, "/".join(parts)):
                return None  # never written: all fill value
            m = np.memmap(f, dtype=self.dtype, mode="r", shape=self.chunks[1:])
            self._maps[key] = m
            if len(self._maps) > MAX_OPEN_CHUNKS:
                self._maps.popitem(last=False)
        else:
            self._maps.move_to_end(key)
        return m

    def _verified(self, f: Path, key: str) -> bool:
        """Whether the chunk file exists, after checking it is the one the store's writer wrote."""
        expected = self.sums.get(f"{self.array}/c/{key}") if self.sums is not None else None
        if not f.exists():
            if expected is not None:
                raise self._damaged(key, "is missing")
            return False
        size = f.stat().st_size
        if expected is None and self.sums is not None:
            raise self._damaged(key, f"exists ({size} bytes) but the store's writer never wrote it")
        want = expected[0] if expected is not None else self.chunk_bytes
        if size != want:
            raise self._damaged(key, f"is {'truncated' if size < want else 'oversized'} ({size} of {want} bytes)")
        if expected is not None and zlib.crc32(f.read_bytes()) != expected[1]:
            raise self._damaged(key, "does not match its checksum (damaged on disk)")
        return True

    def _damaged(self, key: str, problem: str) -> InputError:
        return InputError(self.store, f"array {self.array}: chunk {key} {problem}",
                          "delete the store and rerun this subject's preprocessing (snakemake rebuilds it)")

    def read(self, trial: int, start: int, stop: int) -> np.ndarray:
        if not (0 <= start <= stop <= self.shape[-1] and 0 <= trial < self.shape[0]):
            raise IndexError(f"{self.path}: trial {trial} samples {start}:{stop} outside shape {self.shape}")
        if not self.fast:
            if self._zarr is None:
                self._zarr = zarr.open_array(self.path, mode="r")
            return np.asarray(self._zarr[trial, ..., start:stop])
        t = self.chunks[-1]
        out = np.empty((*self.shape[1:-1], stop - start), dtype=self.dtype.newbyteorder("="))
        pos = start
        while pos < stop:
            k = pos // t
            end = min(stop, (k + 1) * t)
            chunk = self._chunk(trial, k)
            if chunk is None:
                out[..., pos - start:end - start] = self.fill
            else:
                out[..., pos - start:end - start] = chunk[..., pos - k * t:end - k * t]
            pos = end
        return out
