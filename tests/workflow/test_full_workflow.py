"""The whole workflow of the Quick start's first command, shrunk, from synth to the study report (its own file, so
that the test runner's two workers share the other workflow tests while this one runs)."""

from __future__ import annotations

import csv
import json
import re
import shutil

import numpy as np
import pytest
import soundfile as sf
import yaml

from eeg2music.train.config import read_values

from ..chromium import distinct_colours, render
from ..conftest import REPO
from ..helpers import quick_start_config, smk, write_config


def test_full_workflow_on_tiny_synthetic_config(tmp_path):
    """The first Quick start command's workflow, shrunk: synth → discover → preprocess → summary → splits →
    train/decode → evaluate → report."""
    work = tmp_path / "full"
    cfg = quick_start_config(REPO)
    cfg["synth"].update(n_subjects=2, n_runs=3, n_trials=2, trial_s=6.0)  # 2 trials: learning-curve shares differ
    cfg["budget"]["configs"] = cfg["budget"]["configs"][:2]  # the Quick start measures all of them
    for d in cfg["datasets"].values():
        d["trial_s"] = 6.0
    cfg["evaluate"]["n_perm"] = 200
    cfg["learning_curve"]["fractions"] = [0.25, 0.5]  # 1, 2 and 3 training trials per subject and fold
    cfg["experiments"]["diffwave_eeg"]["samples"] = 2  # K > 1 samples per trial: the report's spread
    cfg["experiments"]["bilstm_daly"]["per_participant"] = True  # Daly's way: one model per subject and fold
    defaults = yaml.safe_load((REPO / "config/config.yaml").read_text())["experiments"]
    for floor in ("diffwave_eeg_floor_other", "eegpt_diffwave_floor_other"):  # the add-on's; the workflow's here
        cfg["experiments"][floor] = defaults[floor]
    cfg["experiments"]["eegpt_diffwave_joint"] = {  # stage 4, off by default: A inside B, started from A's run
        "kind": "train", "config": "config/train/eegpt_diffwave_joint.yaml", "split": "cv-by-run",
        "init": {"init_from": "eegpt_mel"}}
    write_config(work, cfg)
    shutil.copytree(REPO / "cluster", work / "cluster")
    shutil.copytree(REPO / "config/train", work / "config/train")  # full sizes (the budget's) and CPU overlays
    for path in (work / "config/train/cpu").glob("*.yaml"):  # shorter still: sizes and steps only
        exp = yaml.safe_load(path.read_text())
        exp.update(batch_size=4, max_steps=40, ckpt_every=20, val_every=20)
        path.write_text(yaml.safe_dump(exp))
    proc = smk("--profile", "cluster/local", cwd=work, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tsv = (work / "results/synthetic/summary/summary.tsv").read_text().splitlines()
    assert len(tsv) == 1 + 4 and tsv[1].startswith("synth-ds002722\t01\t3\t6\t6\t32\t1000")
    for name in ("summary.md", "summary.html", "psd.png", "trial.png"):
        assert (work / "results/synthetic/summary" / name).stat().st_size > 500
    splits = work / "results/synthetic/splits"
    manifests = sorted(p.relative_to(splits).as_posix() for p in splits.rglob("*.json") if "~" not in p.parent.name)
    shares = sorted(p.relative_to(splits).as_posix() for p in splits.rglob("*.json") if "~train" in p.parent.name)
    assert shares == [f"cv-by-run~train{f}/fold-{k}.json" for f in ("0.25", "0.5") for k in range(3)]
    per_subject = sorted(p.parent.name for p in splits.rglob("fold-0.json") if "~sub-" in p.parent.name)
    assert per_subject == [f"cv-by-run~synth-{ds}~sub-{s:02d}" for ds in ("ds002722", "ds002725") for s in (1, 2)]
    assert manifests == ["cv-by-run/fold-0.json", "cv-by-run/fold-1.json", "cv-by-run/fold-2.json",
                         "leave-clip-out/fold-0.json", *[f"leave-subject-out/fold-{k}.json" for k in range(4)],
                         "random-trial/fold-0.json"]
    report = (work / "results/synthetic/report/comparison.html").read_text()
    assert "bilstm_daly" in report and "linear_trf" in report and "Wilcoxon" in report
    for exp in cfg["experiments"]:
        page = (work / f"results/synthetic/report/{exp}/index.html").read_text()
        assert "rank_accuracy" in page and (work / f"results/synthetic/report/{exp}/nulls.png").exists()
    # generative models: K samples per trial with their spread, generated audio to listen to
    dw = json.loads((work / "results/synthetic/evaluate/diffwave_eeg/metrics.json").read_text())
    assert dw["n_samples"] == 2 and len(dw["metrics"]["identification"]["per_sample"]) == 2
    assert {"mel_r", "mel_ssim", "r_time", "rank_accuracy"} <= set(dw["metrics"])
    page = (work / "results/synthetic/report/diffwave_eeg/index.html").read_text()
    assert " ± " in page and "<audio controls" in page
    wavs = sorted((work / "results/synthetic/audio/diffwave_eeg/cv-by-run/fold-0").glob("*.wav"))
    assert len(wavs) == 4 and {sf.info(str(w)).samplerate for w in wavs} == {2000}
    generated = sf.read(str(wavs[0]))[0] if "sample" in wavs[0].name else sf.read(str(wavs[1]))[0]
    assert np.isfinite(generated).all() and generated.std() > 0
    assert "diffwave_vocoder" in report
    # the generative models' floors: their own weights and sampler, EEG replaced; their own table, and each model's
    # row says whether it beats each of its floors (paired across subjects)
    floors = {e: c for e, c in cfg["experiments"].items() if c["kind"] == "prior_only"}
    assert {c["of"] for c in floors.values()} == {"diffwave_eeg", "eegpt_diffwave"}
    assert {c["eeg"] for c in floors.values()} == {"other-trial"}  # the zero-EEG floors: the add-on's
    for name, c in floors.items():
        floor = json.loads((work / f"results/synthetic/evaluate/{name}/metrics.json").read_text())
        model = json.loads((work / f"results/synthetic/evaluate/{c['of']}/metrics.json").read_text())
        assert floor["n_trials"] == model["n_trials"]
        log = (work / f"logs/synthetic/{'predict' if c['of'] == 'diffwave_eeg' else 'decode_chain'}/{name}"
               "/cv-by-run/fold-0.log")
        assert log.exists()
        row = re.search(rf"<tr><td>{c['of']}</td>.*?</tr>", report, re.S).group(0)
        assert re.search(rf"{name}: Δ [-+]\d\.\d{{3}}, p \d\.\d{{3}} \(n=4\): (beats it|<span class='ns'>does not beat "
                         "it</span>)", row)
    # the artefact controls (frontal/periocular channels only): every decoder's row is tested against each
    artefact = [e for e, c in cfg["experiments"].items() if c.get("control") == "artefact"]
    assert artefact == ["linear_trf_frontal"]
    with np.load(work / "results/synthetic/predictions/linear_trf_frontal/cv-by-run/fold-0.npz") as a, \
            np.load(work / "results/synthetic/predictions/linear_trf/cv-by-run/fold-0.npz") as b:
        assert str(a["header"]) != "" and a["pred_0"].shape == b["pred_0"].shape  # same trials, other channels
        assert not np.allclose(a["pred_0"], b["pred_0"])
    # ceilings (a vocoder fed the true mel reads no EEG) sit with the controls and are tested against nothing
    ceilings = [e for e, c in cfg["experiments"].items() if c["kind"] == "train"
                and read_values(work / c["config"])["model"].get("conditioning") == "mel"]
    assert "diffwave_vocoder" in ceilings
    decoders = [e for e in cfg["experiments"] if e not in floors and e not in artefact and e not in ceilings]
    for exp in decoders:
        row = re.search(rf"<tr><td>{exp}</td>.*?</tr>", report, re.S).group(0)
        assert all(f"{c}: Δ" in row for c in artefact)
    control_table = report[report.index("Controls, floors and ceilings (not decoders)"):]
    assert all(name in control_table for name in [*floors, *artefact, *ceilings])
    assert all(f"<tr><td>{name}</td>" not in report[:report.index(control_table)] for name in ceilings)
    # runs that start from another experiment's run of the same fold (init:): mode 2 from the mel vocoder, stage 4
    # from model A, each after it in the DAG
    for exp, param, source in (("diffwave_eeg", "vocoder_from", "diffwave_vocoder"),
                               ("eegpt_diffwave_joint", "init_from", "eegpt_mel")):
        for k in range(3):
            run = work / f"results/synthetic/train/{exp}/cv-by-run/fold-{k}"
            started = yaml.safe_load((run / "config.yaml").read_text())["model"][param]
            assert started == f"results/synthetic/train/{source}/cv-by-run/fold-{k}"
            assert (run / "final.pt").stat().st_mtime > (work / started / "final.pt").stat().st_mtime
        metrics = json.loads((work / f"results/synthetic/evaluate/{exp}/metrics.json").read_text())
        assert "rank_accuracy" in metrics["metrics"]
    # the model started from a run takes that run's network instead of repeating it (CPU sizes here)
    runs = work / "results/synthetic/train"
    vocoder = yaml.safe_load((runs / "diffwave_vocoder/cv-by-run/fold-0/config.yaml").read_text())
    eeg = yaml.safe_load((runs / "diffwave_eeg/cv-by-run/fold-0/config.yaml").read_text())
    assert {k: eeg["model"][k] for k in ("layers", "channels", "cycle", "cond_dim")} == {
        k: vocoder["model"][k] for k in ("layers", "channels", "cycle", "cond_dim")} and eeg["size"] == "cpu"
    # one bi-LSTM per participant and fold, pooled for evaluation; every run's loss curves on the report page
    daly_runs = sorted((work / "results/synthetic/train/bilstm_daly").glob("cv-by-run~*/fold-*/final.pt"))
    assert len(daly_runs) == 4 * 3
    daly = json.loads((work / "results/synthetic/evaluate/bilstm_daly/metrics.json").read_text())
    linear = json.loads((work / "results/synthetic/evaluate/linear_trf/metrics.json").read_text())
    assert daly["n_subjects"] == 4 and daly["n_trials"] == linear["n_trials"]
    page = (work / "results/synthetic/report/bilstm_daly/index.html").read_text()
    assert "Training and validation loss" in page and "The first 6 of 12 runs" in page
    assert (work / "results/synthetic/report/bilstm_daly/curves.png").stat().st_size > 5000
    full = json.loads((work / "results/synthetic/evaluate/linear_trf/metrics.json").read_text())
    # every result names the code that made it: metrics, predictions and pages carry the git SHA and versions
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", full["provenance"]["git_sha"]) and "torch" in full[
        "provenance"]["packages"]
    with np.load(work / "results/synthetic/predictions/linear_trf/cv-by-run/fold-0.npz") as f:
        assert json.loads(str(f["header"]))["provenance"]["git_sha"] == full["provenance"]["git_sha"]
    assert "Made by eeg2music at git " + full["provenance"]["git_sha"] in report
    # model A (EEGPT → log-mel) and A → B (its log-mel rendered by the vocoder), on the same splits and metrics
    a = json.loads((work / "results/synthetic/evaluate/eegpt_mel/metrics.json").read_text())
    chain = json.loads((work / "results/synthetic/evaluate/eegpt_diffwave/metrics.json").read_text())
    assert {"mel_r", "mel_ssim", "rank_accuracy"} <= set(a["metrics"]) <= set(chain["metrics"])
    assert a["n_trials"] == chain["n_trials"] == full["n_trials"]
    assert "eegpt_mel" in report and "eegpt_diffwave" in report
    # the budget: every cluster-size experiment on this machine and the four named GPUs
    rows = (work / "results/synthetic/budget/budget.tsv").read_text().splitlines()
    assert len(rows) == 1 + len(cfg["budget"]["configs"]) * 5
    assert (work / "results/synthetic/budget/budget.png").stat().st_size > 5000
    # the learning curve: nested training shares scored on the same test trials, fitted and extrapolated
    curve = json.loads((work / "results/synthetic/learning/linear_trf/curve.json").read_text())
    assert curve["fractions"] == [0.25, 0.5, 1.0] and curve["hours"] == sorted(curve["hours"])
    assert len(set(curve["hours"])) == 3 and curve["target_hours"] > 10 * curve["hours"][-1]
    assert curve["metrics"]["r_time"]["observed"][-1] == pytest.approx(full["metrics"]["r_time"]["observed"])
    # the study report, rendered by a real browser: every section's table filled and every figure decoded
    shown = render(work / "results/synthetic/report/study.html", tmp_path / "study.png")
    assert [h for h in shown["headings"] if h[:2] in ("1.", "2.", "3.", "4.", "5.")] == [
        "1. Data", "2. Models on the same splits", "3. Compute budget", "4. Learning curves", "5. What this run cost"]
    assert "A rehearsal, not a result" not in shown["headings"]
    tables = {t["id"]: t for t in shown["tables"]}
    benchmarked = {p.relative_to(work / "results/synthetic/benchmarks").parts[0]
                   for p in (work / "results/synthetic/benchmarks").rglob("*.tsv")}
    assert tables["cost"]["rows"] == 1 + len(benchmarked) and {"preprocess", "train", "synth"} <= benchmarked
    controls = [e for e, c in cfg["experiments"].items() if c["kind"] == "prior_only" or c.get("control")
                or e in ceilings]
    assert tables["summary"]["rows"] == 1 + 4
    assert tables["comparison"]["rows"] == 1 + len(cfg["experiments"]) - len(controls)
    assert tables["floors"]["rows"] == 1 + len(controls)
    with open(work / "results/synthetic/summary/summary.tsv") as f:  # the QC table: one row per run of every subject
        assert tables["qc"]["rows"] == 1 + sum(int(r["runs"]) for r in csv.DictReader(f, delimiter="\t"))
    assert tables["budget"]["rows"] == len(rows) and tables["curve-linear_trf"]["rows"] == 1 + 2
    assert all(t["visible"] for t in shown["tables"])
    images = {i["alt"]: i for i in shown["images"]}
    assert {"psd.png", "trial.png", "budget", "learning curve linear_trf"} <= set(images)
    assert all(i["complete"] and i["width"] > 300 and i["height"] > 200 for i in shown["images"])
    assert distinct_colours(tmp_path / "study.png") > 50
