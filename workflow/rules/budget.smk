# Are the data and compute enough? Each experiment's training step measured here at its cluster size, projected
# onto the real datasets' hours and the named GPUs, against the cloud budget and the grant.
BUDGET = config.get("budget", {})


rule budget:
    input:
        BUDGET.get("configs", []),
    output:
        tsv="results/budget/budget.tsv",
        md="results/budget/budget.md",
        png="results/budget/budget.png",
        json="results/budget/budget.json",
    params:
        out_dir=subpath(output.tsv, parent=True),
        datasets=" ".join(BUDGET.get("datasets", [])),
        gpus=" ".join(BUDGET.get("gpus", [])),
        prices=" ".join(f"{k}={v}" for k, v in BUDGET.get("prices", {}).items()),
        utilisation=BUDGET.get("utilisation", 0.3),
        epochs=BUDGET.get("epochs", 20),
        budget_usd=BUDGET.get("budget_usd", 100),
        grant=BUDGET.get("grant_gpu_hours", 1000),
    threads: 2
    conda:
        "../../envs/eeg2music.yaml"
    log:
        "logs/budget/budget.log",
    benchmark:
        "benchmarks/budget/budget.tsv"
    shell:
        "eeg2music budget {input} --datasets {params.datasets} --gpus {params.gpus} "
        "--price {params.prices} --utilisation {params.utilisation} --epochs {params.epochs} "
        "--budget-usd {params.budget_usd} --grant-gpu-hours {params.grant} --out-dir {params.out_dir} > {log} 2>&1"
