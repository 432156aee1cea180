"""The training loop every model shares, readable top to bottom (after nanoGPT).

``main(cfg)``: set up the device and process group from the environment → audit the split (refuse leaks) →
build data, model, optimiser, schedule → resume from the newest complete checkpoint in the run directory →
train with periodic and epoch-end checkpoints, TensorBoard logs and a progress bar, validating every
``val_every`` steps (best weights kept, early stopping after ``patience``) → on SIGUSR2/USR1/TERM checkpoint and
stop so the scheduler can requeue → write the final weights: the best validated ones when validation is on.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import faulthandler
import json
import logging
import math
import random
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

from eeg2music.data.audit import check_split
from eeg2music.data.dataset import WindowDataset
from eeg2music.data.splits import Manifest
from eeg2music.data.windows import WindowConfig
from eeg2music.errors import InputError
from eeg2music.models import registry
from eeg2music.provenance import git_sha
from eeg2music.train import checkpoint, distributed
from eeg2music.train.config import SIZES, TrainConfig, load_config
from eeg2music.train.curves import CurveLog
from eeg2music.train.init import apply_init
from eeg2music.train.sampler import EpochBatches
from eeg2music.train.selection import Selection, validate
from eeg2music.train.slurm import requeue_this_job

log = logging.getLogger("eeg2music.train")
PREEMPTED_EXIT = 3  # exit status after a signal-triggered checkpoint: "requeue me"


class NonFiniteError(RuntimeError):
    """An input, the loss or a gradient became NaN/inf; the message names the step and the batch, ``fix`` what to
    do (the data's origin for an input, the optimisation for the loss)."""

    def __init__(self, message: str, fix: str = "lower the learning rate, or check the data of that batch") -> None:
        super().__init__(message)
        self.fix = fix


STOP_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM)


class StopFlag:
    """SIGUSR2 (the warning the cluster profile asks SLURM for, ``--signal=USR2@…``; NCCL may use USR1), SIGUSR1 or
    SIGTERM (SLURM's time-out and preemption), taken between steps.

    The signals stay blocked in every thread of the run (``stop_signals_blocked``) and are collected here with
    ``sigtimedwait``, never delivered asynchronously: under SLURM every process of the job step gets the warning at
    once, and a signal that interrupted a gloo transfer (DDP's all-reduce inside backward) aborted a rank with a
    corrupted heap in about 1 of 8 signalled 2-rank runs. A handler that was there before (submitit's USR2
    handler, which requeues its jobs) is called after the checkpoint (``chain``)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        # Our handler, process-wide, for a thread that started before the run and does not block the signals
        # (submitit's): it only records the signal; the previous handler is chained after the checkpoint.
        self.previous = {sig: signal.signal(sig, self._set) for sig in STOP_SIGNALS}

    def _set(self, signum, frame) -> None:
        self.signal = self.signal or signum

    def poll(self) -> int | None:
        """The first stop signal received so far (consumed from the pending set), or None."""
        if self.signal is None:
            info = signal.sigtimedwait(STOP_SIGNALS, 0)
            self.signal = info.si_signo if info is not None else None
        return self.signal

    @property
    def chained(self) -> bool:
        """Whether another handler (submitit's) also acts on the signal that stopped us."""
        return callable(self.previous.get(self.signal))

    def chain(self) -> None:
        """Pass the signal on to the handler that was installed before ours, if any."""
        if self.chained:
            self.previous[self.signal](self.signal, None)

    def restore(self) -> None:
        """Put the handlers from before the run back (None: one not set from Python, which cannot be put back)."""
        for sig, handler in self.previous.items():
            if handler is not None:
                signal.signal(sig, handler)


def window_config(cfg: TrainConfig, whole_trial: bool = False) -> WindowConfig:
    d = cfg.data
    return WindowConfig(window_s=d.window_s, hop_s=d.hop_s, rate=d.rate, targets=tuple(d.targets),
                        channels=d.channels, random_offset=d.random_offset and not whole_trial,
                        eeg_unit=d.eeg_unit, whole_trial=whole_trial, eeg_array=d.eeg_array,
                        audio_rate=d.audio_rate)


def lr_lambda(cfg: TrainConfig):
    warm, total = cfg.optim.warmup_steps, cfg.max_steps

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        if cfg.optim.schedule == "constant":
            return 1.0
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))

    return f


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def restore_streams(state: dict[str, Any], world_size: int, rank: int) -> None:
    """Restore this rank's RNG states. Bit-identical continuation also needs the same world size and intra-op
    thread count (float sums are split by thread); a change is logged, since the run still continues correctly."""
    saved_world = state.get("world_size", len(state["rng"]))
    if saved_world != world_size:
        log.warning("resuming %d ranks from a checkpoint of %d: random streams restart from the seed, so the run "
                    "continues correctly but not bit-identically", world_size, saved_world)
        torch.manual_seed(state["step"] * 1_009 + rank)
        return
    set_rng_state(state["rng"][rank])
    if state.get("threads", torch.get_num_threads()) != torch.get_num_threads():
        log.warning("checkpoint written with %d intra-op threads, resuming with %d: float sums change order, so "
                    "the weights will differ slightly from an uninterrupted run", state["threads"],
                    torch.get_num_threads())


def loader_generator(cfg: TrainConfig, epoch: int, rank: int) -> torch.Generator:
    """The data loader's own generator, seeded by (seed, epoch, rank).

    Without one, every ``iter(loader)`` draws its workers' base seed from the global torch RNG: a run resumed
    mid-epoch builds one loader more than the uninterrupted run, so every later dropout mask and diffusion noise
    draw would differ. With it, the global RNG advances only through the model, and resume stays bit-identical.
    """
    return torch.Generator().manual_seed((cfg.seed * 1_000_003 + epoch) * 1_009 + rank)


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def describe(batch: dict[str, Any], limit: int = 4) -> str:
    """The first windows of a batch as dataset/subject/run/trial@start, for error messages."""
    meta = batch["meta"]
    rows = zip(meta["dataset"], meta["subject"], meta["run"], meta["trial"], meta["start_s"], strict=True)
    return ", ".join(f"{d}/sub-{s}/{r}/trial{int(t)}@{float(t0):.2f}s" for d, s, r, t, t0 in list(rows)[:limit])


def check_finite_inputs(batch: dict[str, Any], step: int) -> None:
    """A NaN in the EEG or a conditioner would surface later as a NaN loss; name the input, step and batch now."""
    for key, value in batch.items():
        if torch.is_tensor(value) and value.is_floating_point() and not torch.isfinite(value).all():
            raise NonFiniteError(f"step {step}: input {key!r} has NaN/inf values in batch [{describe(batch)}]",
                                 "the data is bad, not the training: check those subjects' stores (eeg2music "
                                 "summary) and rerun their preprocessing")


def validation_batches(cfg: TrainConfig, manifest: Manifest) -> DataLoader:
    """The split's val part as fixed windows (no random offsets), in order; with ``val_windows`` a fixed draw of
    that many of them (seeded, the same at every validation and on resume), so validation costs the same whatever
    the size of the data."""
    data = WindowDataset(manifest, "val", dataclasses.replace(window_config(cfg), random_offset=False),
                         seed=cfg.seed)
    if len(data) == 0:
        raise InputError(cfg.data.manifest, "the split's val part has no windows to validate on",
                         "set val_every: 0, or use a split with a val part")
    if cfg.val_windows and len(data) > cfg.val_windows:
        draw = torch.randperm(len(data), generator=torch.Generator().manual_seed(cfg.seed))[:cfg.val_windows]
        log.info("validation on %d of the val part's %d windows (val_windows)", cfg.val_windows, len(data))
        data = Subset(data, sorted(draw.tolist()))
    return DataLoader(data, batch_size=cfg.batch_size, shuffle=False, num_workers=cfg.data.num_workers)


@contextlib.contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """Block the stop signals in this thread and every thread or process started meanwhile (they inherit the mask);
    they stay pending until :class:`StopFlag` collects them between steps. Those still pending when the run ends
    (a second copy of the one that stopped it) are discarded, so the exit status stays the run's."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        while signal.sigtimedwait(STOP_SIGNALS, 0) is not None:  # a repeat (SLURM's and torchrun's copy): taken
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def main(cfg: TrainConfig) -> Path:
    # A crash in native code (a segfault) leaves every thread's Python stack in the job's stderr, not just a status
    # (the process's own stderr: a replaced sys.stderr, as under pytest, may have no file descriptor).
    if sys.__stderr__ is not None:
        faulthandler.enable(file=sys.__stderr__, all_threads=True)
    with stop_signals_blocked():  # the whole run: taken between steps by StopFlag.poll
        # From the first instruction, not only from the loop: a warning that comes while the run is still setting
        # up (SLURM may send it up to a minute early) is taken at the first step instead of killing the process.
        stop = StopFlag()
        try:
            return _train(cfg, stop)
        finally:
            stop.restore()


def _train(cfg: TrainConfig, stop: StopFlag) -> Path:
    dist = distributed.setup()
    run_dir = Path(cfg.run_dir)
    torch.manual_seed(cfg.seed + dist.rank)
    np.random.seed(cfg.seed + dist.rank)
    random.seed(cfg.seed + dist.rank)
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True)

    # -- the split: audited, recorded, refused if it leaks --------------------------------------------------------
    if not cfg.data.manifest:
        raise InputError(cfg.experiment, "no split to train on (data.manifest is empty)",
                         "pass --manifest results/<study>/splits/<protocol>/fold-<k>.json")
    audit = check_split(Path(cfg.data.manifest), cfg.data.allow_leak)
    manifest = Manifest.load(Path(cfg.data.manifest))
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        # The run's own log, appended across resubmissions (scheduler logs may be truncated on requeue).
        handler = logging.FileHandler(run_dir / "train.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.info("start: experiment %s, world size %d, device %s, git %s", cfg.experiment, dist.world_size,
                 dist.device, git_sha())
        (run_dir / "split_audit.json").write_text(json.dumps(audit, indent=1))
        (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))

    # -- data, model, optimiser ---------------------------------------------------------------------------------
    data = WindowDataset(manifest, "train", window_config(cfg), seed=cfg.seed)
    val_batches = validation_batches(cfg, manifest) if cfg.val_every else []
    info = data.data_info()
    if cfg.model.get("audio_gain") == "auto":
        info["audio_rms"] = data.audio_rms()
        log.info("audio_gain auto: training audio RMS %.4f", info["audio_rms"])
    model = registry.build(cfg.model, len(info["channels"]), info, source=str(run_dir / "config.yaml"))
    model = apply_init(model, cfg.model, str(run_dir / "config.yaml")).to(dist.device)
    if cfg.size == "full" and cfg.model.get("name") == "eegpt" and not cfg.model.get("weights"):
        log.warning("%s: EEGPT at full size without pretrained weights trains from a random initialisation; set "
                    "model.weights in config/train/%s.yaml", cfg.experiment, cfg.experiment)
    opt = torch.optim.AdamW(registry.trainable_groups(model, cfg.optim.lr), lr=cfg.optim.lr, betas=cfg.optim.betas,
                            weight_decay=cfg.optim.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg))
    step = 0
    selection = Selection(cfg.patience)
    state = checkpoint.load_latest(run_dir, cfg.model)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step = state["step"]
        selection.load_state_dict(state.get("selection", {}))
        restore_streams(state, dist.world_size, dist.rank)
        log.info("resumed from %s at step %d", run_dir, step)
    ddp = DDP(model) if dist.world_size > 1 else model
    writer, curves = None, None
    if dist.is_main:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run_dir / "tb"))
        curves = CurveLog(run_dir / "curves.tsv", step)

    def save_checkpoint() -> None:
        rngs = distributed.all_gather_object(rng_state())
        if dist.is_main:
            checkpoint.save(run_dir, step, {
                "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "scaler": None,  # bf16 autocast needs no loss scaling; kept for fp16 runs
                "step": step, "epoch": step // steps_per_epoch, "batch_in_epoch": step % steps_per_epoch,
                "rng": rngs, "threads": torch.get_num_threads(), "world_size": dist.world_size,
                "selection": selection.state_dict(),
                "config": cfg.to_dict(), "git_sha": git_sha(),
            }, keep=cfg.keep_checkpoints)
        distributed.barrier()

    # -- the loop -----------------------------------------------------------------------------------------------
    EpochBatches(len(data), cfg.batch_size, dist.world_size, dist.rank, cfg.seed, 0)  # validates sizes early
    steps_per_epoch = EpochBatches.steps_per_epoch(len(data), cfg.batch_size)
    bar = tqdm(total=cfg.max_steps, initial=step, desc=cfg.experiment, unit="step", mininterval=5,
               disable=None if dist.is_main else True)  # None: off when the log is not a terminal
    model.train()
    while step < cfg.max_steps and not selection.stopped:
        epoch, position = divmod(step, steps_per_epoch)
        data.set_epoch(epoch)
        batches = EpochBatches(len(data), cfg.batch_size, dist.world_size, dist.rank, cfg.seed, epoch, position)
        loader = DataLoader(data, batch_sampler=batches, num_workers=cfg.data.num_workers,
                            pin_memory=dist.device.type == "cuda", generator=loader_generator(cfg, epoch, dist.rank))
        for batch in loader:
            batch = to_device(batch, dist.device)
            check_finite_inputs(batch, step)
            with dist.autocast():
                loss = ddp(batch)
            if not torch.isfinite(loss):
                raise NonFiniteError(f"step {step}: loss is {loss.item()} for batch [{describe(batch)}]")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad],
                                                       cfg.optim.grad_clip)
            if not torch.isfinite(grad_norm):
                raise NonFiniteError(f"step {step}: gradient norm is {grad_norm.item()} for batch "
                                     f"[{describe(batch)}]")
            opt.step()
            sched.step()
            step += 1
            bar.update(1)
            if writer is not None and step % cfg.log_every == 0:
                writer.add_scalar("train/loss", loss.item(), step)
                writer.add_scalar("train/lr", sched.get_last_lr()[0], step)
                writer.add_scalar("train/grad_norm", grad_norm.item(), step)
                curves.add(step, "train", loss.item())
                bar.set_postfix(loss=f"{loss.item():.4f}")
            if cfg.val_every and step % cfg.val_every == 0:  # before the checkpoint, which records the result
                val = validate(model, val_batches, lambda b: to_device(b, dist.device), cfg.seed)
                val_loss = val["loss"]
                if selection.update(val_loss, step) and dist.is_main:
                    checkpoint.atomic_save({"model": model.state_dict(), "config": cfg.to_dict(), "step": step,
                                            "val_loss": val_loss}, run_dir / "best.pt")
                if writer is not None:
                    writer.add_scalar("val/loss", val_loss, step)
                    curves.add(step, "val", val_loss)
                    if not math.isnan(val["r"]):
                        writer.add_scalar("val/r", val["r"], step)
                        curves.add(step, "val_r", val["r"])
                log.info("step %d: validation loss %.5f (best %.5f at step %d), r %.3f", step, val_loss,
                         selection.best_loss, selection.best_step, val["r"])
            end_of_epoch = step % steps_per_epoch == 0
            # Every rank must stop at the same step (checkpointing is a collective): any rank's signal counts.
            stopping = distributed.any_rank(stop.poll() is not None, dist.device)
            if (step % cfg.ckpt_every == 0 or end_of_epoch or step == cfg.max_steps or stopping
                    or selection.stopped):
                save_checkpoint()
            if selection.stopped:
                log.info("early stop at step %d: no better validation loss in %d evaluations", step,
                         selection.patience)
                break
            if stopping:
                log.warning("stop signal (%s): checkpointed at step %d, exiting for requeue",
                            signal.Signals(stop.signal).name if stop.signal else "on another rank", step)
                if dist.is_main:
                    log.info(requeue_this_job(stop.signal, stop.chained))
                stop.chain()
                bar.close()
                distributed.teardown()
                sys.exit(PREEMPTED_EXIT)
            if step >= cfg.max_steps:
                break
    bar.close()
    log.info("finished at step %d", step)
    if dist.is_main:
        final = {"model": model.state_dict(), "config": cfg.to_dict(), "step": step, "selected_step": step}
        if selection.best_step >= 0:  # decode the best validated weights, not the last ones
            best = torch.load(run_dir / "best.pt", map_location="cpu", weights_only=False)
            final |= {"model": best["model"], "selected_step": best["step"], "val_loss": best["val_loss"]}
            log.info("final weights: step %d, the best validation loss %.5f", best["step"], best["val_loss"])
        checkpoint.atomic_save(final, run_dir / "final.pt")
        if writer is not None:
            writer.close()
    distributed.teardown()
    for h in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
        log.removeHandler(h)
        h.close()
    return run_dir / "final.pt"


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", type=Path, help="config/train/<experiment>.yaml")
    p.add_argument("--size", default="full", choices=tuple(SIZES),
                   help="full; cpu: with the overlay config/train/cpu/<experiment>.yaml; rehearsal: and then "
                        "config/train/rehearsal/<experiment>.yaml")
    p.add_argument("--run-dir", type=Path, required=True, help="checkpoints, logs, audit; resumed if present")
    p.add_argument("--manifest", type=Path, help="override data.manifest")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config keys (YAML values)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in a.set)}
    overrides["run_dir"] = str(a.run_dir)
    if a.manifest:
        overrides["data.manifest"] = str(a.manifest)
    try:
        main(load_config(a.config, overrides, a.size))
    except InputError as err:
        print(f"error: {err.one_line()}", file=sys.stderr)
        return 2
    except NonFiniteError as err:
        print(f"error: {err}; {err.fix}", file=sys.stderr)
        return 2
    return 0
