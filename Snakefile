# eeg2music: from raw EEG to decoded music. This file is the table of contents; the rules live in workflow/rules.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


# The image every rule runs in under --sdm apptainer (cluster/wcss); built on the login node, see README.
container: "containers/eeg2music.sif"


include: "workflow/rules/common.smk"
include: "workflow/rules/synth.smk"
include: "workflow/rules/discover.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/splits.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/budget.smk"
include: "workflow/rules/learning.smk"
include: "workflow/rules/study.smk"


rule all:
    input:
        expand("results/discover/{dataset}/subjects.tsv", dataset=sorted(DATASETS)),
        "results/summary/summary.tsv",
        split_manifests(),
        report_targets(),
        ["results/budget/budget.tsv"] if BUDGET.get("configs") else [],
        learning_targets(),
        ["results/report/study.html"] if EXPERIMENTS else [],
