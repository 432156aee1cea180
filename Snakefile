# eeg2music: from raw EEG to decoded music. This file is the table of contents; the rules live in workflow/rules.
from snakemake.utils import min_version

min_version("9.0")


# The defaults, then the study's overrides (config/studies/<study>.yaml; the Quick start's is "synthetic"); values
# given on the command line (--configfile, --config) win over both.
configfile: "config/config.yaml"
configfile: f"config/studies/{config['study']}.yaml"


# The image every rule runs in under --sdm apptainer (cluster/wcss); built on the login node, see README.
container: "containers/eeg2music.sif"


include: "workflow/rules/common.smk"
include: "workflow/rules/synth.smk"
include: "workflow/rules/discover.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/splits.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/decode.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/budget.smk"
include: "workflow/rules/learning.smk"
include: "workflow/rules/study.smk"


# Bookkeeping that takes a second runs where Snakemake runs, not as a cluster job: a cluster job costs about 10 s of
# submission and job-side start-up (measured on the local SLURM), and Daly's per-participant scheme alone makes one
# split per participant and fold (120 in the bcmi study).
localrules:
    split,
    subject_split,
    subsample_split,


rule all:
    input:
        expand(res("discover/{dataset}/subjects.tsv"), dataset=sorted(DATASETS)),
        res("summary/summary.tsv"),
        split_manifests(),
        report_targets(),
        [res("budget/budget.tsv")] if BUDGET.get("configs") else [],
        learning_targets(),
        [res("report/study.html")] if EXPERIMENTS else [],
