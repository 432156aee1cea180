"""When a stopped training job puts itself back in SLURM's queue (the requeue itself: tests/slurm)."""

from __future__ import annotations

import signal

import pytest

from eeg2music.train.slurm import requeue_this_job


@pytest.fixture
def fake_scontrol(tmp_path, monkeypatch):
    """A scontrol that records its arguments and exits with the status in ``tmp_path/status``."""
    (tmp_path / "status").write_text("0")
    script = tmp_path / "scontrol"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/calls\necho 'refused' >&2\n"
                      f"read status < {tmp_path}/status\nexit $status\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    return tmp_path


def test_the_warning_signal_requeues_the_job(fake_scontrol):
    assert requeue_this_job(signal.SIGUSR2, chained=False) == "requeued SLURM job 42"
    assert (fake_scontrol / "calls").read_text() == "requeue 42\n"


@pytest.mark.parametrize(("signum", "chained", "said"), [
    (signal.SIGTERM, False, "stopped by SIGTERM: not requeued"),  # scancel, or a preemption SLURM requeues itself
    (signal.SIGUSR2, True, "submitit resubmits the job"),
])
def test_no_requeue_where_someone_else_decides(fake_scontrol, signum, chained, said):
    assert requeue_this_job(signum, chained).startswith(said)
    assert not (fake_scontrol / "calls").exists()


def test_a_refused_requeue_leaves_it_to_snakemakes_retries(fake_scontrol):
    (fake_scontrol / "status").write_text("1")
    assert requeue_this_job(signal.SIGUSR2, chained=False) == \
        "scontrol requeue 42 failed (refused): exit status 3 lets Snakemake retry"


def test_outside_slurm_or_without_scontrol_nothing_is_requeued(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert requeue_this_job(signal.SIGUSR2, chained=False) == "not a SLURM job: not requeued"
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert requeue_this_job(signal.SIGUSR2, chained=False).startswith("scontrol not found")
