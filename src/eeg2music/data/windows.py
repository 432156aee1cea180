"""Windows of EEG with aligned music targets, over any set of stores named by a manifest, as numpy arrays.

The trained models read them as tensors through :class:`eeg2music.data.dataset.WindowDataset`; the linear decoder
reads them here, without importing torch (a second or more of each of its jobs).

A window starts at EEG sample ``s`` of a trial (time ``s / rate`` from the music onset) and spans ``window_s``; its
targets cover the same time at their own rates (sample ``round(t · r)``). Reads are lazy: the dataset holds
only small index arrays and opens memory maps per worker (fork and spawn both work). Nothing is loaded whole.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eeg2music.data.channel_map import harmonise
from eeg2music.data.splits import Manifest
from eeg2music.data.stores import StoreInfo, WindowReader
from eeg2music.errors import InputError
from eeg2music.preprocess.audio import resample

TARGETS = ("audio", "envelope", "mel", "ratings", "song")
LABELS = ("song",)  # targets that are a trial's label (its song's index among the manifest's songs), not an array
UNITS = {"V": 1.0, "mV": 1e3, "uV": 1e6}


@dataclass(frozen=True)
class WindowConfig:
    window_s: float = 4.0  # 0.1–10 s; EEGPT 4 s, the seed's basic model 0.1–1 s, Daly whole trials
    hop_s: float | None = None  # default: window_s (no overlap)
    rate: int = 256  # which EEG rate of the stores
    targets: tuple[str, ...] = ("audio", "envelope", "mel")
    channels: str = "intersection"  # or "eegpt", or "frontal" (with the ECG/EOG channels: the artefact control)
    random_offset: bool = False  # training: shift each window by up to one hop, new every epoch
    eeg_unit: str = "uV"
    whole_trial: bool = False  # Daly: one item per trial (window = the trial's span)
    eeg_array: str = "eeg"  # or "sources": Daly's ICA → eLORETA features (preprocess.sources)
    audio_rate: int | None = None  # resample the waveform target to this rate (default: the stores' rate)

    def __post_init__(self) -> None:
        if not self.whole_trial and not 0.1 <= self.window_s <= 10.0:
            raise InputError(None, f"window_s {self.window_s} is outside 0.1–10 s", "pick a window in range")
        if self.hop_s is not None and self.hop_s <= 0:
            raise InputError(None, f"hop_s {self.hop_s} must be positive", "pick a positive hop")
        bad = set(self.targets) - set(TARGETS)
        if bad:
            raise InputError(None, f"unknown targets {sorted(bad)}", f"choose from {', '.join(TARGETS)}")
        if self.eeg_array not in ("eeg", "sources"):
            raise InputError(None, f"unknown eeg_array {self.eeg_array!r}", "use eeg or sources")
        if self.eeg_unit not in UNITS:
            raise InputError(None, f"unknown eeg_unit {self.eeg_unit!r}", f"use one of {', '.join(UNITS)}")


@dataclass
class Windows:
    """Windows of one part ("train", "val", "test") of a split manifest; ``arrays(i)`` reads window ``i``."""

    manifest: Manifest
    part: str
    cfg: WindowConfig = field(default_factory=WindowConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        entries = self.manifest.part(self.part)
        needs_audio = bool(set(self.cfg.targets) & {"audio", "envelope", "mel"})
        if needs_audio:  # ambiguous / undistributed audio cannot be a target
            entries = [e for e in entries if e.audio_status == "ok"]
        if "song" in self.cfg.targets:  # a song label needs a known song
            entries = [e for e in entries if e.clip]
        if not entries:
            raise InputError(None, f"part {self.part!r} of the {self.manifest.protocol} split has no usable trials",
                             "check the manifest (eeg2music audit-split) and the targets")
        paths = sorted({e.store for e in self.manifest.entries})
        self.stores = {p: StoreInfo.read(p) for p in paths}
        # Ids over the whole manifest, so train and test agree on them.
        self.subject_ids = {k: i for i, k in enumerate(sorted({(s.dataset, s.subject) for s in self.stores.values()}))}
        self.dataset_ids = {k: i for i, k in enumerate(sorted({s.dataset for s in self.stores.values()}))}
        self.songs = sorted({e.clip for e in self.manifest.entries if e.clip})
        used = sorted({e.store for e in entries})
        self.eeg_key = f"{self.cfg.eeg_array}/{self.cfg.rate}"
        for p in used:
            if self.eeg_key not in self.stores[p].arrays:
                raise InputError(p, f"store has no {self.eeg_key} (has {self.stores[p].arrays})",
                                 "add the rate to preprocess.rates (and sources: true) and rerun preprocessing")
            missing = [t for t in self.cfg.targets if t not in LABELS and t not in self.stores[p].arrays]
            if missing:
                raise InputError(p, f"store has no {missing} arrays", "drop these targets or use other datasets")
        self.channel_map = harmonise({p: list(self.stores[p].inputs(self.cfg.eeg_array)) for p in used},
                                     self.cfg.channels)
        # The artefact control also reads the ECG/EOG channels (aux/<rate>) that every store of the manifest
        # recorded, so that train, val and test items have the same inputs.
        self.aux_names: tuple[str, ...] = ()
        if self.cfg.channels == "frontal" and self.cfg.eeg_array == "eeg":
            first = self.stores[paths[0]].aux_channels
            self.aux_names = tuple(c for c in first if all(c in self.stores[p].aux_channels for p in paths))
        self.aux_index = {p: np.array([self.stores[p].aux_channels.index(c) for c in self.aux_names], dtype=np.int64)
                          for p in paths}
        self.entries = entries
        r = self.cfg.rate
        starts, owners, lengths = [], [], []
        shortest = min(entries, key=lambda e: e.stop_s - e.start_s)
        for i, e in enumerate(entries):
            first, last = round(e.start_s * r), round(e.stop_s * r)
            n = last - first if self.cfg.whole_trial else round(self.cfg.window_s * r)
            if n > last - first:
                raise InputError(e.store, f"window of {self.cfg.window_s} s is longer than trial {e.trial} "
                                 f"({e.stop_s - e.start_s:g} s; shortest in this part: {shortest.stop_s - shortest.start_s:g} s)",
                                 "use a shorter window_s")
            hop = n if self.cfg.whole_trial else round((self.cfg.hop_s or self.cfg.window_s) * r)
            s = np.arange(first, last - n + 1, max(hop, 1))
            starts.append(s)
            owners.append(np.full(s.size, i))
            lengths.append(np.full(s.size, n))
        self.starts = np.concatenate(starts)
        self.owners = np.concatenate(owners)
        self.lengths = np.concatenate(lengths)
        self.offsets = np.zeros(self.starts.size, dtype=np.int64)
        self._readers: dict[tuple[str, str], WindowReader] = {}

    def data_info(self) -> dict[str, Any]:
        """Rates (Hz) of the EEG and of each target as this dataset delivers them, the mel size, the input channel
        names and the EEG unit (foundation models check both against their pretraining), and the manifest's songs
        (a song classifier's classes, in the order of the ``song`` label)."""
        info = self.stores[self.entries[0].store]
        return {"rates": {"eeg": self.cfg.rate, "audio": self.cfg.audio_rate or info.audio_rate,
                          "envelope": info.envelope_rate, "mel": info.mel_rate},
                "n_mels": info.n_mels, "channels": [*self.channel_map.names, *self.aux_names],
                "eeg_unit": self.cfg.eeg_unit, "songs": self.songs}

    def audio_rms(self, max_windows: int = 256) -> float:
        """RMS of the waveform target over up to ``max_windows`` evenly spaced windows (at the model's audio rate):
        what ``audio_gain: auto`` scales to. Silent windows count, as they do in training."""
        picks = np.unique(np.linspace(0, len(self) - 1, num=min(max_windows, len(self))).round().astype(int))
        squares = [np.square(self.arrays(int(i))["audio"], dtype=np.float64) for i in picks]
        return math.sqrt(float(np.mean(np.concatenate(squares))))

    def __len__(self) -> int:
        return int(self.starts.size)

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's random offsets (reproducible from seed and epoch; call before making the loader)."""
        if not self.cfg.random_offset or self.cfg.whole_trial:
            return
        r = self.cfg.rate
        hop = round((self.cfg.hop_s or self.cfg.window_s) * r)
        room = np.array([round(self.entries[o].stop_s * r) for o in self.owners]) - self.starts - self.lengths
        rng = np.random.default_rng([self.seed, epoch])
        self.offsets = np.minimum(rng.integers(0, max(hop, 1), size=self.starts.size), np.maximum(room, 0))

    def _reader(self, store: str, array: str) -> WindowReader:
        key = (store, array)
        if key not in self._readers:
            self._readers[key] = WindowReader(str(Path(store) / array))
        return self._readers[key]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_readers"] = {}  # workers open their own memory maps
        return state

    def arrays(self, idx: int) -> dict[str, Any]:
        """Window ``idx``: ``eeg`` (channels × time, float32), ``channel_mask``, each target's array (a label's
        index), the subject's and dataset's ids and ``meta`` (where the window comes from)."""
        e = self.entries[self.owners[idx]]
        r = self.cfg.rate
        start = int(self.starts[idx] + self.offsets[idx])
        n = int(self.lengths[idx])
        src = self.channel_map.index[e.store]
        raw = self._reader(e.store, self.eeg_key).read(e.trial, start, start + n)
        eeg = np.zeros((src.size, n), dtype=np.float32)
        present = src >= 0
        scale = UNITS[self.cfg.eeg_unit] if self.cfg.eeg_array == "eeg" else 1.0  # source features: as computed
        eeg[present] = raw[src[present]] * scale
        if self.aux_names:
            aux = self._reader(e.store, f"aux/{r}").read(e.trial, start, start + n)
            eeg = np.concatenate([eeg, aux[self.aux_index[e.store]] * scale])
            present = np.concatenate([present, np.ones(len(self.aux_names), dtype=bool)])
        t0, dur = start / r, n / r
        info = self.stores[e.store]
        item: dict[str, Any] = {
            "eeg": eeg,
            "channel_mask": present,
            "subject_id": self.subject_ids[(e.dataset, e.subject)],
            "dataset_id": self.dataset_ids[e.dataset],
            "meta": {"dataset": e.dataset, "subject": e.subject, "run": e.run, "trial": e.trial,
                     "clip": e.clip or "", "start_s": t0},
        }
        rates = {"audio": info.audio_rate, "envelope": info.envelope_rate, "mel": info.mel_rate,
                 "ratings": info.envelope_rate}
        if "song" in self.cfg.targets:
            item["song"] = self.songs.index(e.clip)
        for name in (t for t in self.cfg.targets if t not in LABELS):
            a = round(t0 * rates[name])
            values = self._reader(e.store, name).read(e.trial, a, a + round(dur * rates[name]))
            if name == "audio" and self.cfg.audio_rate and self.cfg.audio_rate != info.audio_rate:
                n_out = round(dur * self.cfg.audio_rate)
                values = resample(values, info.audio_rate, self.cfg.audio_rate)[:n_out].astype(np.float32)
                values = np.pad(values, (0, n_out - values.size))
            item[name] = np.ascontiguousarray(values)
        return item
