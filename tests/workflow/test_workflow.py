"""The Snakemake workflow: dry run, lint, schema validation, and --keep-going past a broken subject."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from ..conftest import REPO
from ..helpers import quick_start_config, smk, write_config


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
    # the BCMI-shaped study, then the NMED-T-shaped one
    assert ".venv" in commands[0] and "snakemake --profile cluster/local && " in commands[0]
    assert commands[0].endswith("snakemake --profile cluster/local --configfile config/studies/synthetic-nmed-t.yaml")
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
