"""Training engine, baselines and evaluation on synthetic studies with a known answer."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import torch
import yaml

from eeg2music.data.splits import Manifest, make_split
from eeg2music.data.stores import StoreInfo
from eeg2music.decode.linear import fit_predict
from eeg2music.decode.predict import predict
from eeg2music.errors import InputError
from eeg2music.evaluate.report import plot_curves
from eeg2music.evaluate.score import evaluate, pool
from eeg2music.models.bilstm import DalyBiLSTM
from eeg2music.preprocess.subject import run_subject
from eeg2music.synth.study import SynthConfig, write_study
from eeg2music.train import checkpoint
from eeg2music.train.config import load_config
from eeg2music.train.curves import read_curves
from eeg2music.train.engine import NonFiniteError, main

TINY = {"experiment": "tiny", "model": {"name": "daly_bilstm", "hidden": 24, "layers": 2},
        "data": {"window_s": 4.0, "hop_s": 1.0, "rate": 100, "targets": ["envelope"]},
        "optim": {"lr": 0.004, "warmup_steps": 10}, "batch_size": 8, "max_steps": 120, "ckpt_every": 40,
        "log_every": 10, "seed": 0}


def build_study(root: Path, snr: float, pre_cfg) -> list[Path]:
    """4 subjects × 3 runs × 3 trials × 10 s (ds002722 layout), preprocessed, with 3 cv-by-run manifests."""
    data = write_study(SynthConfig(out=root / "bids", styles=("ds002722",), n_subjects=4, n_runs=3, n_trials=3,
                                   trial_s=10.0, n_clips=8, snr=snr, seed=11))[0]
    stores = [run_subject(kind="ds002722", dataset="d", root=data, subject=f"{s:02d}",
                          out=root / f"sub-{s:02d}.zarr", cfg=pre_cfg, trial_s=10.0) for s in range(1, 5)]
    infos = [StoreInfo.read(s) for s in stores]
    return [make_split(infos, "cv-by-run", fold=k).save(root / f"fold-{k}.json") for k in range(3)]


def write_config(path: Path, **changes) -> Path:
    cfg = yaml.safe_load(yaml.safe_dump(TINY))
    for dotted, value in changes.items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    path.write_text(yaml.safe_dump(cfg))
    return path


def decode_both(manifests: list[Path], work: Path) -> tuple[dict, dict]:
    linear = [fit_predict(Manifest.load(m)).save(work / f"lin-{k}.npz") for k, m in enumerate(manifests)]
    bilstm = []
    for k, m in enumerate(manifests):
        cfg = load_config(write_config(work / f"c{k}.yaml"), {"data.manifest": str(m), "run_dir": str(work / f"r{k}")})
        main(cfg)
        bilstm.append(predict(work / f"r{k}", work / f"bl-{k}.npz"))
    return evaluate(pool(linear), n_perm=1000)[0], evaluate(pool(bilstm), n_perm=1000)[0]


@pytest.fixture(scope="module")
def signal_study(tmp_path_factory, pre_cfg_module):
    return build_study(tmp_path_factory.mktemp("signal"), 0.1, pre_cfg_module)


def test_baselines_beat_chance_on_the_synthetic_study(signal_study, tmp_path):
    linear, bilstm = decode_both(signal_study, tmp_path)
    for result in (linear, bilstm):
        ra = result["metrics"]["rank_accuracy"]
        print(f"rank accuracy {ra['observed']:.3f}, p = {ra['p']:.4f}")
        assert result["n_trials"] == 36 and ra["significant"] and ra["observed"] > 0.6, ra
        daly = result["daly_protocol"]  # within each participant, as Daly counted: "k of N significant"
        print(f"Daly protocol: mean {daly['mean']:.3f}, {daly['k_significant']} of {daly['n_participants']}")
        assert daly["n_participants"] == 4 and daly["mean"] > 0.5


def test_null_study_is_not_significant(tmp_path_factory, pre_cfg_module, tmp_path):
    manifests = build_study(tmp_path_factory.mktemp("null"), 0.0, pre_cfg_module)
    linear, bilstm = decode_both(manifests, tmp_path)
    for result in (linear, bilstm):
        assert not result["metrics"]["rank_accuracy"]["significant"], result["metrics"]["rank_accuracy"]["p"]
        assert result["daly_protocol"]["p_k_significant"] > 0.05, result["daly_protocol"]  # k at chance level


def train_cmd(config: Path, run_dir: Path, manifest: Path) -> list[str]:
    return [sys.executable, "-m", "eeg2music.train", str(config), "--run-dir", str(run_dir), "--manifest",
            str(manifest)]


def test_sigkill_and_resume_gives_bit_identical_weights(signal_study, tmp_path):
    """Default mode, dropout on: a SIGKILL after a random number of checkpoints, then resume, ends with the
    uninterrupted run's weights (benchmarks/resume_stress.py does this 20 times under load, mid-write too)."""
    cfg = write_config(tmp_path / "c.yaml", max_steps=60, ckpt_every=7, **{"model.dropout": 0.3})
    ref = subprocess.run(train_cmd(cfg, tmp_path / "ref", signal_study[0]), capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr
    run = tmp_path / "killed"
    proc = subprocess.Popen(train_cmd(cfg, run, signal_study[0]), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    target = np.random.default_rng().integers(1, 4)  # kill after a random number of checkpoints (1-3)
    deadline = time.time() + 600
    while len(list(run.glob("ckpt-*.pt"))) < target and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(np.random.default_rng().uniform(0, 0.3))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(run.glob("ckpt-*.pt")), "killed before the first checkpoint (machine too slow?)"
    assert not (run / "final.pt").exists(), "killed too late: training had already finished"
    resumed = subprocess.run(train_cmd(cfg, run, signal_study[0]), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    step = int(re.search(r"resumed from \S+ at step (\d+)", (run / "train.log").read_text()).group(1))
    assert step > 0
    a = torch.load(tmp_path / "ref/final.pt", weights_only=False)["model"]
    b = torch.load(run / "final.pt", weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


RANDOM_EVERY_STEP = {
    "bilstm_dropout": {"model.dropout": 0.3},
    "diffwave": {"model": {"name": "diffwave", "conditioning": "mel", "layers": 2, "channels": 8, "cycle": 2},
                 "data.targets": ["audio", "mel"], "data.window_s": 0.5, "data.audio_rate": 2000},
}


@pytest.mark.parametrize("variant", sorted(RANDOM_EVERY_STEP))
def test_resume_mid_epoch_continues_the_random_stream(signal_study, tmp_path, variant):
    """A run resumed from a mid-epoch checkpoint ends with the uninterrupted run's weights and RNG states, for
    models that draw random numbers every step (dropout; diffusion noise and steps), in the default mode.

    The resumed run starts from a copy of the uninterrupted run's directory cut back to the step-5 checkpoint, which
    is what a SIGKILL after that checkpoint leaves (no timing involved). Validation every 4 steps draws its own
    random numbers (DiffWave's noise) without touching the training stream, and its state is resumed too."""
    cfg = load_config(write_config(tmp_path / "c.yaml", max_steps=14, ckpt_every=5, val_every=4,
                                   **RANDOM_EVERY_STEP[variant]),
                      {"data.manifest": str(signal_study[0]), "run_dir": str(tmp_path / "ref")})
    main(cfg)
    ref = tmp_path / "ref"
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    (resumed / "ckpt-00000005.pt").write_bytes((ref / "ckpt-00000005.pt").read_bytes())
    # the loss curve as a kill after step 5 leaves it: rows logged past the checkpoint, to be dropped on resume
    (resumed / "curves.tsv").write_text((ref / "curves.tsv").read_text())
    assert torch.load(resumed / "ckpt-00000005.pt", weights_only=False)["batch_in_epoch"] > 0  # mid-epoch
    cfg.run_dir = str(resumed)
    main(cfg)
    assert "resumed from" in (resumed / "train.log").read_text()
    a = torch.load(ref / "final.pt", weights_only=False)["model"]
    b = torch.load(resumed / "final.pt", weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (resumed / "curves.tsv").read_text() == (ref / "curves.tsv").read_text()
    rng_a = torch.load(ref / "ckpt-00000014.pt", weights_only=False)["rng"][0]
    rng_b = torch.load(resumed / "ckpt-00000014.pt", weights_only=False)["rng"][0]
    assert torch.equal(rng_a["torch"], rng_b["torch"]) and rng_a["python"] == rng_b["python"]
    assert all(np.array_equal(x, y) for x, y in zip(rng_a["numpy"], rng_b["numpy"], strict=True))


def test_validation_on_a_fixed_draw_of_windows(signal_study, tmp_path):
    """``val_windows`` validates on that many of the val part's windows: the same ones at every call (so losses
    compare across validations and resumed runs), all of them from the val part, and all windows without it."""
    from eeg2music.train.engine import validation_batches

    cfg = load_config(write_config(tmp_path / "c.yaml", val_every=4),
                      {"data.manifest": str(signal_study[0]), "run_dir": str(tmp_path / "run")})
    manifest = Manifest.load(signal_study[0])

    def windows() -> list[tuple]:
        return [(b["meta"]["subject"][i], int(b["meta"]["trial"][i]), float(b["meta"]["start_s"][i]))
                for b in validation_batches(cfg, manifest) for i in range(len(b["meta"]["trial"]))]

    every = windows()
    cfg.val_windows = 5
    drawn = windows()
    assert len(every) > 5 and len(drawn) == 5 and len(set(drawn)) == 5
    assert set(drawn) <= set(every) and drawn == windows()
    cfg.val_windows = len(every) + 10
    assert windows() == every


def torchrun_cmd(config: Path, run_dir: Path, manifest: Path) -> list[str]:
    from eeg2music.train.slurm import TORCHRUN_SIGNALS

    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "--signals-to-handle", TORCHRUN_SIGNALS, "-m", "eeg2music.train", str(config), "--run-dir",
            str(run_dir), "--manifest", str(manifest)]


@pytest.fixture(scope="module")
def ddp_reference(signal_study, tmp_path_factory) -> tuple[Path, Path]:
    """An uninterrupted 2-rank gloo run with dropout (each rank's RNG stream is saved and restored)."""
    tmp = tmp_path_factory.mktemp("ddp")
    cfg = write_config(tmp / "c.yaml", max_steps=40, ckpt_every=3, **{"model.dropout": 0.3})
    ref = subprocess.run(torchrun_cmd(cfg, tmp / "ref", signal_study[0]), capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr[-3000:]
    return cfg, tmp / "ref"


def assert_same_run(ref: Path, run: Path) -> None:
    """Final weights and every rank's RNG state at the last step equal the uninterrupted run's."""
    a = torch.load(ref / "final.pt", weights_only=False)["model"]
    b = torch.load(run / "final.pt", weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rngs_a = torch.load(max(ref.glob("ckpt-*.pt")), weights_only=False)["rng"]
    rngs_b = torch.load(max(run.glob("ckpt-*.pt")), weights_only=False)["rng"]
    assert len(rngs_a) == len(rngs_b) == 2
    assert all(torch.equal(x["torch"], y["torch"]) for x, y in zip(rngs_a, rngs_b, strict=True))


def resumed_step(run: Path) -> int:
    return int(re.search(r"resumed from \S+ at step (\d+)", (run / "train.log").read_text()).group(1))


def start_until_first_checkpoint(cmd: list[str], run: Path) -> subprocess.Popen:
    """Start a training command in a session of its own and return once its first checkpoint is on disk."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    while not list(run.glob("ckpt-*.pt")) and proc.poll() is None:
        time.sleep(0.02)
    return proc


def test_ddp_sigkill_and_resume_gives_bit_identical_weights(signal_study, ddp_reference, tmp_path):
    """SIGKILL the whole process group once the first checkpoint is on disk, resume: whichever checkpoint the kill
    leaves, the run ends with the uninterrupted 2-rank run's weights and RNG states."""
    cfg, ref = ddp_reference
    run = tmp_path / "killed"
    proc = start_until_first_checkpoint(torchrun_cmd(cfg, run, signal_study[0]), run)
    # torchrun starts each rank in a session of its own: kill the whole tree at once, as SLURM kills a job's cgroup
    tree = [proc_ := psutil.Process(proc.pid), *proc_.children(recursive=True)]
    for p in tree:
        p.kill()
    psutil.wait_procs(tree, timeout=30)
    proc.wait()
    assert not (run / "final.pt").exists()
    resumed = subprocess.run(torchrun_cmd(cfg, run, signal_study[0]), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 0 < resumed_step(run) < 40
    assert_same_run(ref, run)


def test_torchrun_passes_the_warning_signal_on_and_the_run_resumes(signal_study, ddp_reference, tmp_path):
    """SLURM's warning (SIGUSR2, asked for by the cluster profile) reaches torchrun, which passes it to both
    ranks: they checkpoint at the same step and stop; the resumed run is bit-identical to the uninterrupted one."""
    cfg, ref = ddp_reference
    run = tmp_path / "warned"
    proc = start_until_first_checkpoint(torchrun_cmd(cfg, run, signal_study[0]), run)
    proc.send_signal(signal.SIGUSR2)
    proc.wait(timeout=120)
    log = (run / "train.log").read_text()
    stopped = int(re.search(r"stop signal \([^)]*\): checkpointed at step (\d+)", log).group(1))
    assert (run / f"ckpt-{stopped:08d}.pt").exists() and not (run / "final.pt").exists()
    resumed = subprocess.run(torchrun_cmd(cfg, run, signal_study[0]), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed_step(run) == stopped
    assert_same_run(ref, run)


def test_validation_keeps_the_best_weights_and_stops_early(signal_study, tmp_path):
    """A deliberately overfitting set-up (wide bi-LSTM, high learning rate): the validation loss stops improving,
    training ends early, and the final (decoded) weights are the best validated ones, not the last."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = load_config(write_config(tmp_path / "c.yaml", max_steps=400, ckpt_every=50, val_every=5, patience=3,
                                   **{"model.hidden": 64, "optim.lr": 0.03, "optim.warmup_steps": 1}),
                      {"data.manifest": str(signal_study[0]), "run_dir": str(tmp_path / "r")})
    main(cfg)
    log = (tmp_path / "r/train.log").read_text()
    losses = [(int(a), float(b)) for a, b in re.findall(r"step (\d+): validation loss (\S+) ", log)]
    stopped = int(re.search(r"early stop at step (\d+)", log).group(1))
    best_step, best_loss = min(losses, key=lambda x: x[1])
    assert stopped < 400 and losses[-1][0] == stopped and stopped - best_step == 3 * 5
    assert all(loss >= best_loss for step, loss in losses if step > best_step)
    final = torch.load(tmp_path / "r/final.pt", weights_only=False)
    best = torch.load(tmp_path / "r/best.pt", weights_only=False)
    assert final["selected_step"] == best["step"] == best_step and final["step"] == stopped
    assert all(torch.equal(final["model"][k], best["model"][k]) for k in best["model"])
    events = EventAccumulator(str(tmp_path / "r/tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("val/loss")] == [s for s, _ in losses]
    curves = read_curves(tmp_path / "r/curves.tsv")  # what the report page plots
    assert curves["val"][0] == [s for s, _ in losses] and max(curves["train"][0]) == stopped
    assert curves["val_r"][0] == curves["val"][0] and all(-1 <= r <= 1 for r in curves["val_r"][1])
    assert max(curves["val_r"][1]) > 0.2  # the signal study's amplitude is decodable on held-out runs
    section = plot_curves([tmp_path / "r"], tmp_path / "curves.png")
    assert f"r: step {best_step} of {stopped}" in section and (tmp_path / "curves.png").stat().st_size > 5000
    main(cfg)  # started again after an early stop: nothing more is trained
    assert torch.load(tmp_path / "r/final.pt", weights_only=False)["step"] == stopped


def test_daly_parameter_count():
    n = sum(p.numel() for p in DalyBiLSTM(n_inputs=124).parameters())
    assert n == 5_264_501 and abs(n - 5.26e6) / 5.26e6 < 0.01


def test_unknown_config_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**TINY, "optim": {"lerning_rate": 0.1}}))
    with pytest.raises(InputError, match=r"unknown key optim\.lerning_rate") as err:
        load_config(path)
    assert "bad.yaml" in str(err.value) and "lr" in str(err.value)


def test_leaky_split_is_refused(signal_study, tmp_path):
    from dataclasses import replace

    m = Manifest.load(signal_study[0])
    leaky = Manifest(m.protocol, m.params, [*m.entries, *[replace(e, part="test") for e in m.part("train")[:2]]])
    path = leaky.save(tmp_path / "leaky.json")
    cfg = load_config(write_config(tmp_path / "c.yaml"), {"data.manifest": str(path), "run_dir": str(tmp_path / "r")})
    with pytest.raises(InputError, match="shares trials") as err:
        main(cfg)
    assert "leaky.json" in str(err.value)
    cfg.data.allow_leak = True
    cfg.max_steps = 2
    main(cfg)  # allowed explicitly: trains, and the run directory records the audit
    assert '"leaks_trials": true' in (tmp_path / "r/split_audit.json").read_text()


def test_checkpoint_from_another_model_config_is_refused(signal_study, tmp_path):
    cfg = load_config(write_config(tmp_path / "c.yaml", max_steps=3),
                      {"data.manifest": str(signal_study[0]), "run_dir": str(tmp_path / "r")})
    main(cfg)
    cfg.model["hidden"] = 48
    with pytest.raises(InputError, match=r"different model config: hidden \(24 → 48\)") as err:
        main(cfg)
    assert "ckpt-00000003.pt" in str(err.value)


def test_corrupt_checkpoint_is_skipped_for_the_previous_one(signal_study, tmp_path, caplog):
    cfg = load_config(write_config(tmp_path / "c.yaml", max_steps=8, ckpt_every=4),
                      {"data.manifest": str(signal_study[0]), "run_dir": str(tmp_path / "r")})
    main(cfg)
    newest = tmp_path / "r/ckpt-00000008.pt"
    newest.write_bytes(newest.read_bytes()[:1000])
    state = checkpoint.load_latest(tmp_path / "r", cfg.model)
    assert state["step"] == 4
    assert any("ckpt-00000008.pt: unreadable checkpoint" in r.message for r in caplog.records)


def test_a_warning_during_setup_is_taken_at_the_first_step(signal_study, tmp_path, monkeypatch, caplog):
    """SLURM's warning arriving while the run still builds its model (it may come a minute early): the run does not
    die of it, but checkpoints at its first step and exits for requeue."""
    from eeg2music.train import engine

    build = engine.registry.build

    def build_then_warned(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGUSR2)
        return build(*args, **kwargs)

    monkeypatch.setattr(engine.registry, "build", build_then_warned)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    cfg = load_config(write_config(tmp_path / "c.yaml"), {"data.manifest": str(signal_study[0]),
                                                          "run_dir": str(tmp_path / "r")})
    before = signal.getsignal(signal.SIGUSR2)
    with pytest.raises(SystemExit) as stopped:
        main(cfg)
    assert stopped.value.code == engine.PREEMPTED_EXIT
    assert [p.name for p in (tmp_path / "r").glob("ckpt-*.pt")] == ["ckpt-00000001.pt"]
    assert "stop signal (SIGUSR2): checkpointed at step 1" in (tmp_path / "r/train.log").read_text()
    assert signal.getsignal(signal.SIGUSR2) is before  # the handlers from before the run are back


def test_nan_guard_names_step_and_batch(signal_study, tmp_path, monkeypatch):
    from eeg2music.data.dataset import WindowDataset

    original = WindowDataset.__getitem__

    def poisoned(self, idx):
        item = original(self, idx)
        item["eeg"][0, 0] = float("nan")
        return item

    monkeypatch.setattr(WindowDataset, "__getitem__", poisoned)
    cfg = load_config(write_config(tmp_path / "c.yaml"), {"data.manifest": str(signal_study[0]),
                                                          "run_dir": str(tmp_path / "r")})
    with pytest.raises(NonFiniteError, match=r"step 0: input 'eeg' has NaN/inf values in batch "
                                             r"\[d/sub-0\d/run\d/trial\d@") as err:
        main(cfg)
    assert "rerun their preprocessing" in err.value.fix and "learning rate" not in err.value.fix  # the data's fault


def test_nan_in_the_conditioner_names_step_and_batch(signal_study, tmp_path, monkeypatch):
    """DiffWave conditioned on the true log-mel: a NaN mel frame stops training before the step, naming it."""
    from eeg2music.data.dataset import WindowDataset

    original = WindowDataset.__getitem__

    def poisoned(self, idx):
        item = original(self, idx)
        if idx % 2:
            item["mel"][3, 5] = float("nan")
        return item

    monkeypatch.setattr(WindowDataset, "__getitem__", poisoned)
    cfg = load_config(write_config(tmp_path / "c.yaml", model={"name": "diffwave", "conditioning": "mel",
                                                               "layers": 2, "channels": 8, "cycle": 2},
                                   **{"data.targets": ["audio", "mel"], "data.window_s": 0.5,
                                      "data.audio_rate": 4000}),
                      {"data.manifest": str(signal_study[0]), "run_dir": str(tmp_path / "r")})
    with pytest.raises(NonFiniteError, match=r"step 0: input 'mel' has NaN/inf values in batch \[d/sub-0\d/"):
        main(cfg)
