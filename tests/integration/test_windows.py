"""WindowDataset over real stores: exact content, edges, targets, channel harmonisation, workers, bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import zarr
from torch.utils.data import DataLoader

from eeg2music.data.dataset import WindowDataset
from eeg2music.data.splits import Manifest, make_split
from eeg2music.data.stores import StoreInfo, WindowReader
from eeg2music.data.windows import WindowConfig, Windows
from eeg2music.errors import InputError

from ..helpers import run_preprocess


@pytest.fixture(scope="module")
def stores(study, tmp_path_factory):
    """Two ds002722 subjects (32 ch) and one ds002725 subject (31 ch, another montage)."""
    out = tmp_path_factory.mktemp("window_stores")
    paths = []
    for kind, sub in (("ds002722", "01"), ("ds002722", "02"), ("ds002725", "01")):
        p = out / kind / f"sub-{sub}.zarr"
        proc = run_preprocess(study / kind, kind, sub, p)
        assert proc.returncode == 0, proc.stderr
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def manifest(stores, tmp_path_factory):
    m = make_split([StoreInfo.read(p) for p in stores], "random-trial", seed=1)
    return Manifest.load(m.save(tmp_path_factory.mktemp("m") / "m.json"))


def test_windows_equal_store_content_exactly_edges_included(manifest):
    cfg = WindowConfig(window_s=1.0, hop_s=0.5, rate=256, targets=("audio", "envelope", "mel", "ratings"))
    ds = WindowDataset(manifest, "train", cfg)
    seen_first = seen_last = 0
    for i in range(len(ds)):
        item = ds[i]
        e = ds.entries[ds.owners[i]]
        g = zarr.open_group(e.store, mode="r")
        start, n = int(ds.starts[i]), 256
        src = ds.channel_map.index[e.store]
        expected = g["eeg/256"][e.trial][src, start:start + n] * 1e6
        np.testing.assert_array_equal(item["eeg"].numpy(), expected.astype(np.float32))
        t0 = start / 256
        a = round(t0 * 16000)
        np.testing.assert_array_equal(item["audio"].numpy(), g["audio"][e.trial, a:a + 16000])
        m = round(t0 * 100)
        np.testing.assert_array_equal(item["envelope"].numpy(), g["envelope"][e.trial, m:m + 100])
        np.testing.assert_array_equal(item["mel"].numpy(), g["mel"][e.trial, :, m:m + 100])
        np.testing.assert_array_equal(item["ratings"].numpy(), g["ratings"][e.trial, :, m:m + 100])
        seen_first += start == 0
        seen_last += start + n == g["eeg/256"].shape[-1]
        assert item["meta"]["start_s"] == pytest.approx(t0)
    assert seen_first == seen_last == len(ds.entries)  # the first and the last window of every trial are there


def test_fast_reader_agrees_with_zarr_across_chunks_and_codecs(stores, tmp_path):
    """Reads that cross chunk edges, end in a partial chunk, or hit an unwritten (all-zero) chunk, through the
    memory-map path, equal Zarr's; a compressed array falls back to Zarr with the same values."""
    from zarr.codecs import BloscCodec

    data = zarr.open_array(str(stores[0] / "eeg/256"), mode="r")[:]
    data[2, :, 600:900] = 0.0  # chunk 2 of trial 2 below is all fill value: Zarr does not write it
    dst = zarr.open_group(str(tmp_path / "c.zarr"), mode="w")
    dst.create_array("raw", data=data, chunks=(1, data.shape[1], 300), compressors=None)
    dst.create_array("lz4", data=data, chunks=(1, data.shape[1], 300), compressors=BloscCodec(cname="lz4"))
    fast, slow = WindowReader(str(tmp_path / "c.zarr/raw")), WindowReader(str(tmp_path / "c.zarr/lz4"))
    assert fast.fast and not slow.fast
    assert not (tmp_path / "c.zarr/raw/c/2/0/2").exists()
    for trial, start, stop in ((1, 0, 10), (1, 290, 310), (1, 100, 2048), (2, 550, 950), (0, 1800, 2048)):
        np.testing.assert_array_equal(fast.read(trial, start, stop), data[trial, :, start:stop])
        np.testing.assert_array_equal(slow.read(trial, start, stop), data[trial, :, start:stop])
    with pytest.raises(IndexError):
        fast.read(1, 2040, 2060)


def test_ids_consistent_and_intersection_channels(manifest):
    train = WindowDataset(manifest, "train", WindowConfig(window_s=2.0))
    test = WindowDataset(manifest, "test", WindowConfig(window_s=2.0))
    assert train.subject_ids == test.subject_ids and len(train.subject_ids) == 3
    assert train.dataset_ids == {"t-ds002722": 0, "t-ds002725": 1}
    names = train.channel_map.names
    assert "FPz" not in names and "Fpz" not in names  # only in ds002722's montage
    assert "Fp1" in names and "TP9" in names and all(train[0]["channel_mask"])


def test_eegpt_vocabulary_with_presence_mask(manifest):
    ds = WindowDataset(manifest, "train", WindowConfig(window_s=4.0, channels="eegpt", targets=()))
    assert len(ds.channel_map.names) == 62
    item = ds[0]
    mask = item["channel_mask"].numpy()
    assert item["eeg"].shape == (62, 1024)
    assert not item["eeg"][~mask].any() and item["eeg"][mask].abs().sum() > 0
    store = ds.entries[ds.owners[0]].store
    have = set(ds.stores[store].channels)
    assert {n for n, m in zip(ds.channel_map.names, mask, strict=True) if m} == have & set(ds.channel_map.names)


def test_random_offsets_are_reproducible_and_stay_inside_trials(manifest):
    cfg = WindowConfig(window_s=2.0, hop_s=2.0, random_offset=True, targets=())
    a, b = WindowDataset(manifest, "train", cfg, seed=3), WindowDataset(manifest, "train", cfg, seed=3)
    a.set_epoch(1)
    b.set_epoch(1)
    assert np.array_equal(a.offsets, b.offsets) and a.offsets.any()
    first = a.offsets.copy()
    a.set_epoch(2)
    assert not np.array_equal(first, a.offsets)
    ends = np.array([round(a.entries[o].stop_s * 256) for o in a.owners])
    assert (a.starts + a.offsets + a.lengths <= ends).all()


def test_whole_trial_items(manifest):
    ds = WindowDataset(manifest, "test", WindowConfig(whole_trial=True, rate=100, targets=("envelope",)))
    assert len(ds) == len(ds.entries)
    assert ds[0]["eeg"].shape[-1] == 800 and ds[0]["envelope"].shape == (800,)


def test_numpy_windows_are_the_datasets_tensors_and_need_no_torch(manifest):
    """The linear decoder reads ``Windows`` as numpy: the same values as the models' tensors, and its module
    imports without torch (a fresh interpreter, so nothing this test process imported counts)."""
    cfg = WindowConfig(whole_trial=True, rate=100, targets=("envelope", "mel"), channels="frontal")
    arrays, tensors = Windows(manifest, "val", cfg), WindowDataset(manifest, "val", cfg)
    for i in range(len(arrays)):
        a, t = arrays.arrays(i), tensors[i]
        assert a.keys() == t.keys() and a["meta"] == t["meta"]
        for k in ("eeg", "channel_mask", "envelope", "mel"):
            assert isinstance(a[k], np.ndarray) and isinstance(t[k], torch.Tensor)
            np.testing.assert_array_equal(a[k], t[k].numpy())
    probe = "import sys, eeg2music.decode.linear; print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_dataloader_workers_give_the_same_batches(manifest, context):
    ds = WindowDataset(manifest, "val", WindowConfig(window_s=1.0, targets=("envelope",)))
    ref = [b["eeg"] for b in DataLoader(ds, batch_size=4)]
    got = [b["eeg"] for b in DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context=context)]
    assert len(ref) == len(got) and all(torch.equal(x, y) for x, y in zip(ref, got, strict=True))


def test_window_longer_than_shortest_trial_is_refused(manifest):
    with pytest.raises(InputError, match="longer than trial") as err:
        WindowDataset(manifest, "train", WindowConfig(window_s=9.0))
    assert ".zarr" in str(err.value) and "shortest in this part: 8 s" in str(err.value)


def test_older_layout_store_is_refused(stores, tmp_path):
    import shutil

    old = tmp_path / "old.zarr"
    shutil.copytree(stores[0], old)
    g = zarr.open_group(str(old), mode="r+")
    g.attrs["layout_version"] = 0
    with pytest.raises(InputError, match="layout version 0") as err:
        StoreInfo.read(old)
    assert "old.zarr" in str(err.value) and "rerun preprocessing" in str(err.value)


@pytest.mark.parametrize("damage", ["missing", "truncated", "oversized", "random bytes, same size"])
def test_a_damaged_chunk_is_one_line_naming_store_array_and_chunk(stores, tmp_path, damage):
    """Chunks are checked against the store's checksums when first read: never zeros, garbage or a traceback."""
    import shutil

    store = tmp_path / "sub-01.zarr"
    shutil.copytree(stores[0], store)
    chunk = store / "eeg/256/c/1/0/0"
    reader = WindowReader(str(store / "eeg/256"))
    np.testing.assert_array_equal(reader.read(1, 0, 100), zarr.open_array(str(store / "eeg/256"))[1, :, :100])
    size = chunk.stat().st_size
    if damage == "missing":
        chunk.unlink()
    elif damage == "truncated":
        chunk.write_bytes(chunk.read_bytes()[: size // 2])
    elif damage == "oversized":
        chunk.write_bytes(chunk.read_bytes() + b"\0" * 64)
    else:
        chunk.write_bytes(np.random.default_rng(0).bytes(size))
    fresh = WindowReader(str(store / "eeg/256"))  # a new reader, as a new worker or epoch would be
    with pytest.raises(InputError) as err:
        fresh.read(1, 0, 100)
    line = str(err.value)
    assert str(store) in line and "array eeg/256: chunk 1/0/0 " in line and "rerun this subject's preprocessing" in line
    assert "\n" not in line


@pytest.fixture(scope="module")
def by_run(stores, tmp_path_factory):
    """Daly's split (fold 0): each participant's test part is a whole run, several trials."""
    m = make_split([StoreInfo.read(p) for p in stores], "cv-by-run", fold=0, n_folds=2)
    return Manifest.load(m.save(tmp_path_factory.mktemp("by_run") / "m.json"))


def test_prior_only_inputs_replace_the_eeg_only(by_run):
    """The generative floor's inputs over real stores: ``zeros`` zeroes the EEG; ``other-trial`` gives each test trial
    the EEG of another of the same participant's test trials (each trial's EEG given to exactly one other, cropped or
    zero-padded to the length); the targets and meta stay the trial's own."""
    from eeg2music.decode.prior_only import eeg_replacer, other_trials

    ds = WindowDataset(by_run, "test", WindowConfig(rate=100, targets=("envelope",), whole_trial=True))
    partner = other_trials(ds)
    assert sorted(partner) == list(range(len(ds))) and all(p != i for i, p in enumerate(partner))
    subject = [(ds.entries[o].dataset, ds.entries[o].subject) for o in ds.owners]
    assert all(subject[p] == subject[i] for i, p in enumerate(partner))
    zeros, other = eeg_replacer(ds, "zeros"), eeg_replacer(ds, "other-trial")
    for i in range(len(ds)):
        item = ds[i]
        z, o = zeros(i, item), other(i, item)
        assert not z["eeg"].any() and z["eeg"].shape == item["eeg"].shape
        given = ds[partner[i]]["eeg"]
        n = min(given.shape[-1], item["eeg"].shape[-1])
        assert o["eeg"].shape == item["eeg"].shape and torch.equal(o["eeg"][..., :n], given[..., :n])
        assert not o["eeg"][..., n:].any()
        assert torch.equal(o["envelope"], item["envelope"]) and o["meta"] == item["meta"]
    assert eeg_replacer(ds, "as-recorded")(0, ds[0]) is not None
    with pytest.raises(InputError, match="unknown EEG input"):
        eeg_replacer(ds, "noise")


def test_prior_only_other_trial_needs_two_trials_per_participant(by_run, tmp_path):
    from eeg2music.decode.prior_only import other_trials

    m = by_run
    lone = m.part("test")[0]
    seen = [e for e in m.part("test") if (e.dataset, e.subject) == (lone.dataset, lone.subject)]
    assert len(seen) > 1
    m.entries = [e for e in m.entries if e.part != "test" or e is lone or e not in seen]
    ds = WindowDataset(Manifest.load(m.save(tmp_path / "m.json")), "test",
                       WindowConfig(rate=100, targets=("envelope",), whole_trial=True))
    with pytest.raises(InputError, match=f"{lone.dataset} sub-{lone.subject} has one trial in this part"):
        other_trials(ds)
