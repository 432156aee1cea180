"""What resume restores: each rank's random streams, the loader's own generator, and the sampler's position."""

from __future__ import annotations

import logging

import torch

from eeg2music.train.config import TrainConfig
from eeg2music.train.engine import loader_generator, restore_streams, rng_state
from eeg2music.train.sampler import EpochBatches


def test_restore_streams_continues_the_saved_stream():
    torch.manual_seed(3)
    state = {"rng": [rng_state()], "world_size": 1, "threads": torch.get_num_threads(), "step": 5}
    expected = torch.rand(4)
    torch.manual_seed(99)
    restore_streams(state, world_size=1, rank=0)
    assert torch.equal(torch.rand(4), expected)


def test_a_changed_world_size_or_thread_count_is_logged_not_fatal(caplog):
    torch.manual_seed(3)
    state = {"rng": [rng_state()], "world_size": 1, "threads": torch.get_num_threads() + 1, "step": 5}
    with caplog.at_level(logging.WARNING, logger="eeg2music.train"):
        restore_streams(state, world_size=1, rank=0)
        restore_streams(state, world_size=2, rank=1)  # no saved stream for rank 1: reseeded, with a warning
    messages = " ".join(r.message for r in caplog.records)
    assert "intra-op threads" in messages and "resuming 2 ranks from a checkpoint of 1" in messages


def test_the_loader_generator_leaves_the_global_stream_alone():
    """Building and iterating a DataLoader draws its base seed from ``generator``, not from the global RNG."""
    cfg = TrainConfig(seed=0)
    data = list(range(8))
    torch.manual_seed(1)
    before = torch.get_rng_state()
    loader = torch.utils.data.DataLoader(data, batch_size=4, generator=loader_generator(cfg, epoch=2, rank=0))
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert torch.equal(torch.get_rng_state(), before)
    assert not torch.equal(loader_generator(cfg, 2, 0).get_state(), loader_generator(cfg, 3, 0).get_state())


def test_a_resumed_sampler_continues_with_the_batch_after_the_checkpoint():
    full = list(EpochBatches(40, 8, world=1, rank=0, seed=4, epoch=1))
    assert list(EpochBatches(40, 8, world=1, rank=0, seed=4, epoch=1, start=2)) == full[2:]
    halves = [list(EpochBatches(40, 8, world=2, rank=r, seed=4, epoch=1)) for r in (0, 1)]
    assert [a + b for a, b in zip(*halves, strict=True)] == full  # two ranks see the global batches of one


def test_a_refused_checkpoint_write_is_one_line_and_keeps_the_previous_one(tmp_path):
    """Under a file-size limit (ulimit -f) the write fails: one line naming the file and the cause, no temporary
    left, and the previous complete checkpoint still loads."""
    import subprocess
    import sys

    script = f"""
import resource, signal, sys, torch
from pathlib import Path
from eeg2music.errors import InputError
from eeg2music.train import checkpoint
run = Path({str(tmp_path)!r})
checkpoint.save(run, 1, {{"model": {{"w": torch.zeros(10)}}, "config": {{"model": {{}}}}}})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
try:
    checkpoint.save(run, 2, {{"model": {{"w": torch.zeros(1_000_000)}}, "config": {{"model": {{}}}}}})
except InputError as err:
    print(err.one_line())
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert "ckpt-00000002.pt" in line and "file too large" in line and "\n" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-00000001.pt"]
    from eeg2music.train import checkpoint

    assert checkpoint.load_latest(tmp_path, {})["model"]["w"].numel() == 10  # the step-1 checkpoint


def test_a_checkpoint_on_a_full_disk_is_one_line_and_keeps_the_previous_one(tmp_path):
    from eeg2music.errors import InputError
    from eeg2music.train import checkpoint

    from ...helpers import fill_up, small_filesystem

    with small_filesystem(tmp_path / "fs", 4) as fs:
        checkpoint.save(fs, 1, {"model": {"w": torch.zeros(10)}, "config": {"model": {}}})
        fill_up(fs)
        try:
            checkpoint.save(fs, 2, {"model": {"w": torch.zeros(1_000_000)}, "config": {"model": {}}})
        except InputError as err:
            line = err.one_line()
        assert "ckpt-00000002.pt" in line and "no space left" in line
        assert sorted(p.name for p in fs.iterdir()) == ["ckpt-00000001.pt", "filler"]
        assert checkpoint.load_latest(fs, {})["model"]["w"].numel() == 10


def test_window_r_is_pearson_per_window_over_the_common_length():
    from eeg2music.train.selection import window_r

    t = torch.linspace(0, 6, 101)
    true = torch.stack([torch.sin(t), torch.cos(t)])
    pred = torch.stack([2 * torch.sin(t) + 1, -torch.cos(t)])[:, :90]  # shorter, scaled, one anti-correlated
    r = window_r(pred, true)
    assert torch.allclose(r, torch.tensor([1.0, -1.0], dtype=torch.float64), atol=1e-6)
