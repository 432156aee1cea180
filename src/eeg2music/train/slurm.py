"""Put a SLURM job back in the queue after its warning signal's checkpoint.

The cluster profile asks SLURM for SIGUSR2 ten minutes before a training job's time limit. The engine checkpoints
and exits; without a requeue the job would end FAILED and only Snakemake's retries (two in the WCSS profile) would
start it again. ``scontrol requeue`` keeps the same job id pending instead, so a 200 000-step run goes on for as
many time slots as it needs, and Snakemake's SLURM executor simply sees the job pending, then running again.
Not after SIGTERM (a user's ``scancel``, or a preemption SLURM requeues by itself), not under submitit (its own USR2
handler resubmits), and not where ``scontrol`` is missing (inside an image without SLURM's tools; then the exit
status 3 and Snakemake's retries take over).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

# torchrun forwards only TERM/INT/HUP/QUIT to its ranks unless told otherwise; the train rules pass this list (here,
# not in the engine, so that Snakemake reads it without importing torch in every job).
TORCHRUN_SIGNALS = "SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1,SIGUSR2"

WARNING_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)


def requeue_this_job(signum: int | None, chained: bool) -> str:
    """Requeue the current job when a warning signal stopped it; returns what was done, for the log."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return "not a SLURM job: not requeued"
    if signum is not None and signum not in WARNING_SIGNALS:
        return f"stopped by {signal.Signals(signum).name}: not requeued (SLURM requeues preempted jobs itself)"
    if chained:
        return "submitit resubmits the job"
    if shutil.which("scontrol") is None:
        return "scontrol not found: not requeued (exit status 3 lets Snakemake retry)"
    proc = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return f"scontrol requeue {job} failed ({proc.stderr.strip()}): exit status 3 lets Snakemake retry"
    return f"requeued SLURM job {job}"
