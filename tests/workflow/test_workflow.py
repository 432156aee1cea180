"""The Snakemake workflow: dry run, lint, schema validation, and --keep-going past a broken subject."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from eeg2music.train.config import read_values

from ..chromium import distinct_colours, render
from ..conftest import REPO
from ..helpers import quick_start_config, write_config

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def smk(*args: str, cwd: Path = REPO, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run Snakemake with this interpreter's environment first on PATH (rules call `python -m eeg2music…`)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([*SNAKEMAKE, "-s", str(REPO / "Snakefile"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_dry_run_of_default_workflow(tmp_path):
    """In a clean working directory (the repo's own may already hold results)."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "cluster", tmp_path / "cluster")
    proc = smk("-n", "--profile", "cluster/local", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert re.search(r"synth\s+2", out) and re.search(r"discover\s+2", out)


def test_lint_is_clean():
    proc = smk("--lint")
    assert "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_out_of_range_config_rejected_with_key_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("preprocess:\n  rates: [256, 5000]\n")
    proc = smk("-n", "--configfile", str(bad))
    assert proc.returncode != 0
    line = next(ln for ln in (proc.stdout + proc.stderr).splitlines() if "preprocess.rates" in ln)
    assert "5000 is greater than the maximum of 1000" in line and "bad.yaml" in line


def test_init_from_an_unknown_experiment_is_refused_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiments:\n  diffwave_eeg:\n    kind: train\n    config: config/train/diffwave_eeg.yaml\n"
                   "    split: cv-by-run\n    init: {vocoder_from: vocoder_typo}\n")
    proc = smk("-n", "--configfile", str(bad))
    assert proc.returncode != 0
    line = next(ln for ln in (proc.stdout + proc.stderr).splitlines() if "init.vocoder_from" in ln)
    assert "'vocoder_typo' is not another trained experiment on the same split" in line


def workflow_dir(tmp_path: Path, study: Path) -> Path:
    """A working directory whose config points at pre-generated synthetic datasets."""
    work = tmp_path / "work"
    cfg = quick_start_config(REPO)
    cfg["datasets"] = {f"t-{s}": {"kind": s, "root": str(study / s), "trial_s": 8.0} for s in ("ds002722", "ds002725")}
    cfg["experiments"] = {}  # the data layer only
    write_config(work, cfg)
    return work


def test_keep_going_finishes_other_subjects(study_copy, tmp_path):
    """Both runs of one subject broken: that subject fails with one line, the others finish (a subject with one
    broken run is written from its other runs, tests/integration/test_bad_input.py)."""
    for run in (1, 2):
        edf = study_copy / f"ds002722/sub-01/eeg/sub-01_task-run{run}_eeg.edf"
        edf.write_bytes(edf.read_bytes()[:4096])
    work = workflow_dir(tmp_path, study_copy)
    proc = smk("--cores", "2", "--keep-going", "results/synthetic/summary/summary.tsv", cwd=work)
    assert proc.returncode != 0
    done = sorted(p.relative_to(work / "results/synthetic/preprocess").as_posix()
                  for p in (work / "results/synthetic/preprocess").glob("*/*.zarr"))
    assert done == ["t-ds002722/sub-02.zarr", "t-ds002725/sub-01.zarr", "t-ds002725/sub-02.zarr"]
    log = (work / "logs/synthetic/preprocess/t-ds002722/sub-01.log").read_text().strip().splitlines()
    errors = [ln for ln in log if ln.startswith("error:")]
    assert len(errors) == 1 and "sub-01_task-run1_eeg.edf" in errors[0] and "truncated" in errors[0]
    assert not (work / "results/synthetic/summary/summary.tsv").exists()


def planned_preprocessing(work: Path) -> set[tuple[str, str]]:
    proc = smk("-n", "--cores", "2", "results/synthetic/summary/summary.tsv", cwd=work)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    jobs = re.findall(r"rule preprocess:.*?wildcards: dataset=(\S+), subject=(\S+)", out, re.S)
    return set(jobs) if "Nothing to be done" not in out else set()


def test_replaced_raw_files_rerun_exactly_their_subjects(study_copy, tmp_path):
    """A re-fetched EDF reruns its subject only; a replaced wav reruns the subjects whose trials play it; a root
    that has gone is an error naming it, not a quiet "nothing to be done"."""
    import zarr

    work = workflow_dir(tmp_path, study_copy)
    proc = smk("--cores", "2", "results/synthetic/summary/summary.tsv", cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert planned_preprocessing(work) == set()
    os.utime(study_copy / "ds002725/sub-02/eeg/sub-02_task-genMusic01_eeg.edf")
    assert planned_preprocessing(work) == {("t-ds002725", "02")}
    proc = smk("--cores", "2", "results/synthetic/summary/summary.tsv", cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    store = zarr.open_group(str(work / "results/synthetic/preprocess/t-ds002722/sub-01.zarr"), mode="r")
    wav = store.attrs["trials"][0]["audio_file"]
    players = {("t-ds002722", s.stem.removeprefix("sub-"))
               for s in (work / "results/synthetic/preprocess/t-ds002722").glob("*.zarr")
               if wav in {t["audio_file"] for t in zarr.open_group(str(s), mode="r").attrs["trials"]}}
    os.utime(study_copy / "ds002722" / wav)
    assert planned_preprocessing(work) == players
    shutil.move(study_copy / "ds002722", tmp_path / "moved")
    proc = smk("-n", "--cores", "2", "results/synthetic/summary/summary.tsv", cwd=work)
    assert proc.returncode != 0
    line = next(ln for ln in (proc.stdout + proc.stderr).splitlines() if "datasets.t-ds002722.root" in ln)
    assert "does not exist" in line and "eeg2music fetch ds002722" in line


def test_readme_quick_start_and_ci_agree():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```(?:bash)?\n(.*?)```", section, re.S).group(1)
    commands = [ln for ln in block.splitlines() if ln.strip()]
    assert len(commands) == 2
    assert commands[0].endswith("snakemake --profile cluster/local") and ".venv" in commands[0]
    ci = (REPO / ".ci/run").read_text().splitlines()
    assert commands[1] in ci


def test_readme_is_short_and_every_link_resolves():
    """The README is the front page (≤ 150 lines); the rest lives in docs/, and no relative link is dead."""
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    linked = set()
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            path = (page.parent / target).resolve()
            assert path.exists(), f"{page.name} links to {target}, which does not exist"
            linked.add(path)
    assert {p.resolve() for p in pages[1:]} <= linked  # every docs page is reachable


def test_synthetic_templates_are_the_real_sidecars():
    """The packaged templates must stay byte-identical to the real OpenNeuro sidecars they were copied from."""
    from ..conftest import FIXTURE_RUNS, FIXTURES

    if not FIXTURES.exists():
        pytest.skip("../shared/fixtures not present (CI and developer machines have it)")
    for style, prefix in FIXTURE_RUNS.items():
        for name in ("channels.tsv", "eeg.json", "events.json"):
            packaged = REPO / "src/eeg2music/synth/templates" / style / name
            assert packaged.read_bytes() == (FIXTURES / style / (prefix + name)).read_bytes()
    for ds in ("ds002721", "ds002722", "ds002723", "ds002724", "ds002725"):
        assert (REPO / f"src/eeg2music/io/manifests/{ds}.tsv").read_bytes() == \
            (FIXTURES / ds / "ANNEXED_FILES.tsv").read_bytes()


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


def test_wcss_profile_dry_run(tmp_path):
    """`snakemake --profile cluster/wcss -n`: refused while a placeholder is unfilled (naming the key, before
    anything is submitted), clean once test values are filled in."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "cluster", tmp_path / "cluster")
    # Apptainer cannot be installed here; in a dry run Snakemake only asks the binary for its version.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "apptainer").write_text("#!/bin/sh\necho 'apptainer version 1.3.6'\n")
    (fake / "apptainer").chmod(0o755)
    os.environ["PATH"] = f"{fake}{os.pathsep}{os.environ['PATH']}"
    try:
        refused = smk("-n", "--profile", "cluster/wcss", cwd=tmp_path)
        assert refused.returncode != 0
        line = next(ln for ln in (refused.stdout + refused.stderr).splitlines() if "placeholder" in ln)
        assert "cluster/wcss/config.yaml" in line and "default-resources.slurm_account" in line
        profile = tmp_path / "cluster/wcss/config.yaml"
        profile.write_text(re.sub(r'"<fill in[^>]*>"', '"test-value"', profile.read_text()))
        proc = smk("-n", "--profile", "cluster/wcss", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "This was a dry-run" in proc.stdout + proc.stderr
    finally:
        os.environ["PATH"] = os.environ["PATH"].split(os.pathsep, 1)[1]


def test_a_subject_sheet_leaves_out_one_subject_and_no_other_dataset(study, tmp_path):
    """The hint for a subject with nothing usable: copy its dataset's discovered sheet to config/subjects.tsv and
    set include to no. Only that subject is left out; a dataset the sheet does not list keeps its discovered ones."""
    work = workflow_dir(tmp_path, study)
    proc = smk("--cores", "2", "results/synthetic/discover/t-ds002722/subjects.tsv",
               "results/synthetic/discover/t-ds002725/subjects.tsv", cwd=work)
    assert proc.returncode == 0, proc.stderr[-2000:]
    sheet = (work / "results/synthetic/discover/t-ds002722/subjects.tsv").read_text().splitlines()
    sheet = [sheet[0], *[ln.replace("\tTrue", "\tno") if "\t01\t" in ln else ln for ln in sheet[1:]]]
    (work / "config/subjects.tsv").write_text("\n".join(sheet) + "\n")
    assert planned_preprocessing(work) == {("t-ds002722", "02"), ("t-ds002725", "01"), ("t-ds002725", "02")}
