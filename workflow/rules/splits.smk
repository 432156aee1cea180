# Split manifests over every preprocessed subject: one per protocol and fold, each with its leakage audit.
SPLITS = config["splits"]


rule split:
    input:
        all_stores,
    output:
        res("splits/{protocol}/fold-{fold}.json"),
    params:
        n_folds=split_folds,
        seed=split_seed,
        long=long_trial_flags,
        val=SPLITS["val"],
        test=SPLITS["test"],
    wildcard_constraints:
        protocol=PROTOCOL_PATTERN,
        fold=r"\d+",
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("split/{protocol}/fold-{fold}.log"),
    benchmark:
        benchmarks("split/{protocol}/fold-{fold}.tsv")
    shell:
        "eeg2music make-split --stores {input} --protocol {wildcards.protocol} --fold {wildcards.fold} "
        "--n-folds {params.n_folds} --seed {params.seed} --val {params.val} --test {params.test} {params.long} "
        "--out {output} > {log} 2>&1"


rule subject_split:
    input:
        res("splits/{protocol}/fold-{fold}.json"),
    output:
        res("splits/{protocol}~{dataset}~sub-{subject}/fold-{fold}.json"),
    wildcard_constraints:
        protocol=PROTOCOL_PATTERN,
        dataset=r"[^~/]+",
        subject=r"[^~/]+",
        fold=r"\d+",
    log:
        logs("split/{protocol}~{dataset}~sub-{subject}/fold-{fold}.log"),
    shell:
        "eeg2music subject-split --manifest {input} --dataset {wildcards.dataset} --subject {wildcards.subject} "
        "--out {output} > {log} 2>&1"
