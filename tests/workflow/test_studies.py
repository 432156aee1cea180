"""Studies: the real study is one command, plans every real subject at full size, and never mixes with the
synthetic one."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ..conftest import FIXTURES, REPO
from ..helpers import smk
from ..integration.test_real_metadata import standin_dataset

pytestmark = pytest.mark.skipif(not FIXTURES.exists(), reason="../shared/fixtures not present")
BCMI = ("ds002725", "ds002722")


def job_counts(out: str) -> dict[str, int]:
    table = out.split("Job stats:", 1)[1].split("Reasons:", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def eeg_subjects(ds: str) -> set[str]:
    return {p.parent.parent.name for p in (FIXTURES / ds).glob("sub-*/**/eeg/*_eeg.json")}


@pytest.fixture(scope="module")
def bcmi_work(tmp_path_factory) -> Path:
    """A working directory as on the cluster: the real datasets' layout (every real sidecar, stand-in EDFs) under
    data/raw, the repository's config and the WCSS profile with its placeholders filled. Apptainer cannot be
    installed here, so the profile's copy runs without it (with it, the discover jobs run below outside the image
    would be planned again for their changed software environment)."""
    work = tmp_path_factory.mktemp("bcmi")
    for ds in BCMI:
        standin_dataset(ds, work / "data/raw")
    shutil.copytree(REPO / "config", work / "config")
    shutil.copytree(REPO / "cluster", work / "cluster")
    profile = work / "cluster/wcss/config.yaml"
    text = re.sub(r'"<fill in[^>]*>"', '"test-value"', profile.read_text())
    profile.write_text(re.sub(r"^(software-deployment-method|apptainer-args):.*\n", "", text, flags=re.M))
    return work


def test_bcmi_study_plans_every_real_subject_at_full_size(bcmi_work):
    # the discover checkpoint runs for real (seconds), so the dry run can fan out over the subjects it found
    sheets = [f"results/bcmi/discover/{ds}/subjects.tsv" for ds in BCMI]
    proc = smk(*sheets, "--cores", "2", "--configfile", "config/studies/bcmi.yaml", cwd=bcmi_work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = smk("-n", "--profile", "cluster/wcss", "--configfile", "config/studies/bcmi.yaml", cwd=bcmi_work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    counts = job_counts(out)
    planned = set(re.findall(r"rule preprocess:.*?wildcards: dataset=(\S+), subject=(\S+)", out, re.S))
    assert planned == {(ds, s.removeprefix("sub-")) for ds in BCMI for s in eeg_subjects(ds)}
    assert counts["preprocess"] == len(eeg_subjects("ds002725")) + len(eeg_subjects("ds002722")) == 40
    assert "synth" not in counts and "synth-" not in out  # no synthetic dataset in the real study
    trains = re.findall(r"eeg2music\.train (\S+) --size (\w+) .*?--manifest (\S+) --set experiment=(\w+)", out)
    assert len(trains) == counts["train"] + counts["train_participant"]
    assert {size for _, size, _, _ in trains} == {"full"}
    # Daly's row as he ran it: one bi-LSTM per participant and fold (3 folds of cross-validation by run), each
    # decoding its test trials in the job that trained it (one SLURM job, not two)
    daly = sorted(m for _, _, m, exp in trains if exp == "bilstm_daly")
    assert daly == sorted(f"results/bcmi/splits/cv-by-run~{ds}~sub-{s.removeprefix('sub-')}/fold-{k}.json"
                          for ds in BCMI for s in eeg_subjects(ds) for k in range(3))
    participant_jobs = re.findall(r"rule train_participant:.*?\n\n", out, re.S)
    assert len(participant_jobs) == counts["train_participant"] == 2 * len(daly)  # bilstm_daly and its frontal control
    assert all("&& eeg2music predict" in job and "--signal=USR2@600" in job for job in participant_jobs)
    predict_jobs = re.findall(r"rule predict:.*?\n\n", out, re.S)
    assert predict_jobs and not any("~sub-" in job for job in predict_jobs)
    assert {exp for *_, exp in trains} >= {"bilstm_daly_pooled", "diffwave_eeg", "eegpt_mel"}
    outputs = re.findall(r"output: (\S+?),?\s", out)
    assert outputs and all(o.startswith(("results/bcmi/", "logs/bcmi/")) for o in outputs)
    assert "--signal=USR2@600" in out  # the warning signal reaches every training job


def test_the_synthetic_study_writes_elsewhere(bcmi_work):
    """The Quick start's plan in the same directory: its own results folder, its CPU sizes, no real dataset."""
    proc = smk("-n", "--cores", "2", cwd=bcmi_work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert job_counts(out)["synth"] == 2 and "results/bcmi" not in out and "data/raw" not in out
    assert re.search(r"output: results/synthetic/", out)


def test_rehearsal_plans_the_real_study_on_replicas(bcmi_work):
    """`--config rehearse=true`: the bcmi study as configured, its datasets written as replicas (every real subject
    and run), the models at the rehearsal size, all under results/bcmi-rehearsal/; the real data is not read."""
    proc = smk("-n", "-p", "--cores", "2", "--configfile", "config/studies/bcmi.yaml", "--config", "rehearse=true",
               cwd=bcmi_work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    synths = re.findall(r"eeg2music synth --out data/rehearsal --name (\S+) --styles (\S+) .*--replica", out)
    assert sorted(synths) == [(ds, ds) for ds in sorted(BCMI)]
    trains = re.findall(r"eeg2music\.train (\S+) --size (\w+)", out)
    assert trains and {size for _, size in trains} == {"rehearsal"}
    paths = set(re.findall(r"(results/[\w-]+)/", out))
    assert paths == {"results/bcmi-rehearsal"} and "data/raw" not in out
    # the study page sizes the real run's preprocessing jobs from the rehearsal's (the profile it will run with)
    assert re.search(r"eeg2music study-report .*--rehearsal --size-for cluster/wcss/config\.yaml", out)
    assert "--size-for" not in re.search(r"eeg2music synth .*", out).group(0)
