# Learning curves: is more data worth it? Each listed experiment is retrained (or refitted) on nested shares of every
# fold's training part, through the same train/predict/decode rules ("<protocol>~train<fraction>" is just another
# split), scored on the same test trials, and a power law is fitted and extrapolated.
# Input functions: workflow/rules/common.smk (learning_*).


rule subsample_split:
    input:
        res("splits/{protocol}/fold-{fold}.json"),
    output:
        res("splits/{protocol}~train{fraction}/fold-{fold}.json"),
    params:
        unit=LEARNING.get("unit", "trials"),
        seed=config["splits"]["seed"],
    wildcard_constraints:
        protocol=PROTOCOL_PATTERN,
        fraction=r"[0-9.]+",
        fold=r"\d+",
    log:
        logs("split/{protocol}~train{fraction}/fold-{fold}.log"),
    shell:
        "eeg2music subsample-split --manifest {input} --fraction {wildcards.fraction} --unit {params.unit} "
        "--seed {params.seed} --out {output} > {log} 2>&1"


rule evaluate_fraction:
    input:
        fraction_predictions,
    output:
        metrics=res("learning/{exp}/train{fraction}/metrics.json"),
        nulls=res("learning/{exp}/train{fraction}/nulls.npz"),
    params:
        n_perm=LEARNING.get("n_perm", 200),
        n_boot=EVAL.get("n_boot", 2000),
    wildcard_constraints:
        fraction=r"[0-9.]+",
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("learning/{exp}/train{fraction}.log"),
    shell:
        "eeg2music evaluate --predictions {input} --out {output.metrics} "
        "--experiment {wildcards.exp} --n-perm {params.n_perm} --n-boot {params.n_boot} > {log} 2>&1"


rule learning_curve:
    input:
        curve_inputs,
    output:
        png=res("learning/{exp}/curve.png"),
        tsv=res("learning/{exp}/curve.tsv"),
        json=res("learning/{exp}/curve.json"),
    params:
        points=curve_points,
        metrics=" ".join(LEARNING.get("metrics", ["r_time", "rank_accuracy"])),
        target=learning_target(),
        out_dir=subpath(output.png, parent=True),
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("learning/{exp}/curve.log"),
    benchmark:
        benchmarks("learning/{exp}.tsv")
    shell:
        "eeg2music learning-curve {params.points} --metrics {params.metrics} {params.target} "
        "--experiment {wildcards.exp} --out-dir {params.out_dir} > {log} 2>&1"
